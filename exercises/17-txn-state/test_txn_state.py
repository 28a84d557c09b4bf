"""Tests for the transaction-state exercise: `python -m exercises check 17-txn-state`."""

from __future__ import annotations

from types import ModuleType

OK = "NONE"


def test_the_first_partition_opens_a_transaction(impl: ModuleType) -> None:
    assert impl.next_state("Empty", "AddPartitionsToTxn") == ("Ongoing", OK)


def test_the_next_transaction_opens_after_a_completed_one(impl: ModuleType) -> None:
    assert impl.next_state("CompleteCommit", "AddPartitionsToTxn") == ("Ongoing", OK)
    assert impl.next_state("CompleteAbort", "AddPartitionsToTxn") == ("Ongoing", OK)


def test_another_partition_keeps_the_transaction_open(impl: ModuleType) -> None:
    assert impl.next_state("Ongoing", "AddPartitionsToTxn") == ("Ongoing", OK)


def test_a_partition_added_while_the_transaction_ends_must_wait(impl: ModuleType) -> None:
    assert impl.next_state("PrepareCommit", "AddPartitionsToTxn") == (
        "PrepareCommit",
        "CONCURRENT_TRANSACTIONS",
    )


def test_end_txn_prepares_the_commit_or_the_abort(impl: ModuleType) -> None:
    assert impl.next_state("Ongoing", "EndTxn commit") == ("PrepareCommit", OK)
    assert impl.next_state("Ongoing", "EndTxn abort") == ("PrepareAbort", OK)


def test_the_markers_written_complete_the_transaction(impl: ModuleType) -> None:
    assert impl.next_state("PrepareCommit", "markers written") == ("CompleteCommit", OK)
    assert impl.next_state("PrepareAbort", "markers written") == ("CompleteAbort", OK)


def test_a_retried_end_txn_is_answered_without_a_move(impl: ModuleType) -> None:
    assert impl.next_state("CompleteCommit", "EndTxn commit") == ("CompleteCommit", OK)
    assert impl.next_state("PrepareAbort", "EndTxn abort") == (
        "PrepareAbort",
        "CONCURRENT_TRANSACTIONS",
    )


def test_ending_the_other_way_or_with_nothing_open_is_refused(impl: ModuleType) -> None:
    assert impl.next_state("CompleteCommit", "EndTxn abort") == (
        "CompleteCommit",
        "INVALID_TXN_STATE",
    )
    assert impl.next_state("PrepareCommit", "EndTxn abort") == (
        "PrepareCommit",
        "INVALID_TXN_STATE",
    )
    assert impl.next_state("Empty", "EndTxn commit") == ("Empty", "INVALID_TXN_STATE")


def test_a_new_instance_fences_an_open_transaction_and_aborts_it(impl: ModuleType) -> None:
    assert impl.next_state("Ongoing", "InitProducerId") == (
        "PrepareAbort",
        "CONCURRENT_TRANSACTIONS",
    )


def test_a_new_instance_with_no_transaction_open_starts_empty(impl: ModuleType) -> None:
    assert impl.next_state("CompleteCommit", "InitProducerId") == ("Empty", OK)
    assert impl.next_state("PrepareCommit", "InitProducerId") == (
        "PrepareCommit",
        "CONCURRENT_TRANSACTIONS",
    )


def test_a_transaction_open_past_its_timeout_is_aborted(impl: ModuleType) -> None:
    assert impl.next_state("Ongoing", "timeout") == ("PrepareAbort", OK)
    assert impl.next_state("Empty", "timeout") == ("Empty", OK)


def test_a_dead_id_takes_no_transaction(impl: ModuleType) -> None:
    assert impl.next_state("Dead", "AddPartitionsToTxn") == ("Dead", "INVALID_TXN_STATE")
