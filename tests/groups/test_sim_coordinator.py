"""The group coordinator in the simulated cluster: one broker coordinates each group, the
others send clients to it, and when it crashes another broker loads the group's committed
offsets from its replica of __consumer_offsets."""

from __future__ import annotations

from reflog.groups.config import GroupConfig
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.groups.records import GroupMetadataKey, GroupMetadataValue, decode_value
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    JoinGroupResponse,
)
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
from reflog.wire.messages.sync_group import (
    SyncGroupRequest,
    SyncGroupRequestAssignment,
    SyncGroupResponse,
)

GROUP = "billing"
OFFSETS_PARTITIONS = 3


def cluster() -> Cluster:
    c = Cluster(
        seed=5,
        brokers=3,
        groups=GroupConfig(offsets_topic_num_partitions=OFFSETS_PARTITIONS),
    )
    c.create_topic("orders", partitions=2)
    return c


def find_coordinator(c: Cluster, ask: int) -> FindCoordinatorResponse:
    response = c.request(ask, FindCoordinatorRequest(key=GROUP), version=2)
    assert isinstance(response, FindCoordinatorResponse)
    return response


def wait_for_coordinator(c: Cluster, ask: int, not_: int | None = None) -> int:
    found: list[int] = []

    def known() -> bool:
        response = find_coordinator(c, ask)
        if response.error_code == ErrorCode.NONE and response.node_id != not_:
            found.append(response.node_id)
            return True
        c.run_for(50)
        return False

    for _ in range(100):
        if known():
            return found[0]
    raise AssertionError("no coordinator found")


def commit(c: Cluster, broker: int, offset: int) -> int:
    request = OffsetCommitRequest(
        group_id=GROUP,
        topics=[
            OffsetCommitRequestTopic(
                name="orders",
                partitions=[
                    OffsetCommitRequestPartition(partition_index=0, committed_offset=offset)
                ],
            )
        ],
    )
    response = c.request(broker, request, version=7)
    assert isinstance(response, OffsetCommitResponse)
    return response.topics[0].partitions[0].error_code


def fetch(c: Cluster, broker: int) -> OffsetFetchResponse:
    request = OffsetFetchRequest(
        group_id=GROUP, topics=[OffsetFetchRequestTopic(name="orders", partition_indexes=[0])]
    )
    response = c.request(broker, request, version=5)
    assert isinstance(response, OffsetFetchResponse)
    return response


def test_the_coordinator_is_the_leader_of_the_groups_offsets_partition() -> None:
    c = cluster()
    first = find_coordinator(c, 1)
    assert first.error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE  # the topic is being made
    coordinator = wait_for_coordinator(c, 1)
    assert coordinator == c.leader_of(OFFSETS_TOPIC, partition_for(GROUP, OFFSETS_PARTITIONS))
    assert len(c.partitions_of(OFFSETS_TOPIC)) == OFFSETS_PARTITIONS
    other = next(b for b in (1, 2, 3) if b != coordinator)
    assert commit(c, other, 5) == ErrorCode.NOT_COORDINATOR
    assert fetch(c, other).error_code == ErrorCode.NOT_COORDINATOR


def test_committed_offsets_survive_the_coordinators_crash() -> None:
    c = cluster()
    coordinator = wait_for_coordinator(c, 1)
    assert commit(c, coordinator, 42) == ErrorCode.NONE  # acks=all: on every ISR replica
    c.crash(f"broker-{coordinator}")
    survivor = next(b for b in (1, 2, 3) if b != coordinator)
    successor = wait_for_coordinator(c, survivor, not_=coordinator)
    answers = []
    for _ in range(100):
        response = fetch(c, successor)
        answers.append(response.error_code)
        if response.error_code == ErrorCode.NONE:
            break
        c.run_for(10)
    assert answers[-1] == ErrorCode.NONE
    assert set(answers) <= {ErrorCode.NONE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS}
    assert response.topics[0].partitions[0].committed_offset == 42
    assert commit(c, successor, 43) == ErrorCode.NONE
    assert fetch(c, successor).topics[0].partitions[0].committed_offset == 43


def test_a_commit_larger_than_an_offsets_segment_is_invalid_commit_offset_size() -> None:
    # The broker refuses the append (RECORD_LIST_TOO_LARGE: over the partition's
    # segment.bytes), and the coordinator answers as Kafka's GroupMetadataManager does.
    c = cluster()
    coordinator = wait_for_coordinator(c, 1)
    c.alter_config(OFFSETS_TOPIC, {"segment.bytes": "100"})  # less than one commit's batch
    before = c.log_end_offsets(OFFSETS_TOPIC)
    assert commit(c, coordinator, 42) == ErrorCode.INVALID_COMMIT_OFFSET_SIZE
    assert c.log_end_offsets(OFFSETS_TOPIC) == before  # nothing written
    assert fetch(c, coordinator).topics[0].partitions[0].committed_offset == -1


def test_sync_group_is_answered_once_every_in_sync_replica_has_the_assignment() -> None:
    c = cluster()
    coordinator = wait_for_coordinator(c, 1)
    join = JoinGroupRequest(
        group_id=GROUP,
        session_timeout_ms=10_000,
        rebalance_timeout_ms=10_000,
        protocol_type="consumer",
        protocols=[JoinGroupRequestProtocol(name="range", metadata=b"sub")],
    )
    joined = c.request(coordinator, join, version=3, timeout_ms=10_000)
    assert isinstance(joined, JoinGroupResponse) and joined.error_code == ErrorCode.NONE
    sync = SyncGroupRequest(
        group_id=GROUP,
        generation_id=joined.generation_id,
        member_id=joined.member_id,
        assignments=[SyncGroupRequestAssignment(member_id=joined.member_id, assignment=b"all")],
    )
    # Slow links to the followers: an answer that did not wait for them would come first.
    for follower in (b for b in (1, 2, 3) if b != coordinator):
        c.slow(f"broker-{coordinator}", f"broker-{follower}", 200)
    synced = c.request(coordinator, sync, version=3)
    assert isinstance(synced, SyncGroupResponse) and synced.assignment == b"all"
    tp = TopicPartition(OFFSETS_TOPIC, partition_for(GROUP, OFFSETS_PARTITIONS))
    isr = c.image().partition(tp).isr  # type: ignore[union-attr]
    assert len(isr) == 3
    for broker in isr:
        [(_, value)] = c.records(broker, tp)[-1:]
        assert value is not None
        stored = decode_value(GroupMetadataKey(GROUP), value)
        assert isinstance(stored, GroupMetadataValue)
        assert stored.generation == joined.generation_id
        assert [m.assignment for m in stored.members] == [b"all"]
