"""DeleteRecords (21), ElectLeaders (43), AlterPartitionReassignments (45) and
ListPartitionReassignments (46): what ``kafka-delete-records``, ``kafka-leader-election``
and ``kafka-reassign-partitions`` send.

Versions: DeleteRecords v2 and ElectLeaders v2 are flexible; ElectLeaders v1 adds the
election type (0 preferred, 1 unclean) and a top-level error; the reassignment APIs
(KIP-455) have one, flexible, version.
"""

from __future__ import annotations

from enum import IntEnum
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
    "AlterPartitionReassignmentsRequest",
    "AlterPartitionReassignmentsResponse",
    "DeleteRecordsPartition",
    "DeleteRecordsPartitionResult",
    "DeleteRecordsRequest",
    "DeleteRecordsResponse",
    "DeleteRecordsTopic",
    "DeleteRecordsTopicResult",
    "ElectLeadersRequest",
    "ElectLeadersResponse",
    "ElectionType",
    "ListPartitionReassignmentsRequest",
    "ListPartitionReassignmentsResponse",
    "ListPartitionReassignmentsTopics",
    "OngoingPartitionReassignment",
    "OngoingTopicReassignment",
    "PartitionResult",
    "ReassignablePartition",
    "ReassignablePartitionResponse",
    "ReassignableTopic",
    "ReassignableTopicResponse",
    "ReplicaElectionResult",
    "TopicPartitions",
]


class ElectionType(IntEnum):
    PREFERRED = 0
    UNCLEAN = 1


# -- DeleteRecords --------------------------------------------------------------------------
_DELETE_RECORDS_MAX = 2


class DeleteRecordsPartition(WireStruct):
    partition_index: int = wire(INT32)
    offset: int = wire(INT64)  # -1: the high watermark


class DeleteRecordsTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[DeleteRecordsPartition] = wire(
        ArrayOf(Struct(DeleteRecordsPartition)), default_factory=list
    )


class DeleteRecordsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DELETE_RECORDS
    MAX_VERSION: ClassVar[int] = _DELETE_RECORDS_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = 2

    topics: list[DeleteRecordsTopic] = wire(
        ArrayOf(Struct(DeleteRecordsTopic)), default_factory=list
    )
    timeout_ms: int = wire(INT32, default=60_000)


class DeleteRecordsPartitionResult(WireStruct):
    partition_index: int = wire(INT32)
    low_watermark: int = wire(INT64, default=-1)
    error_code: int = wire(INT16, default=0)


class DeleteRecordsTopicResult(WireStruct):
    name: str = wire(STRING)
    partitions: list[DeleteRecordsPartitionResult] = wire(
        ArrayOf(Struct(DeleteRecordsPartitionResult)), default_factory=list
    )


class DeleteRecordsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DELETE_RECORDS
    MAX_VERSION: ClassVar[int] = _DELETE_RECORDS_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = 2

    throttle_time_ms: int = wire(INT32, default=0)
    topics: list[DeleteRecordsTopicResult] = wire(
        ArrayOf(Struct(DeleteRecordsTopicResult)), default_factory=list
    )


# -- ElectLeaders ---------------------------------------------------------------------------
_ELECT_MAX = 2


class TopicPartitions(WireStruct):
    topic: str = wire(STRING)
    partitions: list[int] = wire(ArrayOf(INT32), default_factory=list)


class ElectLeadersRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.ELECT_LEADERS
    MAX_VERSION: ClassVar[int] = _ELECT_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = 2

    election_type: int = wire(INT8, "1+", default=ElectionType.PREFERRED)
    # Null: every partition.
    topic_partitions: list[TopicPartitions] | None = wire(
        ArrayOf(Struct(TopicPartitions)), nullable="0+", default=None
    )
    timeout_ms: int = wire(INT32, default=60_000)


class PartitionResult(WireStruct):
    partition_id: int = wire(INT32)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)


class ReplicaElectionResult(WireStruct):
    topic: str = wire(STRING)
    partition_result: list[PartitionResult] = wire(
        ArrayOf(Struct(PartitionResult)), default_factory=list
    )


class ElectLeadersResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.ELECT_LEADERS
    MAX_VERSION: ClassVar[int] = _ELECT_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = 2

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, "1+", default=0)
    replica_election_results: list[ReplicaElectionResult] = wire(
        ArrayOf(Struct(ReplicaElectionResult)), default_factory=list
    )


# -- AlterPartitionReassignments ------------------------------------------------------------
class ReassignablePartition(WireStruct):
    partition_index: int = wire(INT32)
    # The new replica list; null cancels an ongoing reassignment.
    replicas: list[int] | None = wire(ArrayOf(INT32), nullable="0+", default=None)


class ReassignableTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[ReassignablePartition] = wire(
        ArrayOf(Struct(ReassignablePartition)), default_factory=list
    )


class AlterPartitionReassignmentsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.ALTER_PARTITION_REASSIGNMENTS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    timeout_ms: int = wire(INT32, default=60_000)
    topics: list[ReassignableTopic] = wire(ArrayOf(Struct(ReassignableTopic)), default_factory=list)


class ReassignablePartitionResponse(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)


class ReassignableTopicResponse(WireStruct):
    name: str = wire(STRING)
    partitions: list[ReassignablePartitionResponse] = wire(
        ArrayOf(Struct(ReassignablePartitionResponse)), default_factory=list
    )


class AlterPartitionReassignmentsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.ALTER_PARTITION_REASSIGNMENTS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)
    responses: list[ReassignableTopicResponse] = wire(
        ArrayOf(Struct(ReassignableTopicResponse)), default_factory=list
    )


# -- ListPartitionReassignments -------------------------------------------------------------
class ListPartitionReassignmentsTopics(WireStruct):
    name: str = wire(STRING)
    partition_indexes: list[int] = wire(ArrayOf(INT32), default_factory=list)


class ListPartitionReassignmentsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.LIST_PARTITION_REASSIGNMENTS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    timeout_ms: int = wire(INT32, default=60_000)
    # Null: every ongoing reassignment.
    topics: list[ListPartitionReassignmentsTopics] | None = wire(
        ArrayOf(Struct(ListPartitionReassignmentsTopics)), nullable="0+", default=None
    )


class OngoingPartitionReassignment(WireStruct):
    partition_index: int = wire(INT32)
    replicas: list[int] = wire(ArrayOf(INT32), default_factory=list)
    adding_replicas: list[int] = wire(ArrayOf(INT32), default_factory=list)
    removing_replicas: list[int] = wire(ArrayOf(INT32), default_factory=list)


class OngoingTopicReassignment(WireStruct):
    name: str = wire(STRING)
    partitions: list[OngoingPartitionReassignment] = wire(
        ArrayOf(Struct(OngoingPartitionReassignment)), default_factory=list
    )


class ListPartitionReassignmentsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.LIST_PARTITION_REASSIGNMENTS
    MAX_VERSION: ClassVar[int] = 0
    FLEXIBLE_FROM: ClassVar[int | None] = 0

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)
    topics: list[OngoingTopicReassignment] = wire(
        ArrayOf(Struct(OngoingTopicReassignment)), default_factory=list
    )
