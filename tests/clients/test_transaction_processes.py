"""Transactions across real processes, on `reflog cluster up` (3 controllers, 3 brokers).

* A confluent-kafka transactional producer keeps committing while the broker that
  coordinates its transactional id is killed with SIGKILL and started again. Each
  transaction writes one record to each of 3 partitions (3 replicas each). A transaction
  that fails is aborted and sent again; afterwards a read_committed consumer finds every
  committed value exactly once, on every partition, and no value of an aborted attempt.
* A consume-transform-produce processor (``tests/clients/txn_processor.py``, its own OS
  process) is killed with SIGKILL and started again several times while it consumes its
  input; the output read read_committed holds every input record's result exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from reflog.groups.placement import partition_for
from tests.cluster_process import ClusterProcess, running_cluster, wait_for

from . import txn_processor

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


COORDINATOR_NOT_READY = {
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError._TIMED_OUT,
}


def committed_total(checker: Consumer) -> int:
    """How many input records the processor has committed, over all input partitions."""
    partitions = [TopicPartition(txn_processor.INPUT, p) for p in range(PARTITIONS)]
    return sum(max(0, tp.offset) for tp in checker.committed(partitions, timeout=10))


def committed_at_least(checker: Consumer, count: int) -> bool:
    try:
        return committed_total(checker) >= count
    except KafkaException as exc:
        # The group's coordinator not found in time, moving or loading (on a loaded machine):
        # Kafka calls these retriable, and an application asks again; anything else fails.
        if exc.args[0].code() not in COORDINATOR_NOT_READY:
            raise
        return False


def start_processor(cluster: ClusterProcess, log: Path) -> subprocess.Popen[bytes]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.clients.txn_processor", cluster.bootstrap],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
    )


def read_all_committed(bootstrap: str, topic: str, expect: int) -> list[bytes]:
    """Every partition of ``topic`` read read_committed, until ``expect`` values have come
    and each partition's end is reached, or 60 s pass."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "result-checker",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    read: list[bytes] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (len(read) >= expect and len(at_end) == PARTITIONS):
        message = consumer.poll(1.0)
        if message is None:
            continue
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition() or 0)
            continue
        value = message.value()
        assert isinstance(value, bytes)
        read.append(value)
        at_end.discard(message.partition() or 0)
    consumer.close()
    return read


def test_a_processor_killed_with_sigkill_and_restarted_writes_each_result_exactly_once(
    tmp_path: Path,
) -> None:
    stages, per_stage = 5, 300  # the input comes in stages; the processor dies in each but the last
    total = stages * per_stage
    with running_cluster(tmp_path, 3, 3, *FAST) as cluster:
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        for name in (txn_processor.INPUT, txn_processor.OUTPUT):
            topic = NewTopic(name, PARTITIONS, 3, config={"min.insync.replicas": "2"})
            admin.create_topics([topic])[name].result(timeout=30)
        feeder = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True})
        checker = Consumer(
            {"bootstrap.servers": cluster.bootstrap, "group.id": txn_processor.GROUP}
        )
        log = tmp_path / "processor.err"
        processor = start_processor(cluster, log)
        kills = 0
        try:
            for stage in range(stages):
                for i in range(stage * per_stage, (stage + 1) * per_stage):
                    feeder.produce(txn_processor.INPUT, b"%06d" % i, partition=i % PARTITIONS)
                assert feeder.flush(30) == 0
                if stage == stages - 1:
                    break
                # Killed a third of the way into the stage: mid-stream, input still to read.
                mark = stage * per_stage + per_stage // 3
                wait_for(partial(committed_at_least, checker, mark), 90, f"{mark} committed")
                assert processor.poll() is None, log.read_text()[-2000:]
                processor.send_signal(signal.SIGKILL)
                processor.wait(10)
                kills += 1
                # It died with input of this stage still to process, not idle at its end.
                assert committed_total(checker) < (stage + 1) * per_stage
                processor = start_processor(cluster, log)
            wait_for(partial(committed_at_least, checker, total), 120, "all input committed")
            assert processor.poll() is None, log.read_text()[-2000:]
        finally:
            processor.kill()
            processor.wait(10)
            checker.close()
        assert kills == stages - 1
        read = read_all_committed(cluster.bootstrap, txn_processor.OUTPUT, total)
        counts = Counter(read)
        twice = sorted(v for v, c in counts.items() if c > 1)
        assert not twice, f"results committed more than once: {twice[:5]} ({len(twice)})"
        missing = [i for i in range(total) if counts[b"result-%06d" % i] == 0]
        assert not missing, f"results missing: {missing[:5]} ({len(missing)})"
        assert len(read) == total
