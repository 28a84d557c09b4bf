"""Unmodified Kafka clients produce to a reflog broker and read their records back in order.

Consumers are assigned partitions by hand (consumer groups come later); kafka-python runs
with idempotence off for the same reason.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import time

import pytest

from tests.broker_process import BrokerProcess

from .conftest import require

pytestmark = pytest.mark.clients

N = 30
EXPECTED = [(b"key-%d" % (i % 4), b"value-%d" % i) for i in range(N)]


def test_kafka_python_produces_and_reads_back_in_order(broker: BrokerProcess) -> None:
    require(importlib.util.find_spec("kafka") is not None, "kafka-python")
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False, acks=1)
    offsets = [
        producer.send("kp", key=k, value=v, partition=1).get(timeout=10).offset for k, v in EXPECTED
    ]
    producer.close()
    assert offsets == list(range(N))

    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000
    )
    consumer.assign([TopicPartition("kp", 1)])
    consumer.seek_to_beginning()
    got = []
    for message in consumer:
        got.append((message.offset, message.key, message.value))
        if len(got) == N:
            break
    consumer.close()
    assert got == [(i, k, v) for i, (k, v) in enumerate(EXPECTED)]


def test_aiokafka_produces_and_reads_back_in_order(broker: BrokerProcess) -> None:
    require(importlib.util.find_spec("aiokafka") is not None, "aiokafka")
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition

    async def scenario() -> list[tuple[int, bytes | None, bytes | None]]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            for k, v in EXPECTED:
                await producer.send_and_wait("ap", key=k, value=v, partition=2)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
        await consumer.start()
        got: list[tuple[int, bytes | None, bytes | None]] = []
        try:
            consumer.assign([TopicPartition("ap", 2)])
            await consumer.seek_to_beginning()
            deadline = time.monotonic() + 15
            while len(got) < N and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                for messages in batches.values():
                    got += [(m.offset, m.key, m.value) for m in messages]
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(scenario())
    assert got == [(i, k, v) for i, (k, v) in enumerate(EXPECTED)]


def test_confluent_kafka_produces_and_reads_back_in_order(broker: BrokerProcess) -> None:
    require(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    import confluent_kafka

    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    delivered: list[int] = []

    def on_delivery(err: object, msg: confluent_kafka.Message) -> None:
        assert err is None, err
        delivered.append(msg.offset())

    for k, v in EXPECTED:
        producer.produce("cp", key=k, value=v, partition=0, on_delivery=on_delivery)
    assert producer.flush(15) == 0
    assert delivered == list(range(N))

    # librdkafka insists on a group.id even for a hand-assigned consumer.
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "reflog-test",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([confluent_kafka.TopicPartition("cp", 0, confluent_kafka.OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + 15
    while len(got) < N and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        assert message.error() is None, message.error()
        got.append((message.offset(), message.key(), message.value()))
    consumer.close()
    assert got == [(i, k, v) for i, (k, v) in enumerate(EXPECTED)]


def test_confluent_kafka_gets_record_list_too_large_for_a_batch_over_segment_bytes(
    broker: BrokerProcess,
) -> None:
    require(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = NewTopic("tiny-segments", 1, 1, config={"segment.bytes": "1024"})
    admin.create_topics([topic])["tiny-segments"].result(15)
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap})
    errors: list[object] = []
    producer.produce(
        "tiny-segments", value=b"x" * 2000, partition=0, on_delivery=lambda e, m: errors.append(e)
    )
    assert producer.flush(15) == 0
    [error] = errors
    assert isinstance(error, confluent_kafka.KafkaError)
    assert error.code() == confluent_kafka.KafkaError.RECORD_LIST_TOO_LARGE
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "reflog-test"}
    )
    tp = confluent_kafka.TopicPartition("tiny-segments", 0)
    assert consumer.get_watermark_offsets(tp, timeout=10) == (0, 0)  # nothing written
    consumer.close()


def kcat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=30)


def test_kcat_lists_produces_and_consumes(broker: BrokerProcess) -> None:
    require(shutil.which("kcat") is not None, "kcat (Debian package kcat)")
    lines = "".join(f"{k.decode()}:{v.decode()}\n" for k, v in EXPECTED)
    produced = kcat("-b", broker.bootstrap, "-P", "-t", "kc", "-p", "0", "-K:", stdin=lines)
    assert produced.returncode == 0, produced.stderr

    listed = kcat("-b", broker.bootstrap, "-L", "-t", "kc")
    assert listed.returncode == 0, listed.stderr
    assert 'topic "kc" with 3 partitions' in listed.stdout
    assert "broker 0 at " + broker.bootstrap in listed.stdout

    consumed = kcat(
        "-b",
        broker.bootstrap,
        "-C",
        "-t",
        "kc",
        "-p",
        "0",
        "-e",
        "-o",
        "beginning",
        "-f",
        "%o %k %s\n",
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == [
        f"{i} {k.decode()} {v.decode()}" for i, (k, v) in enumerate(EXPECTED)
    ]
