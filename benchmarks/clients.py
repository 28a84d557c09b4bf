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

The consumer's clock starts once it has its group coordinator (it asks for its committed
offset first, as a consumer does before it reads): on a fresh reflog broker the first
FindCoordinator creates ``__consumer_offsets`` (50 partitions, about a second of file
creation on a loaded machine), a one-off that would otherwise land in the throughput.

Next to MB/s, CPU seconds per GB of record values: the client and the broker together
(this process, where the mock broker runs too, plus the reflog broker process), and the
broker's share alone (the reflog process; the mock's own thread). On a machine shared with
other work, wall-clock figures vary from round to round by far more than the difference
being measured; CPU time per byte varies much less. The client's share is not the same
against both: a client that waits for a slower broker spins in ``poll``.

Where a reflog broker's produce time goes (``perf record`` of the broker process on the
2-core machine this was written on, 1 MB requests): about two thirds in the kernel copying
the records into the page cache (the segment's ``writev``), under a tenth each in Python,
in reading the socket and in the CRC-32C check, and the rest in the event loop's polls and
the answers. The mock copies each record set into memory it allocates, and drops a
partition's oldest sets past a few megabytes, so its copies land in memory that is warm and
reused; a log's copies land in new page-cache pages of a growing file. On a machine whose
cores are busy with other work, where every process gets a share of a core, the broker that
writes files gets through fewer bytes in its share.

Each round runs the mock once more (produce, idempotence off), and the last line compares
it with itself: how far two equal brokers land apart. A median below the mock's is called
level when the paired rounds split in a way that two equal brokers give more than one time
in ten (a sign test); the order of the two alternates from round to round.

Measured on the idle 2-core work machine (2026-12-06; medians of reflog/mock, in brackets in
how many of the 7 paired rounds reflog came out ahead; "itself" is the mock against itself):

* produce, idempotence off: 1.01 (4), 0.97 (3), 1.00 (3), 0.99 (2); itself 0.99 (1),
  1.01 (5), 0.98 (2): reflog and the mock are as far apart as the mock is from itself;
* produce, idempotence on: from 1.17 to 1.37: librdkafka's mock is the slower one;
* consume: from 0.94 to 1.08, either way round.

Both brokers take records as fast as this client produces them: its Python loop (one
``produce()`` with a delivery callback and one ``poll(0)`` per record, about 860 MB/s) is the
limit, and both get requests of the same size (about 1 MB, as many).

A cheaper client loop shows the brokers instead (no callback, ``delivery.report.only.error``,
``poll`` every 1000 records; measured in the same session): the mock takes about 1,550 MB/s,
reflog 950 to 1,200 (0.75 of the mock). The two cores are then nearly full: the client
needs 1.4 to 1.5 of them, the mock's thread 0.15, and reflog's broker 0.4 (0.35 to 0.4 CPU
seconds per GB, against the mock's 0.1; where they go is said above). A reflog broker whose
files were on tmpfs did no better (0.65): the cost is in the new pages a growing log needs,
which Kafka's log needs as well.

Run: `.venv/bin/python benchmarks/clients.py [--megabytes 1024] [--rounds 7]` (about 80 s
on an idle 2-core machine). Rounds of a gigabyte last about a second each way; rounds of 256 MB
lasted a third of one, and moved from round to round by more than the difference measured.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from benchmarks.produce import cpu_seconds
from tests.broker_process import running_broker

RECORD = 1024


class Peer(NamedTuple):
    bootstrap: str
    cpu: Callable[[], float]  # CPU seconds so far of the client and the broker together
    broker_cpu: Callable[[], float]  # ... of the broker alone


class Run(NamedTuple):
    mb_per_s: float
    cpu_s_per_gb: float
    broker_cpu_s_per_gb: float


def own_cpu_seconds() -> float:
    """User plus system CPU time of this process, every thread of it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mock_thread_cpu_seconds() -> float:
    """CPU time of librdkafka's mock broker thread(s) in this process (Linux: /proc)."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        try:
            if not (task / "comm").read_text().startswith("rdk:mock"):
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # a thread that has ended since
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextmanager
def reflog_broker() -> Iterator[Peer]:
    with (
        tempfile.TemporaryDirectory(prefix="reflog-clients-") as tmp,
        running_broker(Path(tmp), "--num-partitions", "1") as broker,
    ):
        pid = broker.process.pid
        yield Peer(
            broker.bootstrap, lambda: own_cpu_seconds() + cpu_seconds(pid), lambda: cpu_seconds(pid)
        )


@contextmanager
def mock_cluster() -> Iterator[Peer]:
    # The mock cluster lives as long as the client that started it, in this process.
    holder = Producer({"test.mock.num.brokers": 1})
    brokers = holder.list_topics(timeout=10).brokers.values()
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers)
    yield Peer(bootstrap, own_cpu_seconds, mock_thread_cpu_seconds)
    holder.flush(5)


BROKERS = {"reflog": reflog_broker, "mock": mock_cluster}


def produce(peer: Peer, topic: str, count: int, idempotent: bool) -> Run:
    """``count`` 1 KiB records produced to partition 0 of ``topic``."""
    producer = Producer(
        {
            "bootstrap.servers": peer.bootstrap,
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
    cpu_before, broker_before = peer.cpu(), peer.broker_cpu()
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
    cpu, broker_cpu = peer.cpu() - cpu_before, peer.broker_cpu() - broker_before
    if left or failures:
        raise RuntimeError(f"{left} records unsent, {len(failures)} failed: {failures[:3]}")
    return run_of(count, elapsed, cpu, broker_cpu)


def consume(peer: Peer, topic: str, count: int) -> Run:
    """Reading ``count`` records from partition 0 of ``topic``: its records from the
    log start to the end, again from the start as often as it takes (the mock cluster keeps
    only the last few megabytes of a partition, so both are read the same way)."""
    consumer = Consumer(
        {
            "bootstrap.servers": peer.bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            # At the log end a fetch would wait this long for more (a long poll), and a seek
            # back to the start waits for that fetch: 500 ms per pass by default.
            "fetch.wait.max.ms": 0,
            # Once its queue holds queued.min.messages (100 000 records), librdkafka fetches
            # again only after this (1 s by default): a broker that fills the queue faster
            # than this loop empties it would be charged a second of idling per pass.
            "fetch.queue.backoff.ms": 10,
        }
    )
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.committed([TopicPartition(topic, 0)], timeout=30)  # waits for the coordinator
    cpu_before, broker_before = peer.cpu(), peer.broker_cpu()
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
    cpu, broker_cpu = peer.cpu() - cpu_before, peer.broker_cpu() - broker_before
    consumer.close()
    if got < count:
        raise RuntimeError(f"read {got} of {count} records")
    return run_of(got, elapsed, cpu, broker_cpu)


def run_of(records: int, elapsed: float, cpu: float, broker_cpu: float) -> Run:
    gigabytes = records * RECORD / 1e9
    return Run(gigabytes * 1e3 / elapsed, cpu / gigabytes, broker_cpu / gigabytes)


def chance_of_split(ahead: int, rounds: int) -> float:
    """How likely reflog comes out ahead in ``ahead`` or fewer of ``rounds`` paired rounds
    if the two brokers were equally fast, so that each round is a coin toss (a sign test)."""
    return sum(math.comb(rounds, k) for k in range(ahead + 1)) / 2**rounds


def verdict(ratio: float, ahead: int, rounds: int) -> str:
    """``met`` when reflog's median is at least the mock's; ``level`` when it is below, by a
    split of rounds that two equal brokers give more often than one time in ten (the median
    of a few rounds lands on either side of a tie); else not met."""
    if ratio >= 1:
        return "met"
    chance = chance_of_split(ahead, rounds)
    if chance > 0.1:
        return f"level: equal brokers split rounds like this {chance:.0%} of the time"
    return f"NOT MET: equal brokers split rounds like this {chance:.0%} of the time"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    count = args.megabytes * 1_000_000 // RECORD
    print(f"{count} records of {RECORD} B to one partition, {args.rounds} rounds")
    figures: dict[tuple[str, str, bool], list[Run]] = {}
    again: list[Run] = []  # the mock once more per round: how far one broker differs from itself
    for round_ in range(args.rounds):
        line = []
        order = list(BROKERS.items())
        if round_ % 2:  # whoever goes first in a round, it is each of them half the time
            order.reverse()
        for name, start in order:
            for idempotent in (False, True):
                topic = f"bench-{round_}-{'idempotent' if idempotent else 'plain'}"
                with start() as peer:
                    produced = produce(peer, topic, count, idempotent)
                    consumed = consume(peer, topic, count)
                figures.setdefault((name, "produce", idempotent), []).append(produced)
                figures.setdefault((name, "consume", idempotent), []).append(consumed)
                tag = f"{name}{' idem' if idempotent else ''}"
                line.append(f"{tag} {produced.mb_per_s:.0f}/{consumed.mb_per_s:.0f}")
        with mock_cluster() as peer:
            again.append(produce(peer, f"again-{round_}", count, idempotent=False))
        line.append(f"mock again {again[-1].mb_per_s:.0f}")
        print(f"round {round_ + 1} (produce/consume MB/s): " + ", ".join(line))
    print("medians: MB/s; CPU s per GB, client and broker together (the broker's alone)")
    for what in ("produce", "consume"):
        for idempotent in (False, True):
            reflog = figures[("reflog", what, idempotent)]
            mock = figures[("mock", what, idempotent)]
            reflog_mb = statistics.median(r.mb_per_s for r in reflog)
            mock_mb = statistics.median(r.mb_per_s for r in mock)
            reflog_cpu = statistics.median(r.cpu_s_per_gb for r in reflog)
            mock_cpu = statistics.median(r.cpu_s_per_gb for r in mock)
            reflog_broker = statistics.median(r.broker_cpu_s_per_gb for r in reflog)
            mock_broker = statistics.median(r.broker_cpu_s_per_gb for r in mock)
            mode = "idempotence on " if idempotent else "idempotence off"
            # Rounds pair the two on the same machine state: how often reflog came out ahead
            # says whether a median's difference is more than noise.
            ahead = sum(r.mb_per_s >= m.mb_per_s for r, m in zip(reflog, mock, strict=True))
            ratio = reflog_mb / mock_mb
            print(
                f"  {what:7} {mode}: reflog {reflog_mb:7.1f}, mock {mock_mb:7.1f}, "
                f"reflog/mock {ratio:.2f}, reflog ahead in {ahead} of {len(reflog)} rounds "
                f"(target >= 1: {verdict(ratio, ahead, len(reflog))}); "
                f"CPU s/GB reflog {reflog_cpu:.2f} ({reflog_broker:.2f}), "
                f"mock {mock_cpu:.2f} ({mock_broker:.2f})"
            )
    mock = figures[("mock", "produce", False)]
    same = statistics.median(r.mb_per_s for r in again) / statistics.median(
        r.mb_per_s for r in mock
    )
    ahead = sum(a.mb_per_s >= m.mb_per_s for a, m in zip(again, mock, strict=True))
    print(
        f"  the mock against itself (produce, idempotence off, a second mock each round): "
        f"{same:.2f}, ahead in {ahead} of {len(mock)} rounds: how far a tie moves"
    )


if __name__ == "__main__":
    main()
