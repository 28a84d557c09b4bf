"""A consumer group on a 3-broker `reflog cluster up` survives its coordinator's death.

Three confluent-kafka members with `cooperative-sticky` consume while the broker that
coordinates their group (the leader of the group's __consumer_offsets partition) is killed
with SIGKILL and later started again: another broker becomes that partition's leader,
loads the group's offsets from its replica of the log, and the members find it and carry
on. Every record is consumed; after the failover the members again split the partitions.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
)
from tests.cluster_process import running_cluster, wait_for
from tests.net.wire_client import WireClient

from .group_members import Member, confluent_member

pytestmark = pytest.mark.clients

FAST = (
    "--broker-session-timeout-ms", "3000",
    "--broker-heartbeat-interval-ms", "300",
    "--election-timeout-ms", "300",
    "--num-partitions", "6",
    "--offsets-topic-num-partitions", "5",
)  # fmt: skip
TOPIC = "orders"
GROUP = "orders-group"
PARTITIONS = 6


def coordinator_of(bootstrap: str, group: str) -> int | None:
    """The group's coordinator, as the first live broker in ``bootstrap`` names it."""
    for address in bootstrap.split(","):
        try:
            client = WireClient(address, timeout=5)
            response = client.call(FindCoordinatorRequest(key=group))
            client.close()
        except OSError:
            continue  # that broker is down: ask the next
        assert isinstance(response, FindCoordinatorResponse)
        return response.node_id if response.error_code == 0 else None
    return None


def committed(bootstrap: str, group: str) -> list[int] | None:
    """The group's committed offsets of every partition, from its coordinator."""
    for address in bootstrap.split(","):
        try:
            client = WireClient(address, timeout=5)
            found = client.call(FindCoordinatorRequest(key=group))
            client.close()
            assert isinstance(found, FindCoordinatorResponse)
            if found.error_code != 0:
                return None
            client = WireClient(f"{found.host}:{found.port}", timeout=5)
            request = OffsetFetchRequest(
                group_id=group,
                topics=[OffsetFetchRequestTopic(TOPIC, list(range(PARTITIONS)))],
            )
            response = client.call(request)
            client.close()
        except OSError:
            continue
        assert isinstance(response, OffsetFetchResponse)
        if response.error_code != 0:
            return None
        return [p.committed_offset for p in response.topics[0].partitions]
    return None


def produce(bootstrap: str, prefix: str, count: int = 60) -> set[bytes]:
    import confluent_kafka

    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    values = {b"%s-%d" % (prefix.encode(), i) for i in range(count)}
    for i, value in enumerate(sorted(values)):
        producer.produce(TOPIC, value=value, partition=i % PARTITIONS)
    assert producer.flush(60) == 0
    return values


def read(members: list[Member]) -> set[bytes]:
    return {value for m in members for _, _, value in m.snapshot()[0]}


def split(members: list[Member]) -> bool:
    owned = [m.snapshot()[1] for m in members]
    return all(owned) and sorted(p for o in owned for p in o) == list(range(PARTITIONS))


def test_a_cooperative_group_survives_its_coordinators_broker_killed_and_restarted(
    tmp_path: Path,
) -> None:
    if importlib.util.find_spec("confluent_kafka") is None:
        pytest.fail("confluent-kafka is not installed: this test must run with it")
    from confluent_kafka.admin import AdminClient, NewTopic

    with running_cluster(tmp_path, 3, 3, *FAST) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)])[TOPIC].result(timeout=30)
        members = [
            confluent_member(f"m{i}", cluster.bootstrap, GROUP, TOPIC, "cooperative-sticky")
            for i in range(3)
        ]
        try:
            wait_for(lambda: split(members), 60, "three members to split the partitions")
            first = produce(cluster.bootstrap, "a")
            wait_for(lambda: first <= read(members), 60, "the first records read")

            coordinator = coordinator_of(cluster.bootstrap, GROUP)
            assert coordinator is not None
            cluster.kill(f"broker-{coordinator}")
            second = produce(cluster.bootstrap, "b")
            wait_for(lambda: second <= read(members), 90, "the records sent after the kill")
            wait_for(
                lambda: coordinator_of(cluster.bootstrap, GROUP) not in (None, coordinator),
                30,
                "another broker to coordinate the group",
            )

            cluster.restart(f"broker-{coordinator}")
            wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 60, "it rejoined")
            third = produce(cluster.bootstrap, "c")
            wait_for(lambda: third <= read(members), 90, "the records sent after the restart")
            wait_for(lambda: split(members), 60, "the members to split the partitions again")
            # 180 records over 6 partitions: the last commits reached the new coordinator.
            wait_for(
                lambda: committed(cluster.bootstrap, GROUP) == [30] * PARTITIONS,
                60,
                "every offset committed",
            )
            for m in members:
                assert m.failure is None, f"{m.name}: {m.failure!r}"
        finally:
            for m in members:
                m.leave()
