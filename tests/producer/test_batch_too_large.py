"""A batch the broker refuses for its size fails; it is never sent again as it is.

Kafka's ``Sender`` splits a batch only on MESSAGE_TOO_LARGE; RECORD_LIST_TOO_LARGE (a
batch over the partition's ``segment.bytes``) is not retriable, so the batch fails with it.
"""

from __future__ import annotations

import pytest

from reflog.wire.errors import ErrorCode

from .scripted import ScriptedBroker, producer_config

BACKOFF = producer_config().retry_backoff_ms


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_batch_over_segment_bytes_fails_every_record_with_record_list_too_large(
    idempotent: bool,
) -> None:
    broker = ScriptedBroker(producer_config(enable_idempotence=idempotent))
    if idempotent:
        broker.introduce()
    ids = broker.send(b"a", b"b", b"c")
    [batch] = broker.take_produced()
    assert batch.values == [b"a", b"b", b"c"]  # one batch of three records
    broker.answer(batch.send, ErrorCode.RECORD_LIST_TOO_LARGE)
    results = broker.producer.take_results()
    assert [(r.send_id, r.offset, r.error) for r in results] == [
        (i, -1, ErrorCode.RECORD_LIST_TOO_LARGE) for i in ids
    ]
    # Neither retried as it is nor split: nothing more goes, however long we wait.
    broker.run(10 * BACKOFF)
    assert broker.take_produced() == []
    assert broker.producer.pending_count == 0
