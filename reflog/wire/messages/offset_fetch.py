"""OffsetFetch (key 9): a consumer reads its group's committed offsets.

A partition without a committed offset answers offset -1 (the consumer then
applies ``auto.offset.reset``). From v2 a null topic list asks for every
partition the group has committed, and a group-level error code is added.
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
    "OffsetFetchRequest",
    "OffsetFetchRequestTopic",
    "OffsetFetchResponse",
    "OffsetFetchResponsePartition",
    "OffsetFetchResponseTopic",
]

_MAX_VERSION = 5  # v6 is the first flexible version


class OffsetFetchRequestTopic(WireStruct):
    name: str = wire(STRING)
    partition_indexes: list[int] = wire(ArrayOf(INT32), default_factory=list)


class OffsetFetchRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.OFFSET_FETCH
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    group_id: str = wire(STRING)
    topics: list[OffsetFetchRequestTopic] | None = wire(
        ArrayOf(Struct(OffsetFetchRequestTopic)), nullable="2+", default_factory=list
    )


class OffsetFetchResponsePartition(WireStruct):
    partition_index: int = wire(INT32)
    committed_offset: int = wire(INT64, default=-1)
    committed_leader_epoch: int = wire(INT32, "5+", default=-1)
    metadata: str | None = wire(STRING, nullable="0+", default="")
    error_code: int = wire(INT16, default=0)


class OffsetFetchResponseTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[OffsetFetchResponsePartition] = wire(
        ArrayOf(Struct(OffsetFetchResponsePartition)), default_factory=list
    )


class OffsetFetchResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.OFFSET_FETCH
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "3+", default=0)
    topics: list[OffsetFetchResponseTopic] = wire(
        ArrayOf(Struct(OffsetFetchResponseTopic)), default_factory=list
    )
    error_code: int = wire(INT16, "2+", default=0)
