"""Produce (key 0): a producer appends record batches to partition leaders.

Each partition gets one record batch, already encoded and checksummed by the
producer. ``acks`` says when the broker answers: 0 never, 1 once the leader
has written it, -1 ("all") once every in-sync replica has it.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    INT16,
    INT32,
    INT64,
    RECORDS,
    STRING,
    ArrayOf,
    RecordsValue,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = [
    "BatchIndexAndErrorMessage",
    "PartitionProduceData",
    "PartitionProduceResponse",
    "ProduceRequest",
    "ProduceResponse",
    "TopicProduceData",
    "TopicProduceResponse",
]

_MAX_VERSION = 8  # v9 is the first flexible version


class PartitionProduceData(WireStruct):
    index: int = wire(INT32)
    records: RecordsValue = wire(RECORDS, nullable="0+", default=None)


class TopicProduceData(WireStruct):
    name: str = wire(STRING)
    partition_data: list[PartitionProduceData] = wire(
        ArrayOf(Struct(PartitionProduceData)), default_factory=list
    )


class ProduceRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.PRODUCE
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    transactional_id: str | None = wire(STRING, "3+", nullable="3+", default=None)
    acks: int = wire(INT16, default=-1)
    timeout_ms: int = wire(INT32, default=30_000)
    topic_data: list[TopicProduceData] = wire(
        ArrayOf(Struct(TopicProduceData)), default_factory=list
    )


class BatchIndexAndErrorMessage(WireStruct):
    batch_index: int = wire(INT32, "8+")
    batch_index_error_message: str | None = wire(STRING, "8+", nullable="8+", default=None)


class PartitionProduceResponse(WireStruct):
    index: int = wire(INT32)
    error_code: int = wire(INT16)
    base_offset: int = wire(INT64, default=-1)
    log_append_time_ms: int = wire(INT64, "2+", default=-1)
    log_start_offset: int = wire(INT64, "5+", default=-1)
    record_errors: list[BatchIndexAndErrorMessage] = wire(
        ArrayOf(Struct(BatchIndexAndErrorMessage)), "8+", default_factory=list
    )
    error_message: str | None = wire(STRING, "8+", nullable="8+", default=None)


class TopicProduceResponse(WireStruct):
    name: str = wire(STRING)
    partition_responses: list[PartitionProduceResponse] = wire(
        ArrayOf(Struct(PartitionProduceResponse)), default_factory=list
    )


class ProduceResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.PRODUCE
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    responses: list[TopicProduceResponse] = wire(
        ArrayOf(Struct(TopicProduceResponse)), default_factory=list
    )
    throttle_time_ms: int = wire(INT32, "1+", default=0)
