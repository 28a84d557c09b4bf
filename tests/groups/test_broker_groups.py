"""A lone broker coordinates groups: __consumer_offsets created on first use, offsets
committed as Kafka's records, and loaded back by the broker that leads the partition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.config import BrokerConfig
from reflog.groups.config import GroupConfig
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.groups.records import OffsetCommitKey, OffsetCommitValue, decode_key, decode_value
from reflog.records.batch import iter_batches
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from reflog.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetCommitResponse,
)
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
)
from reflog.wire.messages.sync_group import SyncGroupRequest, SyncGroupRequestAssignment
from reflog.wire.schema import Response
from tests.broker.conftest import Client, LoneBroker

GROUP = "audit"
PARTITIONS = 5


@pytest.fixture
def lone(tmp_path: Path) -> Iterator[LoneBroker]:
    config = BrokerConfig(
        node_id=0,
        log_dir=tmp_path / "logs",
        num_partitions=2,
        groups=GroupConfig(
            offsets_topic_num_partitions=PARTITIONS, group_initial_rebalance_delay_ms=0
        ),
    )
    b = LoneBroker(config)
    yield b
    b.broker.close()


def one(responses: list, cls: type) -> Response:  # type: ignore[type-arg]
    [respond] = responses
    assert isinstance(respond.response, cls), respond.response
    return respond.response


def find_coordinator(client: Client, now_ms: int = 0) -> FindCoordinatorResponse:
    response = one(client.send(FindCoordinatorRequest(key=GROUP), now_ms), FindCoordinatorResponse)
    assert isinstance(response, FindCoordinatorResponse)
    return response


def commit(
    client: Client, offset: int, now_ms: int = 0, topic: str = "orders"
) -> OffsetCommitResponse:
    request = OffsetCommitRequest(
        group_id=GROUP,
        topics=[
            OffsetCommitRequestTopic(
                name=topic,
                partitions=[
                    OffsetCommitRequestPartition(
                        partition_index=1, committed_offset=offset, committed_metadata="m"
                    )
                ],
            )
        ],
    )
    response = one(client.send(request, now_ms), OffsetCommitResponse)
    assert isinstance(response, OffsetCommitResponse)
    return response


def fetch(client: Client, now_ms: int = 0) -> OffsetFetchResponse:
    request = OffsetFetchRequest(
        group_id=GROUP, topics=[OffsetFetchRequestTopic(name="orders", partition_indexes=[0, 1])]
    )
    response = one(client.send(request, now_ms), OffsetFetchResponse)
    assert isinstance(response, OffsetFetchResponse)
    return response


def test_the_offsets_topic_is_created_compacted_on_the_first_find_coordinator(
    lone: LoneBroker,
) -> None:
    client = Client(lone)
    first = find_coordinator(client)
    assert first.error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
    topic = lone.broker.image.topics[OFFSETS_TOPIC]
    assert len(topic.partitions) == PARTITIONS
    assert topic.configs["cleanup.policy"] == "compact"
    lone.broker.tick(1)  # the new leader loads its (empty) partitions
    second = find_coordinator(client, 1)
    assert (second.error_code, second.node_id, second.port) == (0, 0, lone.config.port)


def test_a_group_lives_on_the_partition_of_its_java_hash(lone: LoneBroker) -> None:
    client = Client(lone)
    find_coordinator(client)
    client.send(MetadataRequest(topics=[MetadataRequestTopic(name="orders")]))
    lone.broker.tick(1)
    assert commit(client, 41, 1).topics[0].partitions[0].error_code == ErrorCode.NONE
    assert commit(client, 42, 2).topics[0].partitions[0].error_code == ErrorCode.NONE
    tp = TopicPartition(OFFSETS_TOPIC, partition_for(GROUP, PARTITIONS))
    log_ = lone.broker.logs.get(tp)
    assert log_ is not None and log_.log_end_offset == 2
    read = log_.read(0, 1 << 20)
    assert read.records is not None
    [last] = list(iter_batches(read.records.read()))[-1].records()
    assert last.key is not None and last.value is not None
    key = decode_key(last.key)
    assert key == OffsetCommitKey(group=GROUP, topic="orders", partition=1)
    value = decode_value(key, last.value)
    assert isinstance(value, OffsetCommitValue)
    assert (value.offset, value.metadata, value.commit_timestamp) == (42, "m", 2)


def test_offset_fetch_answers_minus_one_for_what_was_never_committed(lone: LoneBroker) -> None:
    client = Client(lone)
    find_coordinator(client)
    client.send(MetadataRequest(topics=[MetadataRequestTopic(name="orders")]))
    lone.broker.tick(1)
    commit(client, 7, 1)
    partitions = fetch(client, 2).topics[0].partitions
    assert [(p.partition_index, p.committed_offset, p.metadata) for p in partitions] == [
        (0, -1, ""),
        (1, 7, "m"),
    ]


def test_a_commit_for_an_unknown_topic_is_refused_per_partition(lone: LoneBroker) -> None:
    client = Client(lone)
    find_coordinator(client)
    lone.broker.tick(1)
    error = commit(client, 7, 1, topic="nowhere").topics[0].partitions[0].error_code
    assert error == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_a_restarted_broker_loads_offsets_and_answers_load_in_progress_meanwhile(
    lone: LoneBroker,
) -> None:
    client = Client(lone)
    find_coordinator(client)
    client.send(MetadataRequest(topics=[MetadataRequestTopic(name="orders")]))
    lone.broker.tick(1)
    commit(client, 99, 1)
    lone.restart(10)
    client = Client(lone)
    assert fetch(client, 10).error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    assert lone.broker.next_deadline_ms() <= 10
    lone.broker.tick(11)
    assert fetch(client, 11).topics[0].partitions[1].committed_offset == 99


def test_a_group_rebalanced_through_the_broker_is_loaded_back_stable(lone: LoneBroker) -> None:
    client = Client(lone)
    find_coordinator(client)
    lone.broker.tick(1)
    join = JoinGroupRequest(
        group_id=GROUP,
        session_timeout_ms=10_000,
        rebalance_timeout_ms=10_000,
        protocol_type="consumer",
        protocols=[JoinGroupRequestProtocol(name="range", metadata=b"sub")],
    )
    [joined] = client.send(join, 1, version=3)  # no MEMBER_ID_REQUIRED step before v4
    assert joined.response.error_code == ErrorCode.NONE  # type: ignore[union-attr]
    member = joined.response.member_id  # type: ignore[union-attr]
    sync = SyncGroupRequest(
        group_id=GROUP,
        generation_id=1,
        member_id=member,
        assignments=[SyncGroupRequestAssignment(member_id=member, assignment=b"all")],
    )
    [synced] = client.send(sync, 2)
    assert synced.response.assignment == b"all"  # type: ignore[union-attr]
    lone.restart(3)
    lone.broker.tick(3)
    group = lone.broker.groups.coordinator.groups[GROUP]
    assert (group.state.value, group.generation_id, list(group.members)) == (
        "Stable",
        1,
        [member],
    )
    assert group.members[member].assignment == b"all"


def test_metadata_auto_creates_the_offsets_topic_as_the_coordinator_would(
    lone: LoneBroker,
) -> None:
    Client(lone).send(MetadataRequest(topics=[MetadataRequestTopic(name=OFFSETS_TOPIC)]))
    topic = lone.broker.image.topics[OFFSETS_TOPIC]
    assert len(topic.partitions) == PARTITIONS
    assert topic.configs["cleanup.policy"] == "compact"


def test_an_empty_group_id_is_refused_invalid_group_id(lone: LoneBroker) -> None:
    client = Client(lone)
    find_coordinator(client)
    lone.broker.tick(1)
    response = one(
        client.send(OffsetFetchRequest(group_id="", topics=None), 1), OffsetFetchResponse
    )
    assert isinstance(response, OffsetFetchResponse)
    assert response.error_code == ErrorCode.INVALID_GROUP_ID
    found = one(client.send(FindCoordinatorRequest(key=""), 1), FindCoordinatorResponse)
    assert isinstance(found, FindCoordinatorResponse)
    assert found.error_code == ErrorCode.INVALID_GROUP_ID
