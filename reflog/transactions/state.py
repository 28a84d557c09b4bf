"""A transaction's states, Kafka's names and numbers, and the moves between them.

The numbers are the ``TransactionStatus`` byte Kafka writes to ``__transaction_state``
(Kafka: ``TransactionState``). Every move the coordinator makes is checked against
:data:`ALLOWED_PREVIOUS`, the table Kafka keeps as each state's ``validPreviousStates``.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ALLOWED_PREVIOUS", "IllegalTransitionError", "TxnState", "check_transition"]


class TxnState(IntEnum):
    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def kafka_name(self) -> str:
        """``PrepareCommit`` for PREPARE_COMMIT: how Kafka's tools print it."""
        return "".join(w.capitalize() for w in self.name.split("_"))


S = TxnState
ALLOWED_PREVIOUS: dict[TxnState, frozenset[TxnState]] = {
    S.EMPTY: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.ONGOING: frozenset({S.ONGOING, S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_COMMIT: frozenset({S.ONGOING}),
    S.PREPARE_ABORT: frozenset({S.ONGOING, S.PREPARE_EPOCH_FENCE}),
    S.COMPLETE_COMMIT: frozenset({S.PREPARE_COMMIT}),
    S.COMPLETE_ABORT: frozenset({S.PREPARE_ABORT}),
    S.DEAD: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_EPOCH_FENCE: frozenset({S.ONGOING}),
}


class IllegalTransitionError(RuntimeError):
    """A move the table does not list: a bug in the coordinator, never a client's doing."""


def check_transition(old: TxnState, new: TxnState) -> None:
    if old not in ALLOWED_PREVIOUS[new]:
        raise IllegalTransitionError(f"{old.kafka_name} -> {new.kafka_name}")
