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
