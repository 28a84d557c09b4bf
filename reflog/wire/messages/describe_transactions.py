"""DescribeTransactions (key 65, KIP-664): transactional ids, as their coordinator knows them.

Sent to the coordinator of each id (FindCoordinator with key type 1). Per id: its state
(Kafka's names: ``Ongoing``, ``CompleteCommit``, ...), ``transaction.timeout.ms``, when
the open transaction started (-1: none), the producer id and epoch, and the partitions of
the open transaction. An id the coordinator does not know is TRANSACTIONAL_ID_NOT_FOUND;
one it does not own NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while it reads it back).
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    INT16,
    INT32,
    INT64,
    STRING,
    ArrayOf,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = [
    "DescribeTransactionsRequest",
    "DescribeTransactionsResponse",
    "TopicData",
    "TransactionState",
]


class DescribeTransactionsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_TRANSACTIONS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    transactional_ids: list[str] = wire(ArrayOf(STRING), default_factory=list)


class TopicData(WireStruct):
    topic: str = wire(STRING)
    partitions: list[int] = wire(ArrayOf(INT32), default_factory=list)


class TransactionState(WireStruct):
    """One id's answer (Kafka's type name; not :class:`reflog.transactions.state.TxnState`)."""

    error_code: int = wire(INT16)
    transactional_id: str = wire(STRING)
    transaction_state: str = wire(STRING, default="")
    transaction_timeout_ms: int = wire(INT32, default=0)
    transaction_start_time_ms: int = wire(INT64, default=0)
    producer_id: int = wire(INT64, default=0)
    producer_epoch: int = wire(INT16, default=0)
    topics: list[TopicData] = wire(ArrayOf(Struct(TopicData)), default_factory=list)


class DescribeTransactionsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_TRANSACTIONS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    throttle_time_ms: int = wire(INT32, default=0)
    transaction_states: list[TransactionState] = wire(
        ArrayOf(Struct(TransactionState)), default_factory=list
    )
