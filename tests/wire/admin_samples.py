"""Filled-in admin messages (configs, topic and partition admin) for the wire tests: no
field at its default, as :mod:`tests.wire.samples` asks."""

from __future__ import annotations

import uuid

from reflog.wire.messages.configs import (
    AlterableConfig,
    AlterConfigsRequest,
    AlterConfigsResource,
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
    DescribeConfigsRequest,
    DescribeConfigsResource,
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)
from reflog.wire.messages.incremental_alter_configs import AlterableConfig as IncrementalConfig
from reflog.wire.messages.incremental_alter_configs import (
    AlterConfigsResource as IncrementalResource,
)
from reflog.wire.messages.incremental_alter_configs import (
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    DeleteRecordsPartition,
    DeleteRecordsPartitionResult,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopic,
    DeleteRecordsTopicResult,
    ElectLeadersRequest,
    ElectLeadersResponse,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    ListPartitionReassignmentsTopics,
    OngoingPartitionReassignment,
    OngoingTopicReassignment,
    PartitionResult,
    ReassignablePartition,
    ReassignablePartitionResponse,
    ReassignableTopic,
    ReassignableTopicResponse,
    ReplicaElectionResult,
    TopicPartitions,
)
from reflog.wire.messages.topic_admin import (
    CreatePartitionsAssignment,
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopic,
    CreatePartitionsTopicResult,
    DeletableTopicResult,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DeleteTopicState,
    DescribeClusterBroker,
    DescribeClusterRequest,
    DescribeClusterResponse,
)
from reflog.wire.schema import Message

ADMIN_SAMPLES: list[Message] = [
    DescribeConfigsRequest(
        resources=[
            DescribeConfigsResource(
                resource_type=2, resource_name="orders", configuration_keys=["retention.ms"]
            )
        ],
        include_synonyms=True,
        include_documentation=True,
    ),
    DescribeConfigsResponse(
        throttle_time_ms=3,
        results=[
            DescribeConfigsResult(
                error_code=40,
                error_message="bad",
                resource_type=2,
                resource_name="orders",
                configs=[
                    DescribeConfigsResourceResult(
                        name="retention.ms",
                        value="1000",
                        read_only=True,
                        is_default=True,
                        config_source=1,
                        is_sensitive=True,
                        synonyms=[
                            DescribeConfigsSynonym(name="retention.ms", value="1000", source=1)
                        ],
                        config_type=5,
                        documentation="how long",
                    )
                ],
            )
        ],
    ),
    AlterConfigsRequest(
        resources=[
            AlterConfigsResource(
                resource_type=4,
                resource_name="1",
                configs=[AlterableConfig(name="log.retention.ms", value="5")],
            )
        ],
        validate_only=True,
    ),
    AlterConfigsResponse(
        throttle_time_ms=2,
        responses=[
            AlterConfigsResourceResponse(
                error_code=40, error_message="no", resource_type=2, resource_name="orders"
            )
        ],
    ),
    IncrementalAlterConfigsRequest(
        resources=[
            IncrementalResource(
                resource_type=2,
                resource_name="orders",
                configs=[IncrementalConfig(name="retention.ms", config_operation=1, value="7")],
            )
        ],
        validate_only=True,
    ),
    IncrementalAlterConfigsResponse(
        throttle_time_ms=2,
        responses=[
            AlterConfigsResourceResponse(
                error_code=40, error_message="no", resource_type=2, resource_name="orders"
            )
        ],
    ),
    DeleteTopicsRequest(
        topics=[
            DeleteTopicState(name="a", topic_id=uuid.UUID(int=0xA)),
            DeleteTopicState(name="b", topic_id=uuid.UUID(int=0xB)),
        ],
        topic_names=["a", "b"],
        timeout_ms=5000,
    ),
    DeleteTopicsResponse(
        throttle_time_ms=1,
        responses=[
            DeletableTopicResult(
                name="a", topic_id=uuid.UUID(int=0xA), error_code=3, error_message="unknown"
            )
        ],
    ),
    CreatePartitionsRequest(
        topics=[
            CreatePartitionsTopic(
                name="orders",
                count=4,
                assignments=[CreatePartitionsAssignment(broker_ids=[1, 2])],
            )
        ],
        timeout_ms=5000,
        validate_only=True,
    ),
    CreatePartitionsResponse(
        throttle_time_ms=1,
        results=[CreatePartitionsTopicResult(name="orders", error_code=37, error_message="fewer")],
    ),
    DescribeClusterRequest(include_cluster_authorized_operations=True, endpoint_type=2),
    DescribeClusterResponse(
        throttle_time_ms=1,
        error_code=42,
        error_message="odd",
        endpoint_type=2,
        cluster_id="c1",
        controller_id=3,
        brokers=[DescribeClusterBroker(broker_id=1, host="h", port=9092, rack="r1")],
        cluster_authorized_operations=8,
    ),
    DeleteRecordsRequest(
        topics=[
            DeleteRecordsTopic(
                name="orders", partitions=[DeleteRecordsPartition(partition_index=1, offset=10)]
            )
        ],
        timeout_ms=5000,
    ),
    DeleteRecordsResponse(
        throttle_time_ms=1,
        topics=[
            DeleteRecordsTopicResult(
                name="orders",
                partitions=[
                    DeleteRecordsPartitionResult(partition_index=1, low_watermark=10, error_code=1)
                ],
            )
        ],
    ),
    ElectLeadersRequest(
        election_type=1,
        topic_partitions=[TopicPartitions(topic="orders", partitions=[0, 1])],
        timeout_ms=5000,
    ),
    ElectLeadersResponse(
        throttle_time_ms=1,
        error_code=41,
        replica_election_results=[
            ReplicaElectionResult(
                topic="orders",
                partition_result=[
                    PartitionResult(partition_id=0, error_code=84, error_message="not needed")
                ],
            )
        ],
    ),
    AlterPartitionReassignmentsRequest(
        timeout_ms=5000,
        topics=[
            ReassignableTopic(
                name="orders",
                partitions=[ReassignablePartition(partition_index=0, replicas=[2, 3])],
            )
        ],
    ),
    AlterPartitionReassignmentsResponse(
        throttle_time_ms=1,
        error_code=41,
        error_message="moved",
        responses=[
            ReassignableTopicResponse(
                name="orders",
                partitions=[
                    ReassignablePartitionResponse(
                        partition_index=0, error_code=39, error_message="no such broker"
                    )
                ],
            )
        ],
    ),
    ListPartitionReassignmentsRequest(
        timeout_ms=5000,
        topics=[ListPartitionReassignmentsTopics(name="orders", partition_indexes=[0])],
    ),
    ListPartitionReassignmentsResponse(
        throttle_time_ms=1,
        error_code=41,
        error_message="moved",
        topics=[
            OngoingTopicReassignment(
                name="orders",
                partitions=[
                    OngoingPartitionReassignment(
                        partition_index=0,
                        replicas=[1, 2, 3],
                        adding_replicas=[3],
                        removing_replicas=[1],
                    )
                ],
            )
        ],
    ),
]

ADMIN_NULL_SAMPLES: list[Message] = [
    DeleteTopicsRequest(topics=[DeleteTopicState(name=None, topic_id=uuid.UUID(int=9))]),
    DeleteTopicsResponse(
        responses=[DeletableTopicResult(name=None, topic_id=uuid.UUID(int=9), error_code=100)]
    ),
    DescribeConfigsRequest(
        resources=[
            DescribeConfigsResource(resource_type=2, resource_name="t", configuration_keys=None)
        ]
    ),
    ElectLeadersRequest(topic_partitions=None),
    ListPartitionReassignmentsRequest(topics=None),
    AlterPartitionReassignmentsRequest(
        topics=[
            ReassignableTopic(
                name="t", partitions=[ReassignablePartition(partition_index=0, replicas=None)]
            )
        ]
    ),
    CreatePartitionsRequest(topics=[CreatePartitionsTopic(name="t", count=2, assignments=None)]),
]
