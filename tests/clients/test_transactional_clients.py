"""Unmodified Kafka clients run transactions against a reflog broker: a transactional
producer's committed records are read by a ``read_committed`` consumer and its aborted ones
are not, while a ``read_uncommitted`` consumer sees both.

A missing client fails these tests: they exist to prove the clients work.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

import pytest

from tests.broker_process import BrokerProcess

pytestmark = pytest.mark.clients


def client(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.fail(f"{module} is not installed: the transactional-client tests need it")


def read_all(broker: BrokerProcess, topic: str, isolation: str, expect: int) -> list[bytes]:
    """The values of partition 0 of ``topic`` read by librdkafka with ``isolation``, until
    ``expect`` arrive and the end of the partition is reached, or 20 s pass."""
    ck = client("confluent_kafka")
    consumer = ck.Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"reader-{topic}-{isolation}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    got: list[bytes] = []
    at_end = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (at_end and len(got) >= expect):
        message: Any = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            at_end = message.error().code() == ck.KafkaError._PARTITION_EOF
            continue
        got.append(message.value())
    consumer.close()
    return got


def test_confluent_kafka_commits_one_transaction_and_aborts_the_next(
    broker: BrokerProcess,
) -> None:
    ck = client("confluent_kafka")
    producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ck-txn-1"})
    producer.init_transactions(20)
    producer.begin_transaction()
    for i in range(5):
        producer.produce("ck-txn", value=b"committed-%d" % i, partition=0)
    producer.commit_transaction(20)
    producer.begin_transaction()
    for i in range(3):
        producer.produce("ck-txn", value=b"aborted-%d" % i, partition=0)
    producer.flush(20)
    producer.abort_transaction(20)
    producer.begin_transaction()
    producer.produce("ck-txn", value=b"committed-last", partition=0)
    producer.commit_transaction(20)

    committed = [b"committed-%d" % i for i in range(5)] + [b"committed-last"]
    assert read_all(broker, "ck-txn", "read_committed", 6) == committed
    uncommitted = read_all(broker, "ck-txn", "read_uncommitted", 9)
    assert sorted(uncommitted) == sorted(committed + [b"aborted-%d" % i for i in range(3)])


def test_kafka_python_commits_one_transaction_and_aborts_the_next(broker: BrokerProcess) -> None:
    kafka = client("kafka")
    producer = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-txn-1")
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(4):
        producer.send("kp-txn", value=b"committed-%d" % i, partition=0)
    producer.commit_transaction()
    producer.begin_transaction()
    for i in range(2):
        producer.send("kp-txn", value=b"aborted-%d" % i, partition=0)
    producer.flush()
    producer.abort_transaction()
    producer.close()

    committed = [b"committed-%d" % i for i in range(4)]
    assert read_all(broker, "kp-txn", "read_committed", 4) == committed
    assert len(read_all(broker, "kp-txn", "read_uncommitted", 6)) == 6


def test_a_second_confluent_kafka_producer_fences_the_first_and_aborts_what_it_left_open(
    broker: BrokerProcess,
) -> None:
    ck = client("confluent_kafka")
    config = {"bootstrap.servers": broker.bootstrap, "transactional.id": "ck-zombie"}
    zombie = ck.Producer(config)
    zombie.init_transactions(20)
    zombie.begin_transaction()
    zombie.produce("ck-zombie", value=b"left-open", partition=0)
    zombie.flush(20)
    # Its successor starts while the zombie's transaction is still open.
    successor = ck.Producer(config)
    successor.init_transactions(20)
    successor.begin_transaction()
    successor.produce("ck-zombie", value=b"successor", partition=0)
    successor.commit_transaction(20)
    with pytest.raises(ck.KafkaException):
        zombie.commit_transaction(20)
    assert read_all(broker, "ck-zombie", "read_committed", 1) == [b"successor"]


def test_confluent_kafka_consume_transform_produce_commits_offsets_with_the_output(
    broker: BrokerProcess,
) -> None:
    ck = client("confluent_kafka")
    feeder = ck.Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        feeder.produce("ctp-in", value=b"%d" % i, partition=0)
    feeder.flush(20)
    group = "ctp-group"
    consumer = ck.Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([ck.TopicPartition("ctp-in", 0)])
    producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ctp"})
    producer.init_transactions(20)
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 10 and time.monotonic() < deadline:
        messages = consumer.consume(5, 1.0)
        if not messages:
            continue
        producer.begin_transaction()
        for m in messages:
            producer.produce("ctp-out", value=b"out-" + m.value(), partition=0)
        last = messages[-1]
        offsets = [ck.TopicPartition("ctp-in", 0, last.offset() + 1)]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 20)
        producer.commit_transaction(20)
        seen += len(messages)
    consumer.close()
    assert read_all(broker, "ctp-out", "read_committed", 10) == [b"out-%d" % i for i in range(10)]
    admin_view = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    [committed] = admin_view.committed([ck.TopicPartition("ctp-in", 0)], timeout=20)
    admin_view.close()
    assert committed.offset == 10
