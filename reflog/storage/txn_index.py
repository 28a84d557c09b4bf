"""A partition's transactions: which are open, which were aborted, and the last stable
offset (Kafka keeps these in ``ProducerStateManager`` and ``TransactionIndex``).

Every batch a transactional producer writes opens (or continues) that producer's
transaction here, remembered by its first offset; the COMMIT or ABORT marker the
coordinator writes closes it. The **last stable offset** (LSO) is the first offset of
the oldest transaction still open: a ``read_committed`` consumer reads only below it
(and below the high watermark), since a record above it may still be aborted.

An aborted transaction is remembered as Kafka's ``AbortedTxn`` entry (producer id, first
offset, last offset = the marker's, and the LSO when it was aborted), appended to the
``.txnindex`` file of the segment the marker landed in, so a ``read_committed`` fetch can
list the aborted transactions its records overlap and the consumer can drop them.

reflog simplification: this state is rebuilt by reading the whole log again (at open and
after a truncation) when the partition has ever seen a transactional batch, rather than
from the producer snapshot plus the log after it; the ``.txnindex`` files are rewritten
then.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from reflog.records.batch import RecordBatch
from reflog.records.errors import CorruptRecordError
from reflog.wire.codec import Reader
from reflog.wire.errors import WireDecodeError

__all__ = ["ABORT", "COMMIT", "AbortedTxn", "TransactionIndex", "marker_type", "txnindex_path"]

# Kafka's AbortedTxn entry: version i16, producerId i64, firstOffset i64, lastOffset i64,
# lastStableOffset i64.
_ENTRY = struct.Struct(">hqqqq")
# A control record's type (Kafka's ControlRecordType), the second INT16 of its key.
ABORT = 0
COMMIT = 1


@dataclass(frozen=True)
class AbortedTxn:
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


def txnindex_path(directory: Path, segment_base_offset: int) -> Path:
    return directory / f"{segment_base_offset:020d}.txnindex"


class TransactionIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ongoing: dict[int, int] = {}  # producer id -> first offset of its open transaction
        self.aborted: list[AbortedTxn] = []

    @property
    def ever_used(self) -> bool:
        """Whether this partition ever had a transactional batch (a ``.txnindex`` exists)."""
        return any(self.directory.glob("*.txnindex"))

    def clear_files(self) -> None:
        for path in self.directory.glob("*.txnindex"):
            path.unlink()
        self.ongoing.clear()
        self.aborted.clear()

    def on_append(self, batch: RecordBatch, base_offset: int, segment_base_offset: int) -> None:
        """Track one appended batch (leader or follower, or replayed at recovery)."""
        if not batch.is_transactional or batch.producer_id < 0:
            return
        path = txnindex_path(self.directory, segment_base_offset)
        if not path.exists():
            path.touch()  # marks the partition as transactional (see ever_used)
        producer_id = batch.producer_id
        if not batch.is_control:
            self.ongoing.setdefault(producer_id, base_offset)
            return
        first = self.ongoing.pop(producer_id, None)
        if first is None or marker_type(batch) != ABORT:
            return  # a commit, or a marker for a transaction with no records here
        entry = AbortedTxn(
            producer_id, first, base_offset, self.first_unstable_offset(base_offset + 1)
        )
        self.aborted.append(entry)
        with path.open("ab") as f:
            f.write(_ENTRY.pack(0, *(entry.producer_id, entry.first_offset, entry.last_offset,
                                     entry.last_stable_offset)))  # fmt: skip

    def first_unstable_offset(self, otherwise: int) -> int:
        """The first offset of the oldest open transaction; ``otherwise`` if none is open."""
        return min(self.ongoing.values(), default=otherwise)

    def aborted_between(self, start: int, end: int) -> list[AbortedTxn]:
        """The aborted transactions with records in ``[start, end)``, oldest first."""
        return [a for a in self.aborted if a.last_offset >= start and a.first_offset < end]


def marker_type(batch: RecordBatch) -> int:
    """ABORT or COMMIT, from a control batch's one record (-1 if unreadable)."""
    return _marker_field(batch, in_key=True)


def marker_coordinator_epoch(batch: RecordBatch) -> int:
    """The epoch of the coordinator that wrote a control batch's marker (-1 if unreadable)."""
    return _marker_field(batch, in_key=False)


def _marker_field(batch: RecordBatch, *, in_key: bool) -> int:
    """After the version (INT16): the key's type (INT16) or the value's coordinator epoch
    (INT32) of a control batch's one record; -1 if unreadable."""
    try:
        record = next(iter(batch.records()))
        data = record.key if in_key else record.value
        if data is None:
            return -1
        r = Reader(data)
        r.int16()
        return r.int16() if in_key else r.int32()
    except (CorruptRecordError, WireDecodeError, StopIteration):
        return -1
