"""Replication across real processes: confluent-kafka with acks=all while leaders die.

`reflog cluster up` runs 3 controllers and 3 brokers. confluent-kafka produces with acks=all to
a topic with 3 replicas and min.insync.replicas=2 while the partition's leader is killed with
SIGKILL, three times, and started again each time. Afterwards a consumer reads the partition
back: every record the producer saw acknowledged is at its acknowledged offset, once, in order.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import running_cluster, wait_for

FAST = (
    "--broker-session-timeout-ms", "2000",
    "--broker-heartbeat-interval-ms", "200",
    "--election-timeout-ms", "300",
)  # fmt: skip
TOPIC = "durable"


def leader_and_isr(admin: AdminClient) -> tuple[int, list[int]]:
    """The partition's leader and ISR as Metadata reports them; (-1, []) while unknown."""
    topic = admin.list_topics(TOPIC, timeout=5).topics.get(TOPIC)
    partition = None if topic is None else topic.partitions.get(0)
    if partition is None:
        return -1, []
    return partition.leader, list(partition.isrs)


# What a CreateTopics while the cluster is still forming may meet: the caller tries again.
NOT_YET = (KafkaException, TimeoutError)


def create_topic(admin: AdminClient) -> bool:
    topic = NewTopic(TOPIC, 1, 3, config={"min.insync.replicas": "2"})
    try:
        admin.create_topics([topic])[TOPIC].result(timeout=15)
    except KafkaException as error:
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
        # An earlier try's answer was lost, not its topic.
    return True


def test_acks_all_records_survive_killing_the_leader_three_times(tmp_path: Path) -> None:
    with running_cluster(tmp_path, 3, 3, *FAST) as cluster:
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        wait_for(lambda: create_topic(admin), 30, "the topic to be created", NOT_YET)
        wait_for(lambda: len(leader_and_isr(admin)[1]) == 3, 30, "3 in-sync replicas")

        # kcat sees what Kafka would show: the leader, the replicas and the ISR. (It may ask a
        # broker that has not applied the topic yet: metadata reaches brokers one by one.)
        def kcat_shows_the_isr() -> bool:
            listing = subprocess.run(
                ["kcat", "-b", cluster.bootstrap, "-L", "-t", TOPIC],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            shown = r"partition 0, leader [123], replicas: \d,\d,\d, isrs: \d,\d,\d"
            return re.search(shown, listing) is not None

        wait_for(kcat_shows_the_isr, 30, "kcat -L to show the leader, replicas and ISR")

        acknowledged: dict[int, bytes] = {}
        failures: list[str] = []

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(str(error))
                return
            offset, value = message.offset(), message.value()
            assert offset not in acknowledged, f"offset {offset} acknowledged twice"
            assert isinstance(value, bytes)
            acknowledged[offset] = value

        producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": 60_000,
                "topic.metadata.refresh.interval.ms": 500,
            }
        )
        sent = 0

        def produce_for(seconds: float) -> None:
            nonlocal sent
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                producer.produce(TOPIC, b"record-%d" % sent, partition=0, on_delivery=delivered)
                sent += 1
                producer.poll(0.01)

        produce_for(1.0)
        for _ in range(3):
            leader, _isr = leader_and_isr(admin)
            cluster.kill(f"broker-{leader}")
            produce_for(0.5)
            wait_for(
                lambda old=leader: leader_and_isr(admin)[0] not in (old, -1), 30, "a new leader"
            )
            produce_for(1.0)
            cluster.restart(f"broker-{leader}")
            wait_for(lambda: len(leader_and_isr(admin)[1]) == 3, 60, "the old leader back in sync")
            produce_for(0.5)
        assert producer.flush(60) == 0
        assert acknowledged, f"nothing acknowledged; failures: {failures[:3]}"

        consumer = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": "checker",
                "enable.auto.commit": False,
            }
        )
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        read: list[tuple[int, bytes]] = []
        last = max(acknowledged)
        deadline = time.monotonic() + 60
        while (not read or read[-1][0] < last) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error() is not None:
                continue
            value = message.value()
            assert isinstance(value, bytes)
            read.append((message.offset(), value))
        consumer.close()
        offsets = [offset for offset, _ in read]
        assert offsets == sorted(set(offsets)), "offsets out of order or repeated"
        at = dict(read)
        lost = {o: v for o, v in acknowledged.items() if at.get(o) != v}
        assert not lost, f"{len(lost)} acknowledged records lost, e.g. {list(lost.items())[:3]}"
        print(f"{len(acknowledged)} of {sent} records acknowledged; all read back in order")
