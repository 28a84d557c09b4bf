"""CreateTopics (key 19): what ``kafka-topics --create`` and admin clients send.

Each topic asks for a partition count and replication factor (-1: the
broker's defaults) or explicit replica assignments, plus topic configs.
``validate_only`` checks the request without creating anything.

Versions: v5 is the first flexible one, and its answer says what was made (the partition
count, the replication factor, the configs); v7 adds the new topic's id.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BOOL,
    INT8,
    INT16,
    INT32,
    STRING,
    UUID,
    ZERO_UUID,
    ArrayOf,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = [
    "CreatableReplicaAssignment",
    "CreatableTopic",
    "CreatableTopicConfig",
    "CreatableTopicConfigs",
    "CreatableTopicResult",
    "CreateTopicsRequest",
    "CreateTopicsResponse",
]

_MAX_VERSION = 7
_FLEXIBLE_FROM = 5


class CreatableReplicaAssignment(WireStruct):
    partition_index: int = wire(INT32)
    broker_ids: list[int] = wire(ArrayOf(INT32), default_factory=list)


class CreatableTopicConfig(WireStruct):
    name: str = wire(STRING)
    value: str | None = wire(STRING, nullable="0+", default=None)


class CreatableTopic(WireStruct):
    name: str = wire(STRING)
    num_partitions: int = wire(INT32, default=-1)
    replication_factor: int = wire(INT16, default=-1)
    assignments: list[CreatableReplicaAssignment] = wire(
        ArrayOf(Struct(CreatableReplicaAssignment)), default_factory=list
    )
    configs: list[CreatableTopicConfig] = wire(
        ArrayOf(Struct(CreatableTopicConfig)), default_factory=list
    )


class CreateTopicsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.CREATE_TOPICS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = _FLEXIBLE_FROM

    topics: list[CreatableTopic] = wire(ArrayOf(Struct(CreatableTopic)), default_factory=list)
    timeout_ms: int = wire(INT32, default=60_000)
    validate_only: bool = wire(BOOL, "1+", default=False)


class CreatableTopicConfigs(WireStruct):
    """One config of the new topic, as DescribeConfigs would show it (v5+)."""

    name: str = wire(STRING, "5+")
    value: str | None = wire(STRING, "5+", nullable="5+")
    read_only: bool = wire(BOOL, "5+")
    config_source: int = wire(INT8, "5+", default=-1)
    is_sensitive: bool = wire(BOOL, "5+", default=False)


class CreatableTopicResult(WireStruct):
    name: str = wire(STRING)
    topic_id: uuid.UUID = wire(UUID, "7+", default=ZERO_UUID)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, "1+", nullable="0+", default=None)
    # (v5+ also has a tagged TopicConfigErrorCode, which reflog never sends.)
    num_partitions: int = wire(INT32, "5+", default=-1)
    replication_factor: int = wire(INT16, "5+", default=-1)
    configs: list[CreatableTopicConfigs] | None = wire(
        ArrayOf(Struct(CreatableTopicConfigs)), "5+", nullable="5+", default=None
    )


class CreateTopicsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.CREATE_TOPICS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = _FLEXIBLE_FROM

    throttle_time_ms: int = wire(INT32, "2+", default=0)
    topics: list[CreatableTopicResult] = wire(
        ArrayOf(Struct(CreatableTopicResult)), default_factory=list
    )
