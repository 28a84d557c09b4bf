"""ListOffsets (key 2): find an offset by time.

Timestamp -2 asks for the earliest offset (the log start), -1 for the latest
(the high watermark), anything else for the first record whose timestamp is
at least that. Version 0 answers with a list of "old style" offsets.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    INT8,
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
    "ListOffsetsPartition",
    "ListOffsetsPartitionResponse",
    "ListOffsetsRequest",
    "ListOffsetsResponse",
    "ListOffsetsTopic",
    "ListOffsetsTopicResponse",
]

_MAX_VERSION = 5  # v6 is the first flexible version


class ListOffsetsPartition(WireStruct):
    partition_index: int = wire(INT32)
    current_leader_epoch: int = wire(INT32, "4+", default=-1)
    timestamp: int = wire(INT64, default=-1)
    max_num_offsets: int = wire(INT32, "0", default=1)


class ListOffsetsTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[ListOffsetsPartition] = wire(
        ArrayOf(Struct(ListOffsetsPartition)), default_factory=list
    )


class ListOffsetsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.LIST_OFFSETS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    replica_id: int = wire(INT32, default=-1)
    isolation_level: int = wire(INT8, "2+", default=0)
    topics: list[ListOffsetsTopic] = wire(ArrayOf(Struct(ListOffsetsTopic)), default_factory=list)


class ListOffsetsPartitionResponse(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16)
    old_style_offsets: list[int] = wire(ArrayOf(INT64), "0", default_factory=list)
    timestamp: int = wire(INT64, "1+", default=-1)
    offset: int = wire(INT64, "1+", default=-1)
    leader_epoch: int = wire(INT32, "4+", default=-1)


class ListOffsetsTopicResponse(WireStruct):
    name: str = wire(STRING)
    partitions: list[ListOffsetsPartitionResponse] = wire(
        ArrayOf(Struct(ListOffsetsPartitionResponse)), default_factory=list
    )


class ListOffsetsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.LIST_OFFSETS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "2+", default=0)
    topics: list[ListOffsetsTopicResponse] = wire(
        ArrayOf(Struct(ListOffsetsTopicResponse)), default_factory=list
    )
