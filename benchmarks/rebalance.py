"""What a rebalance costs, eager against cooperative: time to Stable, partition-seconds paused.

A group of N-1 members of reflog's consumer reads a topic of 100 partitions in the simulated
cluster (3 brokers, 1-5 ms per message); once it is Stable, an N-th member joins. The benchmark
measures, in simulated time, from that join until the group is Stable again with every
partition owned by exactly one member (the coordinator and every member in the same
generation), and, over the same span, the **partition-seconds paused**: for each partition,
how long no member owned it (read from each member's ownership history), summed.

Each shape runs twice with the same seed: ``range`` (eager: every member revokes everything
before it rejoins) and ``cooperative-sticky`` (KIP-429: only what moves is revoked, and a
second rebalance hands it over). ``--slow-ms`` makes one existing member's links that much
slower (a member far away or busy), which a rebalance must wait for.

reflog simplification: only the simulation is measured here; the same against real processes
(``reflog cluster up`` and confluent-kafka members) is not written yet.

Run: `.venv/bin/python benchmarks/rebalance.py [--members 3 30] [--slow-ms 0 200]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.groups.config import GroupConfig
from reflog.groups.group import GroupState
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.sim import Cluster
from reflog.sim.group_consumers import GroupConsumerWorkload, Ownership
from reflog.topic_partition import TopicPartition

TOPIC = "t"
PARTITIONS = 100
GROUP = "g"
MEMBER = {"session_timeout_ms": 3_000, "heartbeat_interval_ms": 300}
STRATEGIES = ("range", "cooperative-sticky")


@dataclass(frozen=True)
class Result:
    strategy: str
    members: int
    slow_ms: int
    to_stable_ms: int
    paused_partition_s: float
    cpu_s: float


def group_cluster(seed: int, data_dir: Path) -> Cluster:
    cluster = Cluster(
        seed=seed,
        brokers=3,
        data_dir=data_dir,
        record=False,
        groups=GroupConfig(
            group_initial_rebalance_delay_ms=0,
            group_min_session_timeout_ms=500,
            offsets_topic_num_partitions=3,
        ),
    )
    cluster.create_topic(TOPIC, PARTITIONS)
    return cluster


def members(cluster: Cluster) -> list[GroupConsumerWorkload]:
    return [c for c in cluster.consumers.values() if isinstance(c, GroupConsumerWorkload)]


def stable(cluster: Cluster) -> bool:
    """The coordinator has the group Stable, every member is Stable in its generation, and
    every partition has exactly one owner."""
    offsets = TopicPartition(OFFSETS_TOPIC, partition_for(GROUP, 3))
    node = cluster.brokers.get(cluster.leader_of(offsets))
    core = None if node is None else node.broker
    group = None if core is None else core.groups.coordinator.groups.get(GROUP)
    if group is None or group.state != GroupState.STABLE:
        return False
    owned: list[TopicPartition] = []
    for member in members(cluster):
        state = member.consumer.group
        if state is None or (state.state.value, state.generation_id) != (
            "STABLE",
            group.generation_id,
        ):
            return False
        owned += member.partitions
    return len(owned) == len(set(owned)) == PARTITIONS


def paused_partition_ms(histories: Sequence[list[Ownership]], start_ms: int, end_ms: int) -> int:
    """Partition-milliseconds between start_ms and end_ms in which no member owned a
    partition: the ownership histories replayed in time order."""
    changes = sorted(
        (change.at_ms, i, change.partitions)
        for i, history in enumerate(histories)
        for change in history
    )
    owned_by: dict[int, frozenset[TopicPartition]] = {}
    total = 0
    at = start_ms
    for when, member, partitions in changes:
        if when > at:
            if when > start_ms:
                unowned = PARTITIONS - len(set().union(*owned_by.values()))
                total += unowned * (min(when, end_ms) - max(at, start_ms))
            at = when
        if when >= end_ms:
            break
        owned_by[member] = partitions
    if at < end_ms:
        unowned = PARTITIONS - len(set().union(*owned_by.values()))
        total += unowned * (end_ms - max(at, start_ms))
    return total


def run_until_stable(cluster: Cluster, timeout_ms: int) -> None:
    deadline = cluster.sim.now_ms + timeout_ms
    while not stable(cluster):
        if cluster.sim.now_ms >= deadline:
            raise AssertionError("the group did not become Stable")
        cluster.run_for(5)  # the figure is within 5 ms


def one_join(strategy: str, group_size: int, slow_ms: int, seed: int) -> Result:
    started = time.process_time()
    with tempfile.TemporaryDirectory(prefix="reflog-rebalance-") as tmp:
        cluster = group_cluster(seed, Path(tmp))
        for i in range(group_size - 1):
            cluster.add_consumer(
                f"c{i}", TOPIC, group_id=GROUP, assignment_strategy=strategy, **MEMBER
            )
        run_until_stable(cluster, 30_000)
        cluster.run_for(1_000)
        if slow_ms:
            cluster.slow("c0", None, slow_ms)
        joined_at = cluster.sim.now_ms
        cluster.add_consumer(
            f"c{group_size - 1}", TOPIC, group_id=GROUP, assignment_strategy=strategy, **MEMBER
        )
        run_until_stable(cluster, 30_000)
        stable_at = cluster.sim.now_ms
        paused = paused_partition_ms([m.history for m in members(cluster)], joined_at, stable_at)
    return Result(
        strategy,
        group_size,
        slow_ms,
        stable_at - joined_at,
        paused / 1000,
        time.process_time() - started,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, nargs="+", default=[3, 30])
    parser.add_argument("--slow-ms", type=int, nargs="+", default=[0, 200])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"A member joins a Stable group of N-1 over {PARTITIONS} partitions; heartbeat "
        f"{MEMBER['heartbeat_interval_ms']} ms; simulated time; seed {args.seed}"
    )
    print(f"{'N':>3} {'slow member':>12} {'strategy':>19} {'join->Stable':>13} "
          f"{'partition-s paused':>19} {'CPU':>6}")  # fmt: skip
    for size in args.members:
        for slow in args.slow_ms:
            for strategy in STRATEGIES:
                r = one_join(strategy, size, slow, args.seed)
                print(
                    f"{r.members:>3} {f'+{r.slow_ms} ms':>12} {r.strategy:>19} "
                    f"{r.to_stable_ms:>10} ms {r.paused_partition_s:>19.2f} {r.cpu_s:>5.1f}s"
                )


if __name__ == "__main__":
    main()
