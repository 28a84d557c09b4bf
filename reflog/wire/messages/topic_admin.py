"""DeleteTopics (20), CreatePartitions (37) and DescribeCluster (60): what
``kafka-topics --delete``, ``kafka-topics --alter --partitions`` and the admin clients'
``delete_topics``, ``create_partitions`` and ``describe_cluster`` send.

Versions: DeleteTopics v1 adds throttling, v4 is flexible, v5 adds an error message,
v6 names each topic by name or by id (and answers with both);
CreatePartitions v2 is flexible; DescribeCluster is flexible from v0, v1 adds the
endpoint type (reflog has brokers only).
"""

from __future__ import annotations

import dataclasses
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
    "CreatePartitionsAssignment",
    "CreatePartitionsRequest",
    "CreatePartitionsResponse",
    "CreatePartitionsTopic",
    "CreatePartitionsTopicResult",
    "DeletableTopicResult",
    "DeleteTopicState",
    "DeleteTopicsRequest",
    "DeleteTopicsResponse",
    "DescribeClusterBroker",
    "DescribeClusterRequest",
    "DescribeClusterResponse",
]

INT32_MIN = -(2**31)  # "authorized operations not asked for"

# -- DeleteTopics ---------------------------------------------------------------------------
_DELETE_MAX = 6
_DELETE_FLEXIBLE = 4


class DeleteTopicState(WireStruct):
    """One topic to delete (v6+): by name, or by id with a null name, never both."""

    name: str | None = wire(STRING, "6+", nullable="6+", default=None)
    topic_id: uuid.UUID = wire(UUID, "6+", default=ZERO_UUID)


class DeleteTopicsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DELETE_TOPICS
    MAX_VERSION: ClassVar[int] = _DELETE_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _DELETE_FLEXIBLE

    topics: list[DeleteTopicState] = wire(
        ArrayOf(Struct(DeleteTopicState)), "6+", default_factory=list
    )
    topic_names: list[str] = wire(ArrayOf(STRING), "0-5", default_factory=list)
    timeout_ms: int = wire(INT32, default=60_000)

    def topic_states(self) -> list[DeleteTopicState]:
        """The topics to delete whichever version's layout they came in (Kafka:
        ``DeleteTopicsRequest.topics()``): names before v6, names or ids from v6."""
        return self.topics + [DeleteTopicState(name=name) for name in self.topic_names]

    def in_v6_layout(self) -> DeleteTopicsRequest:
        """The same request as v6+ carries it, as a broker forwards it to the controller
        at the newest version (a v0-v5 client's names would not survive otherwise)."""
        return dataclasses.replace(self, topics=self.topic_states(), topic_names=[])


class DeletableTopicResult(WireStruct):
    name: str | None = wire(STRING, nullable="6+")  # null: an unknown id asked for (v6+)
    topic_id: uuid.UUID = wire(UUID, "6+", default=ZERO_UUID)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, "5+", nullable="0+", default=None)


class DeleteTopicsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DELETE_TOPICS
    MAX_VERSION: ClassVar[int] = _DELETE_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _DELETE_FLEXIBLE

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    responses: list[DeletableTopicResult] = wire(
        ArrayOf(Struct(DeletableTopicResult)), default_factory=list
    )


# -- CreatePartitions -----------------------------------------------------------------------
_PARTITIONS_MAX = 3
_PARTITIONS_FLEXIBLE = 2


class CreatePartitionsAssignment(WireStruct):
    broker_ids: list[int] = wire(ArrayOf(INT32), default_factory=list)


class CreatePartitionsTopic(WireStruct):
    name: str = wire(STRING)
    count: int = wire(INT32)
    # Null: the controller places the new partitions.
    assignments: list[CreatePartitionsAssignment] | None = wire(
        ArrayOf(Struct(CreatePartitionsAssignment)), nullable="0+", default=None
    )


class CreatePartitionsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.CREATE_PARTITIONS
    MAX_VERSION: ClassVar[int] = _PARTITIONS_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _PARTITIONS_FLEXIBLE

    topics: list[CreatePartitionsTopic] = wire(
        ArrayOf(Struct(CreatePartitionsTopic)), default_factory=list
    )
    timeout_ms: int = wire(INT32, default=60_000)
    validate_only: bool = wire(BOOL, default=False)


class CreatePartitionsTopicResult(WireStruct):
    name: str = wire(STRING)
    error_code: int = wire(INT16)
    error_message: str | None = wire(STRING, nullable="0+", default=None)


class CreatePartitionsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.CREATE_PARTITIONS
    MAX_VERSION: ClassVar[int] = _PARTITIONS_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _PARTITIONS_FLEXIBLE

    throttle_time_ms: int = wire(INT32, default=0)
    results: list[CreatePartitionsTopicResult] = wire(
        ArrayOf(Struct(CreatePartitionsTopicResult)), default_factory=list
    )


# -- DescribeCluster ------------------------------------------------------------------------
_CLUSTER_MAX = 1


class DescribeClusterRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_CLUSTER
    MAX_VERSION: ClassVar[int] = _CLUSTER_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    include_cluster_authorized_operations: bool = wire(BOOL, default=False)
    endpoint_type: int = wire(INT8, "1+", default=1)  # 1: brokers


class DescribeClusterBroker(WireStruct):
    broker_id: int = wire(INT32)
    host: str = wire(STRING)
    port: int = wire(INT32)
    rack: str | None = wire(STRING, nullable="0+", default=None)


class DescribeClusterResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_CLUSTER
    MAX_VERSION: ClassVar[int] = _CLUSTER_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)
    endpoint_type: int = wire(INT8, "1+", default=1)
    cluster_id: str = wire(STRING, default="")
    controller_id: int = wire(INT32, default=-1)
    brokers: list[DescribeClusterBroker] = wire(
        ArrayOf(Struct(DescribeClusterBroker)), default_factory=list
    )
    cluster_authorized_operations: int = wire(INT32, default=INT32_MIN)
