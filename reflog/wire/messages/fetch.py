"""Fetch (key 1): consumers and follower replicas read record batches.

A fetch names, per partition, the offset to read from and a byte budget. The
broker answers with whole batches as they lie on disk (sent with sendfile,
never decoded), the partition's high watermark, and its log start offset.
``max_wait_ms`` and ``min_bytes`` turn the request into a long poll.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    INT8,
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
    "AbortedTransaction",
    "FetchPartition",
    "FetchRequest",
    "FetchResponse",
    "FetchTopic",
    "FetchableTopicResponse",
    "ForgottenTopic",
    "PartitionData",
]

_MAX_VERSION = 11  # v12 is the first flexible version


class FetchPartition(WireStruct):
    partition: int = wire(INT32)
    current_leader_epoch: int = wire(INT32, "9+", default=-1)
    fetch_offset: int = wire(INT64, default=0)
    log_start_offset: int = wire(INT64, "5+", default=-1)
    partition_max_bytes: int = wire(INT32, default=1_048_576)


class FetchTopic(WireStruct):
    # From v13 (beyond reflog) topics are named by id (KIP-516), hence the closed range.
    topic: str = wire(STRING, "0-12")
    partitions: list[FetchPartition] = wire(ArrayOf(Struct(FetchPartition)), default_factory=list)


class ForgottenTopic(WireStruct):
    topic: str = wire(STRING, "7-12")
    partitions: list[int] = wire(ArrayOf(INT32), "7+", default_factory=list)


class FetchRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.FETCH
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    # -1 for a consumer; a follower replica sends its broker id.
    replica_id: int = wire(INT32, default=-1)
    max_wait_ms: int = wire(INT32, default=500)
    min_bytes: int = wire(INT32, default=1)
    max_bytes: int = wire(INT32, "3+", default=0x7FFFFFFF)
    # 0 = read_uncommitted, 1 = read_committed (librdkafka's default).
    isolation_level: int = wire(INT8, "4+", default=0)
    session_id: int = wire(INT32, "7+", default=0)
    session_epoch: int = wire(INT32, "7+", default=-1)
    topics: list[FetchTopic] = wire(ArrayOf(Struct(FetchTopic)), default_factory=list)
    forgotten_topics_data: list[ForgottenTopic] = wire(
        ArrayOf(Struct(ForgottenTopic)), "7+", default_factory=list
    )
    rack_id: str = wire(STRING, "11+", default="")


class AbortedTransaction(WireStruct):
    producer_id: int = wire(INT64, "4+")
    first_offset: int = wire(INT64, "4+")


class PartitionData(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16)
    high_watermark: int = wire(INT64, default=-1)
    last_stable_offset: int = wire(INT64, "4+", default=-1)
    log_start_offset: int = wire(INT64, "5+", default=-1)
    aborted_transactions: list[AbortedTransaction] | None = wire(
        ArrayOf(Struct(AbortedTransaction)), "4+", nullable="4+", default=None
    )
    preferred_read_replica: int = wire(INT32, "11+", default=-1)
    records: RecordsValue = wire(RECORDS, nullable="0+", default=None)


class FetchableTopicResponse(WireStruct):
    topic: str = wire(STRING, "0-12")
    partitions: list[PartitionData] = wire(ArrayOf(Struct(PartitionData)), default_factory=list)


class FetchResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.FETCH
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    error_code: int = wire(INT16, "7+", default=0)
    # 0: no fetch session (KIP-227); clients then send full fetches every time.
    session_id: int = wire(INT32, "7+", default=0)
    responses: list[FetchableTopicResponse] = wire(
        ArrayOf(Struct(FetchableTopicResponse)), default_factory=list
    )
