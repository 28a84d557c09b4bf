"""Metadata (key 3): brokers, topics, partitions and their leaders.

Every client starts here: it asks which broker leads each partition before it
produces or fetches. With ``allow_auto_topic_creation`` (v4+; implied before)
a broker with ``auto.create.topics.enable`` creates unknown topics on the spot.

Versions: v9 is the first flexible one (compact strings and arrays, tagged fields);
v10 adds each topic's id to the answer, v11 drops the cluster's authorized operations,
and v12 lets a client ask for topics by id alone (the name null), answered with the name.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BOOL,
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
    "MetadataRequest",
    "MetadataRequestTopic",
    "MetadataResponse",
    "MetadataResponseBroker",
    "MetadataResponsePartition",
    "MetadataResponseTopic",
]

_MAX_VERSION = 12
_FLEXIBLE_FROM = 9


class MetadataRequestTopic(WireStruct):
    # v12+: a topic asked for by id has a null name (v10 and v11 carry the field, but a
    # broker refuses an id there, as Kafka does).
    topic_id: uuid.UUID = wire(UUID, "10+", default=ZERO_UUID)
    name: str | None = wire(STRING, nullable="10+", default=None)


class MetadataRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.METADATA
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = _FLEXIBLE_FROM

    # None asks for every topic (v1+); in v0 an empty list means the same.
    topics: list[MetadataRequestTopic] | None = wire(
        ArrayOf(Struct(MetadataRequestTopic)), nullable="1+", default=None
    )
    allow_auto_topic_creation: bool = wire(BOOL, "4+", default=True)
    include_cluster_authorized_operations: bool = wire(BOOL, "8-10", default=False)
    include_topic_authorized_operations: bool = wire(BOOL, "8+", default=False)

    def tolerates_unread_bytes(self, version: int, unread: int) -> bool:
        """librdkafka 2.x asks for every topic in v9+ by leaving the 4 bytes it set aside
        for the array's count at zero: a compact null (one byte) and 3 more zero bytes, so
        the fields after it are read from its padding and 3 bytes are left over. Kafka
        reads it the same way and ignores what is left; so does reflog, for this case only."""
        return version >= _FLEXIBLE_FROM and self.topics is None and unread == 3


class MetadataResponseBroker(WireStruct):
    node_id: int = wire(INT32)
    host: str = wire(STRING)
    port: int = wire(INT32)
    rack: str | None = wire(STRING, "1+", nullable="1+", default=None)


class MetadataResponsePartition(WireStruct):
    error_code: int = wire(INT16)
    partition_index: int = wire(INT32)
    leader_id: int = wire(INT32)
    leader_epoch: int = wire(INT32, "7+", default=-1)
    replica_nodes: list[int] = wire(ArrayOf(INT32), default_factory=list)
    isr_nodes: list[int] = wire(ArrayOf(INT32), default_factory=list)
    offline_replicas: list[int] = wire(ArrayOf(INT32), "5+", default_factory=list)


class MetadataResponseTopic(WireStruct):
    error_code: int = wire(INT16)
    name: str | None = wire(STRING, nullable="12+")  # null: an unknown id asked for (v12+)
    topic_id: uuid.UUID = wire(UUID, "10+", default=ZERO_UUID)
    is_internal: bool = wire(BOOL, "1+", default=False)
    partitions: list[MetadataResponsePartition] = wire(
        ArrayOf(Struct(MetadataResponsePartition)), default_factory=list
    )
    topic_authorized_operations: int = wire(INT32, "8+", default=-(2**31))


class MetadataResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.METADATA
    MAX_VERSION: ClassVar[int] = _MAX_VERSION
    FLEXIBLE_FROM: ClassVar[int | None] = _FLEXIBLE_FROM

    throttle_time_ms: int = wire(INT32, "3+", default=0)
    brokers: list[MetadataResponseBroker] = wire(
        ArrayOf(Struct(MetadataResponseBroker)), default_factory=list
    )
    cluster_id: str | None = wire(STRING, "2+", nullable="2+", default=None)
    controller_id: int = wire(INT32, "1+", default=-1)
    topics: list[MetadataResponseTopic] = wire(
        ArrayOf(Struct(MetadataResponseTopic)), default_factory=list
    )
    cluster_authorized_operations: int = wire(INT32, "8-10", default=-(2**31))
