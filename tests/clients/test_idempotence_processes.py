"""Idempotent produce across real processes: confluent-kafka with enable.idempotence while
partition leaders die.

`reflog cluster up` runs 3 controllers and 3 brokers. confluent-kafka produces keyed records
with ``enable.idempotence=true`` and ``acks=all`` to a topic of 3 partitions, 3 replicas each,
while the leader of one partition after another is killed with SIGKILL and started again.
Retries after a lost answer are what idempotence is for: the new leader must recognise
batches the old one already took. Afterwards every acknowledged record is in the log at its
acknowledged offset, no record is there twice, and each partition holds its records in the
order they were sent.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import running_cluster, wait_for

FAST = (
    "--broker-session-timeout-ms", "2000",
    "--broker-heartbeat-interval-ms", "200",
    "--election-timeout-ms", "300",
)  # fmt: skip
TOPIC = "exactly-once"
PARTITIONS = 3


def leaders_and_isrs(admin: AdminClient) -> dict[int, tuple[int, int]]:
    """Per partition: its leader and the size of its ISR, as Metadata reports them."""
    topic = admin.list_topics(TOPIC, timeout=5).topics.get(TOPIC)
    if topic is None:
        return {}
    return {p: (m.leader, len(m.isrs)) for p, m in topic.partitions.items()}


def all_in_sync(admin: AdminClient) -> bool:
    state = leaders_and_isrs(admin)
    return len(state) == PARTITIONS and all(size == 3 for _, size in state.values())


def create_topic(admin: AdminClient) -> bool:
    topic = NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})
    try:
        admin.create_topics([topic])[TOPIC].result(timeout=15)
    except Exception:
        return False
    return True


def read_partition(bootstrap: str, partition: int, end: int) -> list[tuple[int, bytes]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "checker", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(TOPIC, partition, 0)])
    read: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + 60
    while (not read or read[-1][0] < end - 1) and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        value = message.value()
        assert isinstance(value, bytes)
        read.append((message.offset(), value))
    consumer.close()
    return read


def test_idempotent_records_are_stored_once_in_order_while_leaders_are_killed(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path, 3, 3, *FAST) as cluster:
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        wait_for(lambda: create_topic(admin), 30, "the topic to be created")
        wait_for(lambda: all_in_sync(admin), 30, "3 in-sync replicas everywhere")

        acknowledged: dict[tuple[int, int], bytes] = {}
        failures: list[str] = []

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(str(error))
                return
            where = (message.partition(), message.offset())
            assert where not in acknowledged, f"{where} acknowledged twice"
            value = message.value()
            assert isinstance(value, bytes)
            acknowledged[where] = value

        producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "enable.idempotence": True,
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
                key = b"key-%d" % (sent % 16)
                producer.produce(TOPIC, b"%08d" % sent, key=key, on_delivery=delivered)
                sent += 1
                producer.poll(0.005)

        produce_for(1.0)
        for victim_partition in range(PARTITIONS):
            leader, _ = leaders_and_isrs(admin)[victim_partition]
            cluster.kill(f"broker-{leader}")
            produce_for(0.5)
            wait_for(
                lambda p=victim_partition, old=leader: (
                    leaders_and_isrs(admin).get(p, (-1, 0))[0] not in (old, -1)
                ),
                30,
                "a new leader",
            )
            produce_for(1.0)
            cluster.restart(f"broker-{leader}")
            wait_for(lambda: all_in_sync(admin), 60, "the old leader back in sync")
            produce_for(0.5)
        assert producer.flush(60) == 0
        assert acknowledged, f"nothing acknowledged; failures: {failures[:3]}"

        everything: list[bytes] = []
        for partition in range(PARTITIONS):
            ends = [o for p, o in acknowledged if p == partition]
            read = read_partition(cluster.bootstrap, partition, max(ends) + 1 if ends else 0)
            at = dict(read)
            lost = {o: v for (p, o), v in acknowledged.items() if p == partition and at.get(o) != v}
            assert not lost, f"partition {partition}: {len(lost)} acknowledged records lost"
            values = [v for _, v in read]
            assert values == sorted(values), f"partition {partition} is out of send order"
            everything += values
        twice = [v for v, n in Counter(everything).items() if n > 1]
        assert not twice, f"{len(twice)} records written twice, e.g. {twice[:3]}"
        print(f"{len(acknowledged)} of {sent} records acknowledged, each stored once, in order")
