"""DescribeProducers (key 61, KIP-664): a partition's active producers, from one replica.

The answer is the partition's producer-state table as that replica holds it: per
producer id, the epoch, the last sequence number written, the time of its latest batch,
the epoch of the transaction coordinator whose marker came last, and the first offset of
the transaction it has open there (-1: none). Any replica answers, leader or follower
(``kafka-transactions.sh describe-producers --broker-id``); a broker that holds no replica
answers NOT_LEADER_OR_FOLLOWER, one that does not know the partition
UNKNOWN_TOPIC_OR_PARTITION.
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
    "DescribeProducersRequest",
    "DescribeProducersResponse",
    "PartitionResponse",
    "ProducerState",
    "TopicRequest",
    "TopicResponse",
]


class TopicRequest(WireStruct):
    name: str = wire(STRING)
    partition_indexes: list[int] = wire(ArrayOf(INT32), default_factory=list)


class DescribeProducersRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_PRODUCERS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    topics: list[TopicRequest] = wire(ArrayOf(Struct(TopicRequest)), default_factory=list)


class ProducerState(WireStruct):
    producer_id: int = wire(INT64)
    producer_epoch: int = wire(INT32)  # an INT32 here, though an epoch is an INT16 elsewhere
    last_sequence: int = wire(INT32, default=-1)
    last_timestamp: int = wire(INT64, default=-1)
    coordinator_epoch: int = wire(INT32, default=0)
    current_txn_start_offset: int = wire(INT64, default=-1)


class PartitionResponse(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)
    active_producers: list[ProducerState] = wire(
        ArrayOf(Struct(ProducerState)), default_factory=list
    )


class TopicResponse(WireStruct):
    name: str = wire(STRING)
    partitions: list[PartitionResponse] = wire(
        ArrayOf(Struct(PartitionResponse)), default_factory=list
    )


class DescribeProducersResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_PRODUCERS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    throttle_time_ms: int = wire(INT32, default=0)
    topics: list[TopicResponse] = wire(ArrayOf(Struct(TopicResponse)), default_factory=list)
