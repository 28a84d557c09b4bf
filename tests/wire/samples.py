"""One filled-in instance of every message reflog speaks, with no field left at its default."""

from __future__ import annotations

from reflog.records import build_batch
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.create_topics import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreatableTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.fetch import (
    AbortedTransaction,
    FetchableTopicResponse,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
    ForgottenTopic,
    PartitionData,
)
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsPartitionResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
    ListOffsetsTopicResponse,
)
from reflog.wire.messages.metadata import (
    MetadataRequest,
    MetadataRequestTopic,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from reflog.wire.messages.produce import (
    BatchIndexAndErrorMessage,
    PartitionProduceData,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
    TopicProduceResponse,
)
from reflog.wire.schema import Message

RECORDS = build_batch([(b"key", b"value", 1_700_000_000_000), (None, b"v2", 1_700_000_000_001)])

SAMPLES: list[Message] = [
    ApiVersionsRequest(client_software_name="reflog-tests", client_software_version="1.2.3"),
    ApiVersionsResponse(
        error_code=0,
        api_keys=[
            ApiVersion(api_key=0, min_version=0, max_version=8),
            ApiVersion(api_key=1, min_version=0, max_version=11),
        ],
        throttle_time_ms=7,
    ),
    MetadataRequest(
        topics=[MetadataRequestTopic(name="orders"), MetadataRequestTopic(name="clicks")],
        allow_auto_topic_creation=False,
        include_cluster_authorized_operations=True,
        include_topic_authorized_operations=True,
    ),
    MetadataResponse(
        throttle_time_ms=3,
        brokers=[MetadataResponseBroker(node_id=1, host="h1", port=9092, rack="r1")],
        cluster_id="cluster",
        controller_id=1,
        topics=[
            MetadataResponseTopic(
                error_code=0,
                name="orders",
                is_internal=True,
                partitions=[
                    MetadataResponsePartition(
                        error_code=0,
                        partition_index=2,
                        leader_id=1,
                        leader_epoch=4,
                        replica_nodes=[1, 2],
                        isr_nodes=[1],
                        offline_replicas=[2],
                    )
                ],
                topic_authorized_operations=5,
            )
        ],
        cluster_authorized_operations=9,
    ),
    ProduceRequest(
        transactional_id="tx",
        acks=-1,
        timeout_ms=1234,
        topic_data=[
            TopicProduceData(
                name="orders", partition_data=[PartitionProduceData(index=2, records=RECORDS)]
            )
        ],
    ),
    ProduceResponse(
        responses=[
            TopicProduceResponse(
                name="orders",
                partition_responses=[
                    PartitionProduceResponse(
                        index=2,
                        error_code=2,
                        base_offset=100,
                        log_append_time_ms=55,
                        log_start_offset=3,
                        record_errors=[
                            BatchIndexAndErrorMessage(
                                batch_index=0, batch_index_error_message="bad"
                            )
                        ],
                        error_message="oops",
                    )
                ],
            )
        ],
        throttle_time_ms=11,
    ),
    FetchRequest(
        replica_id=-1,
        max_wait_ms=500,
        min_bytes=10,
        max_bytes=1000,
        isolation_level=1,
        session_id=3,
        session_epoch=4,
        topics=[
            FetchTopic(
                topic="orders",
                partitions=[
                    FetchPartition(
                        partition=1,
                        current_leader_epoch=6,
                        fetch_offset=77,
                        log_start_offset=5,
                        partition_max_bytes=4096,
                    )
                ],
            )
        ],
        forgotten_topics_data=[ForgottenTopic(topic="old", partitions=[1, 2])],
        rack_id="rack",
    ),
    FetchResponse(
        throttle_time_ms=1,
        error_code=0,
        session_id=9,
        responses=[
            FetchableTopicResponse(
                topic="orders",
                partitions=[
                    PartitionData(
                        partition_index=1,
                        error_code=0,
                        high_watermark=80,
                        last_stable_offset=79,
                        log_start_offset=5,
                        aborted_transactions=[AbortedTransaction(producer_id=7, first_offset=70)],
                        preferred_read_replica=2,
                        records=RECORDS,
                    )
                ],
            )
        ],
    ),
    ListOffsetsRequest(
        replica_id=-1,
        isolation_level=1,
        topics=[
            ListOffsetsTopic(
                name="orders",
                partitions=[
                    ListOffsetsPartition(
                        partition_index=0, current_leader_epoch=3, timestamp=-2, max_num_offsets=2
                    )
                ],
            )
        ],
    ),
    ListOffsetsResponse(
        throttle_time_ms=2,
        topics=[
            ListOffsetsTopicResponse(
                name="orders",
                partitions=[
                    ListOffsetsPartitionResponse(
                        partition_index=0,
                        error_code=0,
                        old_style_offsets=[42],
                        timestamp=99,
                        offset=42,
                        leader_epoch=3,
                    )
                ],
            )
        ],
    ),
    CreateTopicsRequest(
        topics=[
            CreatableTopic(
                name="new",
                num_partitions=3,
                replication_factor=2,
                assignments=[CreatableReplicaAssignment(partition_index=0, broker_ids=[1, 2])],
                configs=[CreatableTopicConfig(name="cleanup.policy", value="compact")],
            )
        ],
        timeout_ms=5000,
        validate_only=True,
    ),
    CreateTopicsResponse(
        throttle_time_ms=4,
        topics=[CreatableTopicResult(name="new", error_code=36, error_message="exists")],
    ),
]
