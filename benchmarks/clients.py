"""confluent-kafka's producer and consumer against a `reflog broker` process and against
librdkafka's own mock cluster, alternated in one run.

librdkafka ships a mock Kafka cluster (``test.mock.num.brokers``): an in-process broker in C
that keeps records in memory. It is the fastest peer a librdkafka client can have on this
machine, so it is the yardstick: a reflog broker (Python, writing real segment files) that
keeps up with it is not what limits a client.

Each round, for each broker, with idempotence off and on:

* produce: 1 KiB records to one partition as fast as the producer takes them, then flush;
  MB/s of record values from the first ``produce()`` to the last acknowledgement;
* consume: a consumer assigned to that partition reads as many records back, from the log
  start to its end and again (librdkafka's mock keeps only a partition's last few
  megabytes); MB/s of record values from ``assign()`` to the last record.

``acks=1`` with idempotence off; librdkafka refuses ``enable.idempotence=true`` unless
``acks=all``, so the idempotent runs use ``acks=all`` (the same thing for a partition with
one replica). Medians of the rounds are printed, and their ratio to the mock's.

Run: `.venv/bin/python benchmarks/clients.py [--megabytes 256] [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from tests.broker_process import running_broker

RECORD = 1024


@contextmanager
def reflog_broker() -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="reflog-clients-") as tmp,
        running_broker(Path(tmp), "--num-partitions", "1") as broker,
    ):
        yield broker.bootstrap


@contextmanager
def mock_cluster() -> Iterator[str]:
    # The mock cluster lives as long as the client that started it.
    holder = Producer({"test.mock.num.brokers": 1})
    brokers = holder.list_topics(timeout=10).brokers.values()
    yield ",".join(f"{b.host}:{b.port}" for b in brokers)
    holder.flush(5)


BROKERS = {"reflog": reflog_broker, "mock": mock_cluster}


def produce(bootstrap: str, topic: str, count: int, idempotent: bool) -> float:
    """MB/s of ``count`` 1 KiB records produced to partition 0 of ``topic``."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all" if idempotent else "1",
            "enable.idempotence": idempotent,
        }
    )
    value = os.urandom(RECORD)
    failures: list[str] = []

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            failures.append(str(error))

    producer.list_topics(topic, timeout=10)  # the topic exists before the clock starts
    start = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, value, partition=0, on_delivery=delivered)
                break
            except BufferError:  # the producer's queue is full: let it send
                producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(60)
    elapsed = time.perf_counter() - start
    if left or failures:
        raise RuntimeError(f"{left} records unsent, {len(failures)} failed: {failures[:3]}")
    return count * RECORD / elapsed / 1e6


def consume(bootstrap: str, topic: str, count: int) -> float:
    """MB/s of reading ``count`` records from partition 0 of ``topic``: its records from the
    log start to the end, again from the start as often as it takes (the mock cluster keeps
    only the last few megabytes of a partition, so both are read the same way)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            # At the log end a fetch would wait this long for more (a long poll), and a seek
            # back to the start waits for that fetch: 500 ms per pass by default.
            "fetch.wait.max.ms": 0,
        }
    )
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    start = time.perf_counter()
    consumer.assign([TopicPartition(topic, 0, low)])
    got, position = 0, low
    deadline = start + 120
    while got < count and time.perf_counter() < deadline:
        # Never more than are there: consume() waits out its timeout for a batch not full.
        wanted = min(10_000, high - position, count - got)
        for message in consumer.consume(num_messages=wanted, timeout=1.0):
            if message.error() is not None:
                raise KafkaException(message.error())
            got += 1
            position = message.offset() + 1
        if position == high:  # the end: from the start again
            consumer.seek(TopicPartition(topic, 0, low))
            position = low
    elapsed = time.perf_counter() - start
    consumer.close()
    if got < count:
        raise RuntimeError(f"read {got} of {count} records")
    return got * RECORD / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    count = args.megabytes * 1_000_000 // RECORD
    print(f"{count} records of {RECORD} B to one partition, {args.rounds} rounds")
    figures: dict[tuple[str, str, bool], list[float]] = {}
    for round_ in range(args.rounds):
        line = []
        for name, start in BROKERS.items():  # alternated: both see the same machine state
            for idempotent in (False, True):
                topic = f"bench-{round_}-{'idempotent' if idempotent else 'plain'}"
                with start() as bootstrap:
                    produced = produce(bootstrap, topic, count, idempotent)
                    consumed = consume(bootstrap, topic, count)
                figures.setdefault((name, "produce", idempotent), []).append(produced)
                figures.setdefault((name, "consume", idempotent), []).append(consumed)
                tag = f"{name}{' idem' if idempotent else ''}"
                line.append(f"{tag} {produced:.0f}/{consumed:.0f}")
        print(f"round {round_ + 1} (produce/consume MB/s): " + ", ".join(line))
    print("medians, MB/s:")
    for what in ("produce", "consume"):
        for idempotent in (False, True):
            reflog = statistics.median(figures[("reflog", what, idempotent)])
            mock = statistics.median(figures[("mock", what, idempotent)])
            mode = "idempotence on " if idempotent else "idempotence off"
            verdict = "met" if reflog >= mock else "NOT MET"
            print(
                f"  {what:7} {mode}: reflog {reflog:7.1f}, mock {mock:7.1f}, "
                f"reflog/mock {reflog / mock:.2f} (target >= 1: {verdict})"
            )


if __name__ == "__main__":
    main()
