"""Which fetched batches a consumer hands to the application (Kafka's ``Fetcher``'s
``CompletedFetch.nextFetchedRecord``).

Control batches (transaction markers) are never records for the application. A
``read_committed`` consumer also drops the batches of aborted transactions: the broker
lists them in the Fetch answer as (producer id, first offset); from that offset on, that
producer's transactional batches are skipped until its ABORT marker ends the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reflog.records.batch import RecordBatch
from reflog.storage.txn_index import ABORT, marker_type
from reflog.wire.messages.fetch import AbortedTransaction

__all__ = ["visible_batches"]


def visible_batches(
    batches: Iterable[RecordBatch], aborted: list[AbortedTransaction] | None
) -> Iterator[RecordBatch]:
    """The data batches to return; ``aborted`` is None for ``read_uncommitted``."""
    pending = sorted(aborted or [], key=lambda a: a.first_offset)
    aborting: set[int] = set()  # producers whose current transaction was aborted
    for batch in batches:
        while pending and pending[0].first_offset <= batch.last_offset:
            aborting.add(pending.pop(0).producer_id)
        if batch.is_control:
            if marker_type(batch) == ABORT:
                aborting.discard(batch.producer_id)
            continue
        if aborted is not None and batch.is_transactional and batch.producer_id in aborting:
            continue
        yield batch
