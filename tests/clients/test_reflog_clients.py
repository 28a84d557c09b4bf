"""reflog's own clients over real sockets: against a reflog broker, against librdkafka's mock
cluster (an independent Kafka-protocol broker), and through the `reflog` CLI."""

from __future__ import annotations

import asyncio
import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

from reflog.consumer import Consumer, ConsumerConfig, ConsumerRecord
from reflog.net.client import ClientRunner, now_ms
from reflog.producer import Producer, ProducerConfig, SendResult
from reflog.producer.partitioner import partition_for_key
from reflog.records import RecordBatch, iter_batches
from reflog.topic_partition import TopicPartition
from tests.broker_process import BrokerProcess

from .conftest import require

pytestmark = pytest.mark.clients

KEYS = [b"k%d" % i for i in range(8)]


def produce_and_consume(
    bootstrap: tuple[tuple[str, int], ...], topic: str, n: int
) -> tuple[list[SendResult], list[ConsumerRecord]]:
    async def scenario() -> tuple[list[SendResult], list[ConsumerRecord]]:
        producer = Producer(ProducerConfig(bootstrap_servers=bootstrap, acks=-1), random.Random(1))
        runner = ClientRunner(producer)
        for i in range(n):
            producer.send(topic, b"value-%d" % i, key=KEYS[i % len(KEYS)], now_ms=now_ms())
        producer.flush()
        results: list[SendResult] = []

        def all_acked() -> bool:
            results.extend(producer.take_results())
            return len(results) == n

        assert await runner.run_until(all_acked, timeout_s=20)
        await runner.close()
        partitions = sorted({r.partition for r in results})
        consumer = Consumer(
            ConsumerConfig(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        )
        consumer.assign([TopicPartition(topic, p) for p in partitions], now_ms())
        records: list[ConsumerRecord] = []

        def all_read() -> bool:
            records.extend(consumer.poll())
            return len(records) >= n

        runner = ClientRunner(consumer)
        assert await runner.run_until(all_read, timeout_s=20)
        await runner.close()
        return results, records

    return asyncio.run(scenario())


def check(results: list[SendResult], records: list[ConsumerRecord], partitions: int) -> None:
    assert all(r.error == 0 for r in results)
    by_value = {r.value: r for r in records}
    for i, result in enumerate(sorted(results, key=lambda r: r.send_id)):
        record = by_value[b"value-%d" % i]
        assert (record.partition, record.offset) == (result.partition, result.offset)
        assert record.partition == partition_for_key(KEYS[i % len(KEYS)], partitions)
    for p in {r.partition for r in records}:
        offsets = [r.offset for r in records if r.partition == p]
        assert offsets == sorted(offsets)


def test_reflog_clients_against_a_reflog_broker(broker: BrokerProcess) -> None:
    results, records = produce_and_consume(((broker.host, broker.port),), "reflog-clients", 50)
    check(results, records, partitions=3)


def test_reflog_clients_against_librdkafkas_mock_cluster() -> None:
    require(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    import confluent_kafka

    # librdkafka's own mock broker: a Kafka-protocol peer that shares no code with reflog.
    holder = confluent_kafka.Producer({"test.mock.num.brokers": 1})
    [mock] = holder.list_topics(timeout=10).brokers.values()
    results, records = produce_and_consume(((mock.host, mock.port),), "mock-topic", 50)
    partitions = len(holder.list_topics("mock-topic", timeout=10).topics["mock-topic"].partitions)
    check(results, records, partitions)


def test_reflog_decodes_the_batches_confluent_kafka_wrote(broker: BrokerProcess) -> None:
    require(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    import confluent_kafka

    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20})
    for i in range(20):
        producer.produce(
            "from-librdkafka",
            key=b"key-%d" % i,
            value=b"value-%d" % i,
            partition=1,
            headers=[("trace", b"t%d" % i)],
            timestamp=1_700_000_000_000 + i,
        )
    assert producer.flush(15) == 0
    log_file = broker.data_dir / "from-librdkafka-1" / "00000000000000000000.log"
    batches: list[RecordBatch] = list(iter_batches(log_file.read_bytes()))
    for batch in batches:
        batch.validate()  # librdkafka's CRC-32C, checked by reflog
    records = [r for b in batches for r in b.records()]
    assert [(r.offset, r.key, r.value, r.timestamp) for r in records] == [
        (i, b"key-%d" % i, b"value-%d" % i, 1_700_000_000_000 + i) for i in range(20)
    ]
    assert records[3].headers[0].key == "trace" and records[3].headers[0].value == b"t3"


def reflog_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reflog", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_creates_lists_describes_produces_and_consumes(broker: BrokerProcess) -> None:
    b = ["--bootstrap-server", broker.bootstrap]
    created = reflog_cli("topics", "create", "--topic", "cli", "--partitions", "2", *b)
    assert created.returncode == 0, created.stderr
    again = reflog_cli("topics", "create", "--topic", "cli", "--partitions", "2", *b)
    assert again.returncode == 1
    assert again.stderr.strip().startswith("reflog topics: TOPIC_ALREADY_EXISTS")
    assert "cli" in reflog_cli("topics", "list", *b).stdout.split()
    described = reflog_cli("topics", "describe", "--topic", "cli", *b).stdout
    assert "PartitionCount: 2" in described and "Partition: 1\tLeader: 0" in described

    lines = "".join(f"user{i % 3}:event-{i}\n" for i in range(12))
    produced = reflog_cli("produce", "cli", "--key-separator", ":", *b, stdin=lines)
    assert produced.returncode == 0, produced.stderr
    consumed = reflog_cli(
        "consume", "cli", "--from-beginning", "--max-messages", "12", "--print-key", *b
    )
    assert consumed.returncode == 0, consumed.stderr
    got = [line.split("\t") for line in consumed.stdout.splitlines()]
    assert sorted(v for _, v in got) == sorted(f"event-{i}" for i in range(12))
    for key in ("user0", "user1", "user2"):  # per-key order survives
        values = [int(v.split("-")[1]) for k, v in got if k == key]
        assert values == sorted(values)


def test_cli_errors_are_one_line_with_a_non_zero_status() -> None:
    refused = reflog_cli("consume", "t", "--bootstrap-server", "127.0.0.1:1", "--from-beginning")
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0
    assert refused.stderr.startswith("reflog consume: cannot connect to 127.0.0.1:1")
    bad = reflog_cli("topics", "list", "--bootstrap-server", "nonsense")
    assert bad.returncode == 1 and "HOST:PORT" in bad.stderr


def test_cli_produce_to_a_chosen_partition_and_refuse_a_missing_one(broker: BrokerProcess) -> None:
    b = ["--bootstrap-server", broker.bootstrap]
    assert (
        reflog_cli("topics", "create", "--topic", "chosen", "--partitions", "3", *b).returncode == 0
    )
    sent = reflog_cli("produce", "chosen", "--partition", "2", *b, stdin="one\ntwo\n")
    assert sent.returncode == 0, sent.stderr
    read = reflog_cli(
        "consume", "chosen", "--from-beginning", "--partition", "2", "--max-messages", "2", *b
    )
    assert read.stdout.splitlines() == ["one", "two"]
    missing = reflog_cli("produce", "chosen", "--partition", "7", *b, stdin="x\n")
    assert missing.returncode == 1
    assert "UNKNOWN_TOPIC_OR_PARTITION" in missing.stderr


def test_cluster_cli_errors_are_one_line(tmp_path: Path) -> None:
    bad_voters = reflog_cli(
        "controller", "--node-id", "1", "--controller-quorum-voters", "1@nowhere",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert bad_voters.returncode == 1 and bad_voters.stderr.count("\n") == 1
    assert "HOST:PORT" in bad_voters.stderr
    not_a_voter = reflog_cli(
        "controller", "--node-id", "2", "--controller-quorum-voters", "1@127.0.0.1:1",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert not_a_voter.returncode == 1 and "is not one of" in not_a_voter.stderr
    empty = reflog_cli("cluster", "up", "--brokers", "0", "--data-dir", str(tmp_path))
    assert empty.returncode == 1 and "at least one broker" in empty.stderr
    no_room = reflog_cli("cluster", "up", "--port", "65534", "--data-dir", str(tmp_path))
    assert no_room.returncode == 1 and "no room" in no_room.stderr
