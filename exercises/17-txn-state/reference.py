"""The reference answer: reflog's own transaction coordinator, given one event."""

from __future__ import annotations

from reflog.topic_partition import TopicPartition
from reflog.transactions.coordinator import TransactionCoordinator
from reflog.transactions.records import TxnLogValue
from reflog.transactions.state import TxnState
from reflog.wire.errors import ErrorCode

__all__ = ["next_state"]

TXN_ID, PRODUCER_ID, EPOCH, TIMEOUT_MS = "app", 5, 3, 60_000
NOW_MS = 1_000  # the transaction (if any) started at 0: within its timeout
LATER_MS = 10 * TIMEOUT_MS  # long past it


def next_state(state: str, event: str) -> tuple[str, str]:
    coordinator = TransactionCoordinator()
    txn_state = next(s for s in TxnState if s.kafka_name == state)
    open_ = txn_state in (
        TxnState.ONGOING, TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT,
        TxnState.PREPARE_EPOCH_FENCE,
    )  # fmt: skip
    partitions = frozenset({TopicPartition("out", 0)}) if open_ else frozenset()
    value = TxnLogValue(
        PRODUCER_ID, EPOCH, TIMEOUT_MS, txn_state, partitions, 0, 0 if open_ else -1
    )
    coordinator.load(TXN_ID, value)
    error: int = ErrorCode.NONE
    match event:
        case "AddPartitionsToTxn":
            error = coordinator.add_partitions(
                NOW_MS, TXN_ID, PRODUCER_ID, EPOCH, [TopicPartition("out", 1)]
            )
        case "EndTxn commit" | "EndTxn abort":
            commit = event == "EndTxn commit"
            error = coordinator.end_txn(NOW_MS, TXN_ID, PRODUCER_ID, EPOCH, commit)
        case "markers written":
            coordinator.markers_written(NOW_MS, TXN_ID, EPOCH)
        case "InitProducerId":
            error = coordinator.init_producer_id(NOW_MS, TXN_ID, TIMEOUT_MS, None).error_code
        case "timeout":
            coordinator.tick(LATER_MS)
        case _:
            raise ValueError(f"unknown event {event!r}")
    return coordinator.txns[TXN_ID].state.kafka_name, ErrorCode(error).name
