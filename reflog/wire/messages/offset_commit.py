"""OffsetCommit (key 8): a consumer group stores how far it has read.

The coordinator writes each committed offset as a record in ``__consumer_offsets``
and answers once it is replicated. A member of a group commits with its
generation and member id, so a member fenced by a rebalance cannot overwrite
the offsets of the partition's new owner; generation -1 with an empty member id
commits for a group that uses no group management (``assign()`` consumers).
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
    "OffsetCommitRequest",
    "OffsetCommitRequestPartition",
    "OffsetCommitRequestTopic",
    "OffsetCommitResponse",
    "OffsetCommitResponsePartition",
    "OffsetCommitResponseTopic",
]

_MAX_VERSION = 7  # v8 is the first flexible version


class OffsetCommitRequestPartition(WireStruct):
    partition_index: int = wire(INT32)
    committed_offset: int = wire(INT64)
    committed_leader_epoch: int = wire(INT32, "6+", default=-1)
    commit_timestamp: int = wire(INT64, "1", default=-1)
    committed_metadata: str | None = wire(STRING, nullable="0+", default="")


class OffsetCommitRequestTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[OffsetCommitRequestPartition] = wire(
        ArrayOf(Struct(OffsetCommitRequestPartition)), default_factory=list
    )


class OffsetCommitRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.OFFSET_COMMIT
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    group_id: str = wire(STRING)
    generation_id_or_member_epoch: int = wire(INT32, "1+", default=-1)
    member_id: str = wire(STRING, "1+", default="")
    group_instance_id: str | None = wire(STRING, "7+", nullable="7+", default=None)
    retention_time_ms: int = wire(INT64, "2-4", default=-1)
    topics: list[OffsetCommitRequestTopic] = wire(
        ArrayOf(Struct(OffsetCommitRequestTopic)), default_factory=list
    )


class OffsetCommitResponsePartition(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16, default=0)


class OffsetCommitResponseTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[OffsetCommitResponsePartition] = wire(
        ArrayOf(Struct(OffsetCommitResponsePartition)), default_factory=list
    )


class OffsetCommitResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.OFFSET_COMMIT
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "3+", default=0)
    topics: list[OffsetCommitResponseTopic] = wire(
        ArrayOf(Struct(OffsetCommitResponseTopic)), default_factory=list
    )
