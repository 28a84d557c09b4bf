"""Transactions across real processes: a confluent-kafka transactional producer keeps
committing while the broker that coordinates its transactional id is killed with SIGKILL
and started again.

`reflog cluster up` runs 3 controllers and 3 brokers. Each transaction writes one record to
each of 3 partitions (3 replicas each). A transaction that fails is aborted and sent again;
afterwards a read_committed consumer finds every committed value exactly once, on every
partition, and no value of an aborted attempt.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from reflog.groups.placement import partition_for
from tests.cluster_process import running_cluster, wait_for

FAST = (
    "--broker-session-timeout-ms", "2000",
    "--broker-heartbeat-interval-ms", "200",
    "--election-timeout-ms", "300",
)  # fmt: skip
TOPIC = "txn-out"
PARTITIONS = 3
TRANSACTIONAL_ID = "killed-coordinator"


def create_topic(admin: AdminClient) -> bool:
    topic = NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})
    try:
        admin.create_topics([topic])[TOPIC].result(timeout=15)
    except Exception:
        return False
    return True


def coordinator(admin: AdminClient) -> int:
    """The leader of the transactional id's __transaction_state partition (-1: none yet)."""
    topic = admin.list_topics("__transaction_state", timeout=5).topics.get("__transaction_state")
    if topic is None or not topic.partitions:
        return -1
    p = partition_for(TRANSACTIONAL_ID, len(topic.partitions))
    return topic.partitions[p].leader


def commit_one(producer: Producer, n: int) -> None:
    """Transaction ``n``: its value on every partition, committed, retried until it is."""
    while True:
        try:
            producer.begin_transaction()
            for p in range(PARTITIONS):
                producer.produce(TOPIC, b"%06d" % n, partition=p)
            producer.commit_transaction(60)
            return
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.fatal():
                raise
            if error.txn_requires_abort():
                producer.abort_transaction(60)
            elif error.retriable():
                try:
                    producer.commit_transaction(60)
                    return
                except KafkaException as again:
                    if again.args[0].txn_requires_abort():
                        producer.abort_transaction(60)
                    elif again.args[0].fatal():
                        raise
            time.sleep(0.2)


def read_committed(bootstrap: str, partition: int, expect: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "checker",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(TOPIC, partition, 0)])
    read: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(read) < expect and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        value = message.value()
        assert isinstance(value, bytes)
        read.append(value)
    consumer.close()
    return read


def test_committed_transactions_are_read_once_while_their_coordinator_is_killed(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path, 3, 3, *FAST) as cluster:
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        wait_for(lambda: create_topic(admin), 30, "the topic to be created")
        producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "transactional.id": TRANSACTIONAL_ID,
                "transaction.timeout.ms": 20_000,
                "topic.metadata.refresh.interval.ms": 500,
            }
        )
        producer.init_transactions(60)
        n = 0
        for _ in range(2):
            for _ in range(5):
                commit_one(producer, n)
                n += 1
            victim = coordinator(admin)
            assert victim >= 0
            cluster.kill(f"broker-{victim}")
            for _ in range(5):
                commit_one(producer, n)
                n += 1
            cluster.restart(f"broker-{victim}")
            wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 60, "3 brokers")
        for _ in range(3):
            commit_one(producer, n)
            n += 1
        producer.flush(30)
        expected = [b"%06d" % i for i in range(n)]
        for partition in range(PARTITIONS):
            read = read_committed(cluster.bootstrap, partition, n)
            twice = [v for v, c in Counter(read).items() if c > 1]
            assert not twice, f"partition {partition}: read twice: {twice[:3]}"
            assert sorted(read) == expected, f"partition {partition}: {len(read)} of {n}"
