"""Unmodified Kafka clients produce idempotently to a reflog broker: each gets a producer id
(InitProducerId), numbers its batches, and its records are stored exactly once, in order.

kafka-python 3.x is idempotent by default (a plain ``KafkaProducer(bootstrap_servers=...)``
sends InitProducerId first); aiokafka, confluent-kafka and kcat (Debian's older librdkafka)
are asked to be. A missing client fails these tests: they exist to prove the clients work.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import time
from types import ModuleType

import pytest

from reflog.records import iter_batches
from tests.broker_process import BrokerProcess

pytestmark = pytest.mark.clients

N = 40
EXPECTED = [(b"key-%d" % (i % 4), b"value-%d" % i) for i in range(N)]


def client(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.fail(f"{module} is not installed: the idempotent-client tests need it")


def read_back(broker: BrokerProcess, topic: str, partition: int) -> list[tuple[int, bytes, bytes]]:
    """Every record of one partition, read with kafka-python (a client with no idempotence
    of its own on the read path), until N arrive or 15 s pass."""
    kafka = client("kafka")
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=broker.bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000
    )
    consumer.assign([kafka.TopicPartition(topic, partition)])
    consumer.seek_to_beginning()
    got = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(got) < N:
        for message in consumer:
            got.append((message.offset, message.key, message.value))
    consumer.close()
    return got


def exactly_once_in_order(got: list[tuple[int, bytes, bytes]]) -> None:
    assert got == [(i, k, v) for i, (k, v) in enumerate(EXPECTED)]


def sent_idempotently(broker: BrokerProcess, topic: str, partition: int) -> None:
    """The partition's batches on disk all carry one producer id, and sequence numbers that
    count its records from 0 without a gap: the client really was idempotent."""
    [directory] = broker.data_dir.glob(f"**/{topic}-{partition}")
    batches = [
        b for path in sorted(directory.glob("*.log")) for b in iter_batches(path.read_bytes())
    ]
    assert len({b.producer_id for b in batches}) == 1 and batches[0].producer_id >= 0
    assert [b.base_sequence for b in batches] == [b.base_offset for b in batches]


def test_kafka_python_with_its_defaults_is_idempotent_and_writes_each_record_once(
    broker: BrokerProcess,
) -> None:
    kafka = client("kafka")
    producer = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap)  # the defaults
    futures = [producer.send("kpi", key=k, value=v, partition=1) for k, v in EXPECTED]
    offsets = [f.get(timeout=15).offset for f in futures]
    producer_id = producer._transaction_manager.producer_id_and_epoch.producer_id
    producer.close()
    assert producer_id >= 0  # it got one from the broker
    assert offsets == list(range(N))
    exactly_once_in_order(read_back(broker, "kpi", 1))
    sent_idempotently(broker, "kpi", 1)


def test_aiokafka_with_enable_idempotence_writes_each_record_once(broker: BrokerProcess) -> None:
    aiokafka = client("aiokafka")

    async def produce() -> list[int]:
        producer = aiokafka.AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap, enable_idempotence=True
        )
        await producer.start()
        try:
            sent = [await producer.send("api", key=k, value=v, partition=2) for k, v in EXPECTED]
            return [(await s).offset for s in sent]
        finally:
            await producer.stop()

    assert asyncio.run(produce()) == list(range(N))
    exactly_once_in_order(read_back(broker, "api", 2))
    sent_idempotently(broker, "api", 2)


def test_confluent_kafka_with_enable_idempotence_writes_each_record_once(
    broker: BrokerProcess,
) -> None:
    confluent_kafka = client("confluent_kafka")
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 5}
    )
    delivered: list[int] = []
    errors: list[object] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.append(msg.offset())  # type: ignore[attr-defined]

    for k, v in EXPECTED:
        producer.produce("cpi", key=k, value=v, partition=0, on_delivery=on_delivery)
    assert producer.flush(20) == 0
    assert errors == []
    assert delivered == list(range(N))
    exactly_once_in_order(read_back(broker, "cpi", 0))
    sent_idempotently(broker, "cpi", 0)


def test_kcat_with_enable_idempotence_writes_each_record_once(broker: BrokerProcess) -> None:
    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.fail("kcat (Debian package kcat) is not installed")
    lines = "".join(f"{k.decode()}:{v.decode()}\n" for k, v in EXPECTED)
    produced = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-P", "-t", "kci", "-p", "1", "-K:",
         "-X", "enable.idempotence=true"],
        input=lines, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    exactly_once_in_order(read_back(broker, "kci", 1))
    sent_idempotently(broker, "kci", 1)
