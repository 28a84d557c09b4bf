"""What the transaction coordinator core tells the admin tools (kafka-transactions,
KIP-664): ListTransactions' filters and DescribeTransactions' view of one id, as Kafka's
``TransactionStateManager.listTransactionStates`` and ``handleDescribeTransactions``."""

from __future__ import annotations

from collections.abc import Sequence

from reflog.topic_partition import TopicPartition
from reflog.transactions.coordinator import TransactionCoordinator
from reflog.transactions.records import TxnLogValue
from reflog.transactions.state import TxnState
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.describe_transactions import TopicData

A, B, C = TopicPartition("out", 1), TopicPartition("out", 0), TopicPartition("audit", 3)


def coordinator() -> TransactionCoordinator:
    """Three ids: "idle" (never began a transaction), "open" (began at 1_000 on A, B, C),
    "done" (began at 500, committed)."""
    core = TransactionCoordinator()
    for pid, tid in enumerate(["idle", "open", "done"], start=10):
        assert core.init_producer_id(0, tid, 60_000, new_producer_id=pid).error_code == 0
    core.add_partitions(500, "done", 12, 0, [A])
    core.end_txn(600, "done", 12, 0, commit=True)
    core.markers_written(700, "done", 0)
    core.add_partitions(1_000, "open", 11, 0, [A, B])
    core.add_partitions(1_100, "open", 11, 0, [C])
    return core


def listed(
    core: TransactionCoordinator,
    now_ms: int = 2_000,
    state_filters: Sequence[str] = (),
    producer_id_filters: Sequence[int] = (),
    duration_filter_ms: int = -1,
) -> list[str]:
    response = core.list_transactions(
        now_ms, state_filters, producer_id_filters, duration_filter_ms
    )
    return [
        f"{t.transactional_id}:{t.producer_id}:{t.transaction_state}"
        for t in response.transaction_states
    ]


def test_list_transactions_without_filters_lists_every_id_with_kafkas_state_names() -> None:
    assert listed(coordinator()) == ["done:12:CompleteCommit", "idle:10:Empty", "open:11:Ongoing"]


def test_list_transactions_keeps_the_states_and_producer_ids_asked_for() -> None:
    core = coordinator()
    assert listed(core, state_filters=["Ongoing", "Empty"]) == ["idle:10:Empty", "open:11:Ongoing"]
    assert listed(core, producer_id_filters=[12, 99]) == ["done:12:CompleteCommit"]
    assert listed(core, state_filters=["Ongoing"], producer_id_filters=[10]) == []


def test_an_unknown_state_name_is_answered_back_and_matches_nothing() -> None:
    response = coordinator().list_transactions(2_000, ["Nonsense", "ongoing"])
    assert response.error_code == ErrorCode.NONE
    assert response.unknown_state_filters == ["Nonsense", "ongoing"]  # names are exact
    assert response.transaction_states == []


def test_the_duration_filter_keeps_transactions_running_longer_than_it() -> None:
    core = coordinator()
    # "open" began at 1_000, "done" at 500; "idle" never began one (-1: as long as can be).
    assert listed(core, now_ms=2_000, duration_filter_ms=1_000) == ["done:12:CompleteCommit",
                                                                    "idle:10:Empty"]  # fmt: skip
    assert listed(core, now_ms=2_000, duration_filter_ms=1_500) == ["idle:10:Empty"]
    assert len(listed(core, now_ms=2_000, duration_filter_ms=-1)) == 3


def test_a_dead_id_is_neither_listed_nor_described() -> None:
    core = coordinator()
    dead = TxnLogValue(10, 0, 60_000, TxnState.DEAD, frozenset(), 0, -1)
    core.load("idle", dead)
    assert listed(core) == ["done:12:CompleteCommit", "open:11:Ongoing"]
    assert core.describe_transaction("idle").error_code == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND


def test_describe_gives_the_open_transactions_partitions_by_topic_and_its_start() -> None:
    described = coordinator().describe_transaction("open")
    assert described.error_code == ErrorCode.NONE
    assert (described.transaction_state, described.producer_id, described.producer_epoch) == (
        "Ongoing", 11, 0,
    )  # fmt: skip
    assert (described.transaction_timeout_ms, described.transaction_start_time_ms) == (
        60_000,
        1_000,
    )
    assert described.topics == [TopicData("audit", [3]), TopicData("out", [0, 1])]


def test_a_complete_transaction_keeps_its_start_and_has_no_partitions_left() -> None:
    described = coordinator().describe_transaction("done")
    assert described.transaction_state == "CompleteCommit"
    assert (described.transaction_start_time_ms, described.topics) == (500, [])


def test_an_unknown_id_is_transactional_id_not_found() -> None:
    described = coordinator().describe_transaction("nobody")
    assert (described.error_code, described.transactional_id) == (
        ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, "nobody",
    )  # fmt: skip
