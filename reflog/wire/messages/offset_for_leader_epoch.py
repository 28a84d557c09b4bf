"""OffsetForLeaderEpoch (key 23): where does leader epoch E end in your log? (KIP-101)

A follower asks its new leader this for its own latest epoch and truncates at
the answer; consumers ask it too, to detect a log that was truncated under them
(KIP-320). Versions 0-3 (v4 is the first flexible one).
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
    "EpochEndOffset",
    "OffsetForLeaderEpochRequest",
    "OffsetForLeaderEpochResponse",
    "OffsetForLeaderPartition",
    "OffsetForLeaderTopic",
    "OffsetForLeaderTopicResult",
]

_MAX_VERSION = 3


class OffsetForLeaderPartition(WireStruct):
    partition: int = wire(INT32)
    current_leader_epoch: int = wire(INT32, "2+", default=-1)
    leader_epoch: int = wire(INT32, default=0)


class OffsetForLeaderTopic(WireStruct):
    topic: str = wire(STRING)
    partitions: list[OffsetForLeaderPartition] = wire(
        ArrayOf(Struct(OffsetForLeaderPartition)), default_factory=list
    )


class OffsetForLeaderEpochRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.OFFSET_FOR_LEADER_EPOCH
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    replica_id: int = wire(INT32, "3+", default=-2)  # a broker's id, or -1 for a consumer
    topics: list[OffsetForLeaderTopic] = wire(
        ArrayOf(Struct(OffsetForLeaderTopic)), default_factory=list
    )


class EpochEndOffset(WireStruct):
    error_code: int = wire(INT16)
    partition: int = wire(INT32)
    leader_epoch: int = wire(INT32, "1+", default=-1)
    end_offset: int = wire(INT64, default=-1)


class OffsetForLeaderTopicResult(WireStruct):
    topic: str = wire(STRING)
    partitions: list[EpochEndOffset] = wire(ArrayOf(Struct(EpochEndOffset)), default_factory=list)


class OffsetForLeaderEpochResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.OFFSET_FOR_LEADER_EPOCH
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "2+", default=0)
    topics: list[OffsetForLeaderTopicResult] = wire(
        ArrayOf(Struct(OffsetForLeaderTopicResult)), default_factory=list
    )
