"""How fast the in-kernel simulation runs a cluster, next to real time and to the baseline.

Two shapes, each with a producer sending at a fixed rate and a consumer reading every
partition of the topic from the beginning:

* 1 broker:  a topic of 3 partitions, one replica each, ``acks=1``;
* 3 brokers: a KRaft cluster (1 controller, 3 brokers), a topic of 3 partitions with
  replication factor 3, ``acks=all`` (followers fetch, the high watermark gates the ack).

For each shape the cluster is built and settled first (untimed); then ``run_for(duration)``
is timed. Printed per shape, as the median over rounds:

* simulated records per wall-clock second (records the producer saw acknowledged in the
  timed window, divided by the wall time it took);
* the speed-up over real time (simulated milliseconds per wall-clock millisecond);
* the same figures measured on the commit before the speed work (``BASELINE``) and the ratio.

The CPU time of the run is printed too, with its own ratio: on a shared machine it moves
much less than wall time (the baseline was measured on an idle one).

Target (issue 11): at least 3x the baseline's records per second on each shape.
Run: `.venv/bin/python benchmarks/simulation.py [--seconds 10] [--rate 2000] [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.consumer import ConsumerConfig
from reflog.producer import ProducerConfig
from reflog.sim.cluster import Cluster
from reflog.sim.kraft import KraftCluster
from reflog.sim.workloads import ConsumerWorkload, ProducerWorkload
from reflog.sim.world import Simulation
from reflog.topic_partition import TopicPartition

TOPIC = "bench"
PARTITIONS = 3
SEED = 7


@dataclass(frozen=True)
class Baseline:
    records_per_s: float  # simulated records per wall-clock second
    speedup: float  # simulated time / wall time
    records_per_cpu_s: float  # simulated records per second of CPU time
    rate: int  # the producer rate it was measured at (records/s)
    measured: str  # commit and date


# Measured with the default arguments (10 simulated seconds, 2,000 records/s, 5 rounds,
# median) on main's 83fc9a5, before the speed work, on the 2-core machine of the work session.
# On that commit the 3-broker producer fell behind (11,045 of 20,000 records acknowledged in
# the window, its backlog growing), so that shape's figure counts only the acknowledged ones.
BASELINE: dict[str, Baseline] = {
    "1 broker": Baseline(20_926, 10.5, 20_945, 2_000, "83fc9a5, 2026-12-06, over 10 simulated s"),
    "3 brokers": Baseline(2_334, 2.1, 2_366, 2_000, "83fc9a5, 2026-12-06, over 10 simulated s"),
}


@dataclass
class Built:
    """A settled cluster with its workloads, ready to be timed."""

    sim: Simulation
    run_for: Callable[[int], None]
    producers: list[ProducerWorkload]
    consumers: list[ConsumerWorkload]


def producer_config(bootstrap: tuple[tuple[str, int], ...], name: str, acks: int) -> ProducerConfig:
    return ProducerConfig(
        bootstrap_servers=bootstrap,
        client_id=name,
        acks=acks,
        linger_ms=5,
        request_timeout_ms=2_000,
    )


def consumer_config(bootstrap: tuple[tuple[str, int], ...], name: str) -> ConsumerConfig:
    return ConsumerConfig(
        bootstrap_servers=bootstrap,
        client_id=name,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
        request_timeout_ms=2_000,
    )


def one_broker(data_dir: Path, rate: int) -> Built:
    cluster = Cluster(seed=SEED, brokers=1, data_dir=data_dir, topics={TOPIC: PARTITIONS})
    producer = cluster.add_producer("producer", TOPIC, rate_per_s=rate, acks=1)
    consumer = cluster.add_consumer("consumer", TOPIC, range(PARTITIONS))
    return Built(cluster.sim, cluster.run_for, [producer], [consumer])


def three_brokers(data_dir: Path, rate: int) -> Built:
    cluster = KraftCluster(SEED, data_dir, controllers=1, brokers=3)
    cluster.wait_for_active_controller()
    cluster.wait_unfenced(1, 2, 3)
    assert cluster.create_topic(TOPIC, PARTITIONS, replication_factor=3) == 0
    cluster.wait_caught_up()
    bootstrap = tuple((f"broker-{b}", 9092) for b in (1, 2, 3))
    producer = ProducerWorkload(
        "producer", producer_config(bootstrap, "producer", acks=-1), TOPIC, rate_per_s=rate
    )
    partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    consumer = ConsumerWorkload("consumer", consumer_config(bootstrap, "consumer"), partitions)
    cluster.sim.add_node(producer)
    cluster.sim.add_node(consumer)
    return Built(cluster.sim, cluster.sim.run_for, [producer], [consumer])


SHAPES: dict[str, Callable[[Path, int], Built]] = {
    "1 broker": one_broker,
    "3 brokers": three_brokers,
}


@dataclass(frozen=True)
class Measured:
    sent: int
    records: int
    consumed: int
    wall_s: float
    cpu_s: float


def measure(
    build: Callable[[Path, int], Built], seconds: float, rate: int, keep_trace: bool
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="reflog-simbench-") as tmp:
        built = build(Path(tmp), rate)
        built.sim.trace.keep = keep_trace
        built.run_for(1_000)  # settle: metadata, connections, the first fetches
        sent = sum(p.sent for p in built.producers)
        acked = sum(p.acked for p in built.producers)
        consumed = sum(len(c.records) for c in built.consumers)
        wall, cpu = time.perf_counter(), time.process_time()
        built.run_for(int(seconds * 1000))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        for p in built.producers:
            assert p.failed == 0, f"{p.name}: {p.failed} sends failed"
        return Measured(
            sent=sum(p.sent for p in built.producers) - sent,
            records=sum(p.acked for p in built.producers) - acked,
            consumed=sum(len(c.records) for c in built.consumers) - consumed,
            wall_s=wall,
            cpu_s=cpu,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds timed")
    parser.add_argument("--rate", type=int, default=2_000, help="producer records/s (simulated)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument(
        "--without-trace",
        action="store_true",
        help="do not keep the simulation's trace (a run nobody scrubs; the baseline kept it)",
    )
    args = parser.parse_args()
    shapes = SHAPES if args.shape == "all" else {args.shape: SHAPES[args.shape]}
    print(
        f"{args.seconds:g} simulated seconds at {args.rate} records/s, "
        f"{args.rounds} rounds (median), seed {SEED}, "
        f"trace {'not kept' if args.without_trace else 'kept'}"
    )
    for name, build in shapes.items():
        runs = []
        for round_ in range(args.rounds):
            m = measure(build, args.seconds, args.rate, keep_trace=not args.without_trace)
            runs.append(m)
            print(
                f"  {name} round {round_ + 1}: {m.sent} records sent, {m.records} acked, "
                f"{m.consumed} consumed, "
                f"wall {m.wall_s:.2f} s, cpu {m.cpu_s:.2f} s"
            )
        wall = statistics.median(m.wall_s for m in runs)
        cpu = statistics.median(m.cpu_s for m in runs)
        records = statistics.median(m.records for m in runs)
        per_s = records / wall
        speedup = args.seconds / wall
        base = BASELINE[name]
        print(f"{name}:")
        print(
            f"  now:      {per_s:9,.0f} simulated records per wall second, "
            f"{speedup:6.1f}x real time  (cpu {records / cpu:9,.0f} records/s)"
        )
        print(
            f"  baseline: {base.records_per_s:9,.0f} simulated records per wall second, "
            f"{base.speedup:6.1f}x real time  (cpu {base.records_per_cpu_s:9,.0f} records/s; "
            f"{base.measured}, at {base.rate} records/s)"
        )
        ratio = per_s / base.records_per_s
        verdict = "met" if ratio >= 3 else "NOT MET"
        print(
            f"  ratio now / baseline: {ratio:.2f}   (target >= 3: {verdict}); "
            f"in CPU time {records / cpu / base.records_per_cpu_s:.2f} "
            "(the steadier figure on a shared machine)"
        )


if __name__ == "__main__":
    main()
