"""How fast the in-kernel simulation runs a cluster, next to real time and to the baseline.

Two shapes of :class:`reflog.sim.Cluster` (a broker always follows a controller quorum,
so both have one controller), each with a producer sending at a fixed rate and a consumer
reading every partition of the topic from the beginning:

* 1 broker:  a topic of 3 partitions, one replica each, ``acks=1``;
* 3 brokers: a topic of 3 partitions with replication factor 3, ``acks=all`` (followers
  fetch, the high watermark gates the ack).

For each shape the cluster is built, the topic created and the clients settled first
(untimed); then ``run_for(duration)`` is timed. The measured rounds run with
``Cluster(record=False, keep_trace=False)``: no snapshots and no trace kept, as a benchmark
or a long soak would run (nobody scrubs them). Beside them, one round with the trace kept (as the
baseline ran: it had no recorder) and one with recording on (a snapshot of the cluster for
every busy millisecond and the trace kept, as a notebook's cluster runs), so what each
costs is visible. Printed per shape, as the median over rounds:

* simulated records per wall-clock second (records the producer saw acknowledged in the
  timed window, divided by the wall time it took);
* the speed-up over real time (simulated milliseconds per wall-clock millisecond);
* the same figures measured on the commit before the speed work (``BASELINE``) and the ratio.

The CPU time of the run is printed too, with its own ratio: on a shared machine it moves
much less than wall time (the baseline was measured on an idle one).

Target (issue 11): at least 3x the baseline's records per second on each shape.

Measured on 2026-12-06 at 14:44 UTC with the default arguments, the 2-core machine shared
with two other sessions (load average about 2), c8e2dc6 against 253f799 (before
the last round of speed work) run one after the other: recording off, 1 broker 70,493
records per wall second and 70,536 per CPU second (3.37x the baseline in both; 253f799:
60,866 and 60,896), 3 brokers 35,659 and 37,541 (15.3x and 15.9x; 253f799: 35,041 and
35,042). A second pair a minute later gave 1 broker 70,304 / 71,123 against 56,586 /
61,099. The 1-broker gain came from the per-record path: the workload hands the records
that only join the open batch to the producer in one call, and the record encoder and
decoder write and read the usual small record in one go (valgrind counts 16% fewer
instructions for 2 simulated seconds, 12% fewer with 3 brokers).

Run: `.venv/bin/python benchmarks/simulation.py [--seconds 10] [--rate 2000] [--rounds 5]`
(under a minute on the 2-core work machine; ``--traced-rounds 0 --recorded-rounds 0``
skip the rounds beside the measured ones).
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

from reflog.sim import Cluster

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
# median) on main's 83fc9a5, before the speed work, on the 2-core machine of the work session,
# with the trace kept. On that commit the 1-broker shape was a lone broker without a
# controller (reflog.sim.cluster.Cluster of the time) and the 3-broker one a KraftCluster; the
# 3-broker producer fell behind (11,045 of 20,000 records acknowledged in the window, its
# backlog growing), so that shape's figure counts only the acknowledged ones.
BASELINE: dict[str, Baseline] = {
    "1 broker": Baseline(20_926, 10.5, 20_945, 2_000, "83fc9a5, 2026-12-06, over 10 simulated s"),
    "3 brokers": Baseline(2_334, 2.1, 2_366, 2_000, "83fc9a5, 2026-12-06, over 10 simulated s"),
}


@dataclass(frozen=True)
class Mode:
    label: str
    record: bool  # Cluster(record=...): a snapshot of the cluster per busy millisecond
    keep_trace: bool  # the simulation keeps every event of the run


BARE = Mode("recording off", record=False, keep_trace=False)  # the measured rounds
TRACED = Mode("trace kept", record=False, keep_trace=True)  # what the baseline kept
RECORDED = Mode("recording on", record=True, keep_trace=True)  # as a notebook's cluster runs


def one_broker(data_dir: Path, rate: int, mode: Mode) -> Cluster:
    cluster = Cluster(
        seed=SEED, brokers=1, data_dir=data_dir, record=mode.record, keep_trace=mode.keep_trace
    )
    cluster.create_topic(TOPIC, PARTITIONS, replication_factor=1)
    cluster.add_producer("producer", TOPIC, rate_per_s=rate, acks=1)
    cluster.add_consumer("consumer", TOPIC)
    return cluster


def three_brokers(data_dir: Path, rate: int, mode: Mode) -> Cluster:
    cluster = Cluster(
        seed=SEED, brokers=3, data_dir=data_dir, record=mode.record, keep_trace=mode.keep_trace
    )
    cluster.create_topic(TOPIC, PARTITIONS, replication_factor=3)
    cluster.add_producer("producer", TOPIC, rate_per_s=rate, acks=-1)
    cluster.add_consumer("consumer", TOPIC)
    return cluster


SHAPES: dict[str, Callable[[Path, int, Mode], Cluster]] = {
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


def counts(cluster: Cluster) -> tuple[int, int, int]:
    """Records sent, acknowledged and consumed so far."""
    return (
        sum(p.sent for p in cluster.producers.values()),
        sum(p.acked for p in cluster.producers.values()),
        sum(len(c.records) for c in cluster.consumers.values()),
    )


def measure(
    build: Callable[[Path, int, Mode], Cluster], seconds: float, rate: int, mode: Mode
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="reflog-simbench-") as tmp:
        cluster = build(Path(tmp), rate, mode)
        cluster.run_for(1_000)  # settle: metadata, connections, the first fetches
        before = counts(cluster)
        wall, cpu = time.perf_counter(), time.process_time()
        cluster.run_for(int(seconds * 1000))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        for p in cluster.producers.values():
            assert p.failed == 0, f"{p.name}: {p.failed} sends failed"
        after = counts(cluster)
        sent, records, consumed = (now - then for now, then in zip(after, before, strict=True))
        return Measured(sent, records, consumed, wall, cpu)


@dataclass(frozen=True)
class Figures:
    records_per_s: float
    speedup: float
    records_per_cpu_s: float
    speedup_cpu: float


def figures(runs: list[Measured], seconds: float) -> Figures:
    wall = statistics.median(m.wall_s for m in runs)
    cpu = statistics.median(m.cpu_s for m in runs)
    records = statistics.median(m.records for m in runs)
    return Figures(records / wall, seconds / wall, records / cpu, seconds / cpu)


def rounds(
    name: str,
    build: Callable[[Path, int, Mode], Cluster],
    args: argparse.Namespace,
    count: int,
    mode: Mode,
) -> Figures | None:
    runs = []
    for round_ in range(count):
        m = measure(build, args.seconds, args.rate, mode)
        runs.append(m)
        print(
            f"  {name} round {round_ + 1} ({mode.label}): "
            f"{m.sent} records sent, {m.records} acked, {m.consumed} consumed, "
            f"wall {m.wall_s:.2f} s, cpu {m.cpu_s:.2f} s",
            flush=True,
        )
    return figures(runs, args.seconds) if runs else None


def line(label: str, f: Figures | Baseline) -> str:
    if isinstance(f, Baseline):
        return (
            f"  {label:<14}{f.records_per_s:9,.0f} records per wall second, "
            f"{f.speedup:5.1f}x real time; cpu {f.records_per_cpu_s:9,.0f} records/s"
        )
    return (
        f"  {label:<14}{f.records_per_s:9,.0f} records per wall second, "
        f"{f.speedup:5.1f}x real time; cpu {f.records_per_cpu_s:9,.0f} records/s, "
        f"{f.speedup_cpu:5.1f}x real time"
    )


def verdict(ratio: float) -> str:
    return "target >= 3 met" if ratio >= 3 else "target >= 3 NOT met"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds timed")
    parser.add_argument("--rate", type=int, default=2_000, help="producer records/s (simulated)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds with recording off")
    parser.add_argument(
        "--traced-rounds",
        type=int,
        default=1,
        help="rounds with recording off but the trace kept, as the baseline ran (0: none)",
    )
    parser.add_argument(
        "--recorded-rounds", type=int, default=1, help="rounds with recording on (0: none)"
    )
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    args = parser.parse_args()
    shapes = SHAPES if args.shape == "all" else {args.shape: SHAPES[args.shape]}
    print(
        f"{args.seconds:g} simulated seconds at {args.rate} records/s, seed {SEED}, medians of "
        f"{args.rounds} rounds with recording off (Cluster(record=False, keep_trace=False)); "
        f"beside them {args.traced_rounds} round(s) with the trace kept (as the baseline did) "
        f"and {args.recorded_rounds} with recording on (a snapshot per busy millisecond and "
        "the trace kept, as in a notebook)"
    )
    for name, build in shapes.items():
        bare = rounds(name, build, args, args.rounds, BARE)
        assert bare is not None, "at least one round with recording off (--rounds)"
        others = [
            (mode, figures_)
            for mode, count in ((TRACED, args.traced_rounds), (RECORDED, args.recorded_rounds))
            if (figures_ := rounds(name, build, args, count, mode)) is not None
        ]
        base = BASELINE[name]
        print(f"{name}:")
        print(line(BARE.label, bare))
        for mode, other in others:
            cost = bare.records_per_cpu_s / other.records_per_cpu_s
            print(line(mode.label, other) + f"  ({cost:.2f}x the CPU time of recording off)")
        print(line("baseline", base) + f"  ({base.measured}, at {base.rate} records/s)")
        ratio = bare.records_per_s / base.records_per_s
        ratio_cpu = bare.records_per_cpu_s / base.records_per_cpu_s
        print(
            f"  {BARE.label} / baseline: {ratio:.2f} in wall time ({verdict(ratio)}), "
            f"{ratio_cpu:.2f} in CPU time ({verdict(ratio_cpu)}; the steadier figure on a "
            "shared machine)"
        )
        for mode, other in others:
            print(
                f"  {mode.label} / baseline: {other.records_per_s / base.records_per_s:.2f} in "
                f"wall time, {other.records_per_cpu_s / base.records_per_cpu_s:.2f} in CPU time"
            )


if __name__ == "__main__":
    main()
