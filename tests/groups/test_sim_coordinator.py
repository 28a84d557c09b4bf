"""The group coordinator in the simulated cluster: one broker coordinates each group, the
others send clients to it, and when it crashes another broker loads the group's committed
offsets from its replica of __consumer_offsets."""

from __future__ import annotations

from reflog.groups.config import GroupConfig
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.sim import Cluster
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
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
