"""Filled-in messages for the wire tests.

``SAMPLES`` holds one instance of every request and response reflog speaks with no field
left at its default (a guard test checks that), so a field that is dropped, misplaced or
read at the wrong version shows up as a difference. ``NULL_SAMPLES`` holds every nullable
field set to null, for the versions that allow it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

from reflog.records import build_batch
from reflog.wire.api_keys import ApiKey
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.create_topics import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreatableTopicConfigs,
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
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
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
from reflog.wire.messages.offset_for_leader_epoch import (
    EpochEndOffset,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
    OffsetForLeaderTopicResult,
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
from reflog.wire.schema import Message, WireStruct

from .admin_samples import ADMIN_NULL_SAMPLES, ADMIN_SAMPLES
from .group_samples import GROUP_NULL_SAMPLES, GROUP_SAMPLES
from .txn_samples import TXN_NULL_SAMPLES, TXN_SAMPLES

RECORDS = build_batch([(b"key", b"value", 1_700_000_000_000), (None, b"v2", 1_700_000_000_001)])
OTHER_RECORDS = build_batch([(b"k", b"another", 1_700_000_000_500)], base_offset=7)

SAMPLES: list[Message] = [
    ApiVersionsRequest(client_software_name="reflog-tests", client_software_version="1.2.3"),
    ApiVersionsResponse(
        error_code=35,
        api_keys=[
            ApiVersion(api_key=ApiKey.PRODUCE, min_version=0, max_version=8),
            ApiVersion(api_key=ApiKey.FETCH, min_version=2, max_version=11),
        ],
        throttle_time_ms=7,
    ),
    MetadataRequest(
        topics=[
            MetadataRequestTopic(name="orders", topic_id=uuid.UUID(int=0xA1)),
            MetadataRequestTopic(name="clicks", topic_id=uuid.UUID(int=0xB2)),
        ],
        allow_auto_topic_creation=False,
        include_cluster_authorized_operations=True,
        include_topic_authorized_operations=True,
    ),
    MetadataResponse(
        throttle_time_ms=3,
        brokers=[
            MetadataResponseBroker(node_id=1, host="h1", port=9092, rack="r1"),
            MetadataResponseBroker(node_id=2, host="h2", port=9093, rack="r2"),
        ],
        cluster_id="cluster",
        controller_id=2,
        topics=[
            MetadataResponseTopic(
                error_code=5,
                name="orders",
                topic_id=uuid.UUID("9f3c1d2e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"),
                is_internal=True,
                partitions=[
                    MetadataResponsePartition(
                        error_code=9,
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
        transactional_id="tx-1",
        acks=1,
        timeout_ms=1234,
        topic_data=[
            TopicProduceData(
                name="orders",
                partition_data=[
                    PartitionProduceData(index=2, records=RECORDS),
                    PartitionProduceData(index=3, records=OTHER_RECORDS),
                ],
            ),
            TopicProduceData(
                name="clicks", partition_data=[PartitionProduceData(index=0, records=RECORDS)]
            ),
        ],
    ),
    ProduceResponse(
        responses=[
            TopicProduceResponse(
                name="orders",
                partition_responses=[
                    PartitionProduceResponse(
                        index=2,
                        error_code=87,
                        base_offset=100,
                        log_append_time_ms=55,
                        log_start_offset=3,
                        record_errors=[
                            BatchIndexAndErrorMessage(
                                batch_index=4, batch_index_error_message="bad"
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
        replica_id=2,
        max_wait_ms=250,
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
                    ),
                    FetchPartition(
                        partition=4,
                        current_leader_epoch=7,
                        fetch_offset=78,
                        log_start_offset=6,
                        partition_max_bytes=8192,
                    ),
                ],
            )
        ],
        forgotten_topics_data=[ForgottenTopic(topic="old", partitions=[1, 2])],
        rack_id="rack-a",
    ),
    FetchResponse(
        throttle_time_ms=1,
        error_code=71,
        session_id=9,
        responses=[
            FetchableTopicResponse(
                topic="orders",
                partitions=[
                    PartitionData(
                        partition_index=1,
                        error_code=1,
                        high_watermark=80,
                        last_stable_offset=79,
                        log_start_offset=5,
                        aborted_transactions=[
                            AbortedTransaction(producer_id=7, first_offset=70),
                            AbortedTransaction(producer_id=8, first_offset=72),
                        ],
                        preferred_read_replica=2,
                        records=RECORDS,
                    ),
                    PartitionData(
                        partition_index=4,
                        error_code=0,
                        high_watermark=8,
                        last_stable_offset=8,
                        log_start_offset=0,
                        aborted_transactions=[],
                        preferred_read_replica=1,
                        records=OTHER_RECORDS,
                    ),
                ],
            )
        ],
    ),
    ListOffsetsRequest(
        replica_id=3,
        isolation_level=1,
        topics=[
            ListOffsetsTopic(
                name="orders",
                partitions=[
                    ListOffsetsPartition(
                        partition_index=0, current_leader_epoch=3, timestamp=-2, max_num_offsets=2
                    ),
                    ListOffsetsPartition(
                        partition_index=1,
                        current_leader_epoch=4,
                        timestamp=1_700_000_000_000,
                        max_num_offsets=5,
                    ),
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
                        error_code=78,
                        old_style_offsets=[42, 40],
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
                assignments=[
                    CreatableReplicaAssignment(partition_index=0, broker_ids=[1, 2]),
                    CreatableReplicaAssignment(partition_index=1, broker_ids=[2, 3]),
                ],
                configs=[
                    CreatableTopicConfig(name="cleanup.policy", value="compact"),
                    CreatableTopicConfig(name="retention.ms", value="1000"),
                ],
            )
        ],
        timeout_ms=5000,
        validate_only=True,
    ),
    CreateTopicsResponse(
        throttle_time_ms=4,
        topics=[
            CreatableTopicResult(
                name="new",
                topic_id=uuid.UUID(int=0x0B),
                error_code=36,
                error_message="exists",
                num_partitions=1,
                replication_factor=1,
                configs=[],
            ),
            CreatableTopicResult(
                name="other",
                topic_id=uuid.UUID(int=0x0C),
                error_code=41,
                error_message="fine",
                num_partitions=3,
                replication_factor=2,
                configs=[
                    CreatableTopicConfigs(
                        name="retention.ms",
                        value="1000",
                        read_only=True,
                        config_source=1,
                        is_sensitive=True,
                    ),
                    CreatableTopicConfigs(
                        name="cleanup.policy",
                        value=None,
                        read_only=False,
                        config_source=5,
                        is_sensitive=True,
                    ),
                ],
            ),
        ],
    ),
    OffsetForLeaderEpochRequest(
        replica_id=2,
        topics=[
            OffsetForLeaderTopic(
                topic="orders",
                partitions=[
                    OffsetForLeaderPartition(partition=1, current_leader_epoch=4, leader_epoch=3)
                ],
            )
        ],
    ),
    OffsetForLeaderEpochResponse(
        throttle_time_ms=6,
        topics=[
            OffsetForLeaderTopicResult(
                topic="orders",
                partitions=[
                    EpochEndOffset(error_code=0, partition=1, leader_epoch=3, end_offset=99)
                ],
            )
        ],
    ),
    InitProducerIdRequest(
        transactional_id="txn-1", transaction_timeout_ms=60_000, producer_id=4001, producer_epoch=3
    ),
    InitProducerIdResponse(
        throttle_time_ms=8, error_code=15, producer_id=1_000_000_000_123, producer_epoch=2
    ),
]
SAMPLES += ADMIN_SAMPLES

# Every nullable field set to null. Each applies only to the versions where all its nulls
# are allowed (see ``null_allowed``); the others must refuse to encode.
NULL_SAMPLES: list[Message] = [
    MetadataRequest(topics=None),
    MetadataRequest(topics=[MetadataRequestTopic(name=None, topic_id=uuid.UUID(int=7))]),
    MetadataResponse(
        brokers=[MetadataResponseBroker(node_id=1, host="h", port=1, rack=None)],
        cluster_id=None,
    ),
    MetadataResponse(
        topics=[MetadataResponseTopic(error_code=100, name=None, topic_id=uuid.UUID(int=7))]
    ),
    ProduceRequest(
        transactional_id=None,
        topic_data=[
            TopicProduceData(name="t", partition_data=[PartitionProduceData(index=0, records=None)])
        ],
    ),
    ProduceResponse(
        responses=[
            TopicProduceResponse(
                name="t",
                partition_responses=[
                    PartitionProduceResponse(
                        index=0,
                        error_code=0,
                        record_errors=[
                            BatchIndexAndErrorMessage(batch_index=0, batch_index_error_message=None)
                        ],
                        error_message=None,
                    )
                ],
            )
        ]
    ),
    FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="t",
                partitions=[
                    PartitionData(
                        partition_index=0, error_code=0, aborted_transactions=None, records=None
                    )
                ],
            )
        ]
    ),
    CreateTopicsRequest(
        topics=[CreatableTopic(name="t", configs=[CreatableTopicConfig(name="c", value=None)])]
    ),
    CreateTopicsResponse(topics=[CreatableTopicResult(name="t", error_code=0, error_message=None)]),
    InitProducerIdRequest(
        transactional_id=None, transaction_timeout_ms=1, producer_id=1, producer_epoch=1
    ),
]
NULL_SAMPLES += ADMIN_NULL_SAMPLES


SAMPLES += GROUP_SAMPLES
NULL_SAMPLES += GROUP_NULL_SAMPLES
SAMPLES += TXN_SAMPLES
NULL_SAMPLES += TXN_NULL_SAMPLES


def versions_of(message: Message) -> range:
    cls = type(message)
    return range(cls.MIN_VERSION, cls.MAX_VERSION + 1)


def struct_fields(value: WireStruct, version: int) -> Iterator[tuple[WireStruct, str]]:
    """Every (struct, field name) present in ``version``, nested structs included."""
    for f in dataclasses.fields(value):
        if version not in f.metadata["wire"].versions:
            continue
        yield value, f.name
        field_value = getattr(value, f.name)
        items = field_value if isinstance(field_value, list) else [field_value]
        for item in items:
            if isinstance(item, WireStruct):
                yield from struct_fields(item, version)


def null_allowed(message: Message, version: int) -> bool:
    """Whether every null in ``message`` lies in a field that ``version`` lets be null."""
    for struct, name in struct_fields(message, version):
        f = next(f for f in dataclasses.fields(struct) if f.name == name)
        if getattr(struct, name) is None and version not in f.metadata["wire"].nullable:
            return False
    return True


def project(value: object, version: int) -> object:
    """What survives a trip through ``version``: fields the version lacks take their default."""
    if isinstance(value, list):
        return [project(v, version) for v in value]
    if not isinstance(value, WireStruct):
        return value
    changes: dict[str, object] = {}
    for f in dataclasses.fields(value):
        if version in f.metadata["wire"].versions:
            changes[f.name] = project(getattr(value, f.name), version)
        elif f.default is not dataclasses.MISSING:
            changes[f.name] = f.default
        else:
            assert f.default_factory is not dataclasses.MISSING, f.name
            changes[f.name] = f.default_factory()
    return dataclasses.replace(value, **changes)
