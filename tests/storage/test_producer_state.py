"""The producer state of a partition: Kafka's duplicate, gap and epoch checks, and snapshots."""

from __future__ import annotations

import pytest

from reflog.storage.producer_snapshot import (
    CorruptSnapshotError,
    decode_snapshot,
    encode_snapshot,
)
from reflog.storage.producer_state import (
    MAX_CACHED_BATCHES,
    BatchMetadata,
    InvalidProducerEpochError,
    OutOfOrderSequenceError,
    ProducerStateManager,
    last_sequence,
)
from reflog.wire.errors import ErrorCode

PID = 4000


def append(
    state: ProducerStateManager, epoch: int, first_seq: int, count: int, offset: int
) -> BatchMetadata:
    """Check a batch as the leader does and, if it is new, append it at ``offset``."""
    last_seq = first_seq + count - 1
    duplicate = state.check_leader_append(PID, epoch, first_seq, last_seq)
    if duplicate is not None:
        return duplicate
    batch = BatchMetadata(first_seq, last_seq, offset, offset + count - 1, timestamp=offset)
    state.update(PID, epoch, batch)
    return batch


def five_batches() -> tuple[ProducerStateManager, list[BatchMetadata]]:
    state = ProducerStateManager()
    batches = [append(state, 0, seq, 2, 100 + seq) for seq in range(0, 12, 2)]  # 6 batches
    return state, batches


def test_a_retry_of_any_of_the_last_five_batches_gets_its_original_offsets() -> None:
    state, batches = five_batches()
    for original in batches[-MAX_CACHED_BATCHES:]:
        retry = state.check_leader_append(PID, 0, original.first_seq, original.last_seq)
        assert retry == original
    assert len(state.producers[PID].batches) == MAX_CACHED_BATCHES


def test_a_retry_older_than_the_five_remembered_is_out_of_order() -> None:
    state, batches = five_batches()
    oldest = batches[0]
    with pytest.raises(OutOfOrderSequenceError) as refused:
        state.check_leader_append(PID, 0, oldest.first_seq, oldest.last_seq)
    assert refused.value.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_a_gap_in_sequence_numbers_is_out_of_order_and_the_next_one_is_taken() -> None:
    state, _ = five_batches()  # the last batch ended at sequence 11
    with pytest.raises(OutOfOrderSequenceError):
        state.check_leader_append(PID, 0, 13, 13)
    assert state.check_leader_append(PID, 0, 12, 20) is None


def test_an_older_epoch_is_fenced_and_a_newer_one_must_start_at_sequence_zero() -> None:
    state = ProducerStateManager()
    append(state, 3, 0, 1, 0)
    with pytest.raises(InvalidProducerEpochError) as fenced:
        state.check_leader_append(PID, 2, 1, 1)
    assert fenced.value.error_code == ErrorCode.INVALID_PRODUCER_EPOCH
    with pytest.raises(OutOfOrderSequenceError):
        state.check_leader_append(PID, 4, 1, 1)
    append(state, 4, 0, 1, 1)  # a bumped epoch restarts the sequence
    entry = state.producers[PID]
    assert (entry.producer_epoch, [b.first_seq for b in entry.batches]) == (4, [0])


def test_a_producer_the_partition_does_not_know_is_taken_at_any_sequence() -> None:
    # Kafka 2.5+ (KIP-360): its batches may all be gone to retention or expiration.
    state = ProducerStateManager()
    assert state.check_leader_append(PID, 0, 57, 60) is None


def test_sequence_numbers_wrap_after_the_largest_int32() -> None:
    top = 2**31 - 1
    assert last_sequence(top - 1, 3) == 1
    assert last_sequence(5, 3) == 8
    state = ProducerStateManager()
    state.update(PID, 0, BatchMetadata(top - 1, top, 0, 1, 0))
    assert state.check_leader_append(PID, 0, 0, 4) is None  # 0 follows 2**31 - 1


def test_idle_producers_expire_after_producer_id_expiration_ms() -> None:
    state = ProducerStateManager()
    state.update(1, 0, BatchMetadata(0, 0, 0, 0, timestamp=1_000))
    state.update(2, 0, BatchMetadata(0, 0, 1, 1, timestamp=5_000))
    assert state.remove_expired(now_ms=10_999, expiration_ms=10_000) == []
    assert state.remove_expired(now_ms=11_000, expiration_ms=10_000) == [1]
    assert list(state.producers) == [2]


def test_a_snapshot_holds_every_producer_with_its_five_batches() -> None:
    state, _ = five_batches()
    state.update(9, 2, BatchMetadata(0, 0, 200, 200, 7))
    data = encode_snapshot(state.producers)
    assert decode_snapshot(data) == state.producers
    for broken in (data[:-1], data[:3], data + b"\0", data[:6] + bytes([data[6] ^ 1]) + data[7:]):
        with pytest.raises(CorruptSnapshotError):
            decode_snapshot(broken)
