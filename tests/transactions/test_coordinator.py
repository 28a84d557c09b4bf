"""The transaction coordinator core: each request's answer and state change, fencing a
previous instance, and timing out a silent producer's transaction."""

from __future__ import annotations

import pytest

from reflog.topic_partition import TopicPartition
from reflog.transactions.coordinator import MarkerJob, TransactionCoordinator
from reflog.transactions.records import decode_txn_key, decode_txn_value, txn_log_record
from reflog.transactions.state import (
    ALLOWED_PREVIOUS,
    IllegalTransitionError,
    TxnState,
    check_transition,
)
from reflog.wire.errors import ErrorCode

S = TxnState
TID = "orders-processor"
A, B = TopicPartition("out", 0), TopicPartition("out", 1)


def started(now_ms: int = 0, timeout_ms: int = 60_000) -> tuple[TransactionCoordinator, int, int]:
    core = TransactionCoordinator()
    result = core.init_producer_id(now_ms, TID, timeout_ms, new_producer_id=7)
    assert result.error_code == ErrorCode.NONE
    return core, result.producer_id, result.producer_epoch


def states_written(core: TransactionCoordinator) -> list[TxnState]:
    return [value.state for _, value in core.take_writes()]


def test_a_new_transactional_id_gets_the_offered_producer_id_at_epoch_zero() -> None:
    core, pid, epoch = started()
    assert (pid, epoch) == (7, 0)
    assert core.txns[TID].state == S.EMPTY
    assert states_written(core) == [S.EMPTY]


def test_a_transaction_goes_ongoing_then_prepare_commit_then_complete_commit() -> None:
    core, pid, epoch = started()
    core.take_writes()
    assert core.add_partitions(1, TID, pid, epoch, [A]) == ErrorCode.NONE
    assert core.add_partitions(2, TID, pid, epoch, [B]) == ErrorCode.NONE
    assert core.end_txn(3, TID, pid, epoch, commit=True) == ErrorCode.NONE
    assert core.take_markers() == [MarkerJob(TID, pid, epoch, True, frozenset({A, B}))]
    core.markers_written(4, TID, epoch)
    assert states_written(core) == [S.ONGOING, S.ONGOING, S.PREPARE_COMMIT, S.COMPLETE_COMMIT]
    assert core.txns[TID].partitions == set()


def test_end_txn_retried_after_it_completed_succeeds_and_the_opposite_is_refused() -> None:
    core, pid, epoch = started()
    core.add_partitions(1, TID, pid, epoch, [A])
    core.end_txn(2, TID, pid, epoch, commit=False)
    assert core.end_txn(3, TID, pid, epoch, commit=False) == ErrorCode.CONCURRENT_TRANSACTIONS
    core.markers_written(4, TID, epoch)
    assert core.end_txn(5, TID, pid, epoch, commit=False) == ErrorCode.NONE
    assert core.end_txn(5, TID, pid, epoch, commit=True) == ErrorCode.INVALID_TXN_STATE


def test_ending_a_transaction_that_never_began_is_an_invalid_state() -> None:
    core, pid, epoch = started()
    assert core.end_txn(1, TID, pid, epoch, commit=True) == ErrorCode.INVALID_TXN_STATE


def test_requests_with_another_producer_id_or_an_old_epoch_are_refused() -> None:
    core, pid, epoch = started()
    assert core.add_partitions(1, TID, pid + 1, epoch, [A]) == ErrorCode.INVALID_PRODUCER_ID_MAPPING
    assert core.add_partitions(1, TID, pid, epoch - 1, [A]) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert core.add_partitions(1, "unknown", pid, epoch, [A]) == (
        ErrorCode.INVALID_PRODUCER_ID_MAPPING
    )


def test_a_new_instance_bumps_the_epoch_and_the_old_one_is_fenced() -> None:
    core, pid, old_epoch = started()
    again = core.init_producer_id(1, TID, 60_000, new_producer_id=None)
    assert (again.error_code, again.producer_id, again.producer_epoch) == (ErrorCode.NONE, pid, 1)
    assert core.add_partitions(2, TID, pid, old_epoch, [A]) == ErrorCode.INVALID_PRODUCER_EPOCH


def test_a_new_instance_aborts_the_transaction_its_predecessor_left_open() -> None:
    core, pid, epoch = started()
    core.add_partitions(1, TID, pid, epoch, [A])
    core.take_writes()
    first_try = core.init_producer_id(2, TID, 60_000, new_producer_id=None)
    assert first_try.error_code == ErrorCode.CONCURRENT_TRANSACTIONS  # the client retries
    # The fence and the abort are one record: PrepareAbort at the bumped epoch.
    writes = core.take_writes()
    assert [(v.state, v.producer_epoch) for _, v in writes] == [(S.PREPARE_ABORT, epoch + 1)]
    [abort] = core.take_markers()
    assert (abort.commit, abort.producer_epoch, abort.partitions) == (False, 1, frozenset({A}))
    # The zombie (epoch 0) can no longer end its transaction.
    assert core.end_txn(3, TID, pid, epoch, commit=True) == ErrorCode.INVALID_PRODUCER_EPOCH
    core.markers_written(4, TID, abort.producer_epoch)
    retry = core.init_producer_id(5, TID, 60_000, new_producer_id=None)
    assert (retry.error_code, retry.producer_epoch) == (ErrorCode.NONE, 2)


def test_a_transaction_open_past_its_timeout_is_aborted_and_its_producer_fenced() -> None:
    core, pid, epoch = started(timeout_ms=1_000)
    core.add_partitions(100, TID, pid, epoch, [A])
    core.tick(0)  # the first check
    core.tick(900)
    assert core.txns[TID].state == S.ONGOING
    core.tick(20_000)  # past the timeout, at the next check
    assert core.txns[TID].state == S.PREPARE_ABORT
    [abort] = core.take_markers()
    assert not abort.commit and abort.producer_epoch == epoch + 1
    assert core.end_txn(20_001, TID, pid, epoch, commit=True) == ErrorCode.INVALID_PRODUCER_EPOCH


def test_a_timeout_above_transaction_max_timeout_ms_is_refused() -> None:
    core = TransactionCoordinator()
    result = core.init_producer_id(0, TID, 900_001, new_producer_id=1)
    assert result.error_code == ErrorCode.INVALID_TRANSACTION_TIMEOUT


def test_adding_partitions_while_the_transaction_ends_is_concurrent() -> None:
    core, pid, epoch = started()
    core.add_partitions(1, TID, pid, epoch, [A])
    core.end_txn(2, TID, pid, epoch, commit=True)
    assert core.add_partitions(3, TID, pid, epoch, [B]) == ErrorCode.CONCURRENT_TRANSACTIONS


def test_the_state_records_read_back_give_the_same_coordinator_state() -> None:
    core, pid, epoch = started()
    core.add_partitions(1, TID, pid, epoch, [A, B])
    core.end_txn(2, TID, pid, epoch, commit=True)
    restored = TransactionCoordinator()
    for tid, value in core.take_writes():
        key, data = txn_log_record(tid, value)
        restored.load(decode_txn_key(key), decode_txn_value(data))
    assert restored.txns == core.txns
    # A coordinator that takes over sends the markers of the half-ended transaction again.
    assert restored.pending_markers() == [MarkerJob(TID, pid, epoch, True, frozenset({A, B}))]


def test_a_coordinator_taking_over_from_any_prefix_of_the_log_lets_a_new_instance_in() -> None:
    # A follower may have copied any prefix of the records when the coordinator's broker
    # dies (each record is its own append). Whatever prefix the next coordinator reads back,
    # a new instance's InitProducerId must get through once the markers it sends are written
    # (seed 52 of the simulation: the fence was a record of its own, read back without its
    # abort, and the new instance was answered CONCURRENT_TRANSACTIONS forever).
    core, pid, epoch = started()
    core.add_partitions(1, TID, pid, epoch, [A])
    core.init_producer_id(2, TID, 60_000, new_producer_id=None)  # fences, aborts
    writes = core.take_writes()
    for n in range(1, len(writes) + 1):
        restored = TransactionCoordinator()
        for tid, value in writes[:n]:
            key, data = txn_log_record(tid, value)
            restored.load(decode_txn_key(key), decode_txn_value(data))
        markers = restored.pending_markers()
        for attempt in range(3):
            result = restored.init_producer_id(10 + attempt, TID, 60_000, new_producer_id=None)
            if result.error_code == ErrorCode.NONE:
                break
            markers += restored.take_markers()
            for job in markers:
                restored.markers_written(10 + attempt, TID, job.producer_epoch)
            markers = []
        assert result.error_code == ErrorCode.NONE, (n, restored.txns[TID].state)


def test_a_coordinator_that_read_back_a_commit_puts_its_partitions_in_the_next_txn() -> None:
    # The Complete record lists the partitions of the transaction it ends. Measured against
    # them, a new coordinator once found a retried AddOffsetsToTxn "already added" and left
    # __consumer_offsets out of the next transaction: no marker went there, the committed
    # offsets were later dropped by an abort, and an input was processed twice (seed 285).
    core, pid, epoch = started()
    core.add_partitions(1, TID, pid, epoch, [A, B])
    core.end_txn(2, TID, pid, epoch, commit=True)
    core.markers_written(3, TID, epoch)
    restored = TransactionCoordinator()
    for tid, value in core.take_writes():
        key, data = txn_log_record(tid, value)
        restored.load(decode_txn_key(key), decode_txn_value(data))
    assert restored.add_partitions(4, TID, pid, epoch, [A]) == ErrorCode.NONE
    assert restored.txns[TID].partitions == {A}
    assert restored.end_txn(5, TID, pid, epoch, commit=True) == ErrorCode.NONE
    [commit] = restored.take_markers()
    assert commit.partitions == frozenset({A})


def test_the_state_table_refuses_a_move_it_does_not_list() -> None:
    check_transition(S.ONGOING, S.PREPARE_COMMIT)
    with pytest.raises(IllegalTransitionError):
        check_transition(S.EMPTY, S.PREPARE_COMMIT)
    assert all(S.DEAD not in previous for previous in ALLOWED_PREVIOUS.values())


def test_the_running_instance_gets_an_epoch_bump_naming_its_current_id_and_epoch_only() -> None:
    # KIP-360: after aborting a transaction a sequence error broke, the producer asks for
    # the bump itself; a fenced zombie naming its old epoch is refused.
    core, pid, epoch = started()
    bumped = core.init_producer_id(1, TID, 60_000, None, expected=(pid, epoch))
    assert (bumped.error_code, bumped.producer_id, bumped.producer_epoch) == (
        ErrorCode.NONE, pid, epoch + 1,
    )  # fmt: skip
    zombie = core.init_producer_id(2, TID, 60_000, None, expected=(pid, epoch))
    assert zombie.error_code == ErrorCode.INVALID_PRODUCER_EPOCH
    assert core.txns[TID].producer_epoch == epoch + 1
