"""A reassignment across real processes, with brokers killed in the middle of it.

`reflog cluster up` runs a controller and 4 brokers; a topic with 3 replicas and
min.insync.replicas=2 takes acks=all writes from confluent-kafka all along. kafka-python asks
to move the partition off its leader onto the fourth broker; at once the newcomer and the
old leader are killed with SIGKILL. The reassignment waits (the newcomer cannot catch up while
it is dead) while the two remaining replicas keep taking writes; once both brokers are
started again, the newcomer catches up, the old leader's copy is deleted, and a preferred
election hands the newcomer (first in the target) the leadership. Afterwards every
acknowledged record is read back at its offset, and the three replicas' logs are the same
bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka import (
    Consumer,
    ElectionType,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient
from kafka.structs import TopicPartition as KafkaTP

from reflog.wire.messages.partition_admin import (
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
)
from tests.cluster_process import ClusterProcess, running_cluster, wait_for
from tests.net.wire_client import WireClient

FAST = (
    "--broker-session-timeout-ms", "2000",
    "--broker-heartbeat-interval-ms", "200",
    "--election-timeout-ms", "300",
)  # fmt: skip
TOPIC = "moving"


def replicas_leader_isr(admin: AdminClient) -> tuple[list[int], int, list[int]]:
    """The partition's replicas, leader and ISR as Metadata reports them."""
    topic = admin.list_topics(TOPIC, timeout=5).topics.get(TOPIC)
    partition = None if topic is None else topic.partitions.get(0)
    if partition is None:
        return [], -1, []
    return list(partition.replicas), partition.leader, list(partition.isrs)


def replica_log(cluster: ClusterProcess, broker: int) -> bytes | None:
    """The bytes of a broker's copy of the partition, its segments in order; None if it has
    none."""
    directory = cluster.data_dir / f"broker-{broker}" / f"{TOPIC}-0"
    if not directory.is_dir():
        return None
    try:
        return b"".join(p.read_bytes() for p in sorted(directory.glob("*.log")))
    except FileNotFoundError:
        return None  # deleted as we read it


def adding_replicas(cluster: ClusterProcess, via: int) -> list[int] | None:
    """The replicas the ongoing reassignment adds, as broker ``via`` lists it (None: no
    reassignment). Asked of one broker that stays up: kafka-python sends it to the broker
    it takes for the controller, which may be one this test kills."""
    address = cluster.bootstrap.split(",")[via - 1]  # brokers listen in id order
    client = WireClient(address)
    try:
        answer = client.call(ListPartitionReassignmentsRequest())
    finally:
        client.close()
    assert isinstance(answer, ListPartitionReassignmentsResponse)
    for topic in answer.topics:
        for partition in topic.partitions:
            if topic.name == TOPIC and partition.partition_index == 0:
                return partition.adding_replicas
    return None


class AcksAllProducer:
    """confluent-kafka writing numbered records with acks=all, keeping what was acknowledged."""

    def __init__(self, bootstrap: str) -> None:
        self.acknowledged: dict[int, bytes] = {}
        self.failures: list[str] = []
        self.sent = 0
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": 60_000,
                "topic.metadata.refresh.interval.ms": 500,
            }
        )

    def delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.failures.append(str(error))
            return
        offset, value = message.offset(), message.value()
        assert offset not in self.acknowledged, f"offset {offset} acknowledged twice"
        assert isinstance(value, bytes)
        self.acknowledged[offset] = value

    def produce_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            value = b"record-%d" % self.sent
            self.producer.produce(TOPIC, value, partition=0, on_delivery=self.delivered)
            self.sent += 1
            self.producer.poll(0.01)

    def producing_until(self, condition: object, timeout: float, what: str) -> None:
        """Keep writing while waiting for ``condition`` (a callable), up to ``timeout`` s."""
        assert callable(condition)

        def written_and_checked() -> bool:
            self.produce_for(0.1)
            return bool(condition())

        wait_for(written_and_checked, timeout, what)


def read_back(bootstrap: str, last: int) -> dict[int, bytes]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "checker", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    read: list[tuple[int, bytes]] = []

    def caught_up() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            value = message.value()
            assert isinstance(value, bytes)
            read.append((message.offset(), value))
        return bool(read) and read[-1][0] >= last

    try:
        wait_for(caught_up, 60, f"the consumer to read up to offset {last}")
    finally:
        consumer.close()
    offsets = [offset for offset, _ in read]
    assert offsets == sorted(set(offsets)), "offsets out of order or repeated"
    return dict(read)


def test_a_reassignment_survives_the_newcomer_and_the_old_leader_killed_during_it(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path, 4, 1, *FAST) as cluster:
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 4, 30, "4 live brokers")
        topic = NewTopic(TOPIC, 1, 3, config={"min.insync.replicas": "2"})
        admin.create_topics([topic])[TOPIC].result(timeout=30)
        wait_for(lambda: len(replicas_leader_isr(admin)[2]) == 3, 30, "3 in-sync replicas")
        old, leader, _ = replicas_leader_isr(admin)
        (newcomer,) = {1, 2, 3, 4} - set(old)
        target = [newcomer] + [r for r in old if r != leader]

        writer = AcksAllProducer(cluster.bootstrap)
        writer.produce_for(3.0)  # enough for the newcomer to have something to copy
        kadmin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        try:
            answer = kadmin.alter_partition_reassignments({KafkaTP(TOPIC, 0): target})
        finally:
            kadmin.close()
        assert answer == {KafkaTP(TOPIC, 0): None}
        cluster.kill(f"broker-{newcomer}")
        cluster.kill(f"broker-{leader}")

        # While the newcomer is dead it cannot join the ISR: the move waits, listed as
        # ongoing, and the two replicas left take the writes.
        survivor = target[1]
        wait_for(lambda: adding_replicas(cluster, survivor) == [newcomer], 15, "it listed")
        writer.producing_until(
            lambda: replicas_leader_isr(admin)[1] not in (leader, newcomer, -1),
            30,
            "a new leader among the replicas left",
        )
        writer.produce_for(2.0)
        assert adding_replicas(cluster, survivor) == [newcomer]  # still waiting for it

        cluster.restart(f"broker-{newcomer}")
        cluster.restart(f"broker-{leader}")
        writer.producing_until(
            lambda: replicas_leader_isr(admin)[0] == target,
            60,
            "the reassignment to complete after the brokers came back",
        )
        # The leader the kill made is in the target, so, as in Kafka, it keeps leading
        # until a preferred election gives the partition to the newcomer, first in line.
        assert replicas_leader_isr(admin)[1] in target
        election = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(TOPIC, 0)])
        assert election.result(15) == {TopicPartition(TOPIC, 0): None}
        writer.producing_until(
            lambda: replicas_leader_isr(admin)[1] == newcomer, 30, "the newcomer to lead"
        )
        wait_for(lambda: adding_replicas(cluster, survivor) is None, 15, "none ongoing")
        wait_for(lambda: replica_log(cluster, leader) is None, 30, "the old leader's copy gone")
        assert writer.producer.flush(60) == 0
        assert writer.acknowledged, f"nothing acknowledged; failures: {writer.failures[:3]}"

        # The followers fetch up to the leader's end: then the three copies are the same bytes.
        wait_for(
            lambda: len({replica_log(cluster, b) for b in target}) == 1,
            30,
            "the three replicas' logs to be byte-identical",
        )
        newcomer_log = replica_log(cluster, newcomer)
        assert newcomer_log  # not empty: it copied everything, not nothing

        at = read_back(cluster.bootstrap, max(writer.acknowledged))
        lost = {o: v for o, v in writer.acknowledged.items() if at.get(o) != v}
        assert not lost, f"{len(lost)} acknowledged records lost, e.g. {list(lost.items())[:3]}"
        print(f"{len(writer.acknowledged)} of {writer.sent} records acknowledged, all read back")
