"""What a rebalance costs, eager against cooperative: time to Stable, partition-seconds paused.

A group of N-1 members of reflog's consumer reads a topic of 100 partitions in the simulated
cluster (3 brokers, 1-5 ms per message); once it is Stable, an N-th member joins. The benchmark
measures, in simulated time, from that join until the group is Stable again with every
partition owned by exactly one member (the coordinator and every member in the same
generation), and, over the same span, the **partition-seconds paused**: for each partition,
how long no member owned it (read from each member's ownership history), summed; and, for busy
members, the **peak behind**: the most records written and not yet processed, beyond what was
behind at the join.

Each shape runs twice with the same seed: ``range`` (eager: every member revokes everything
before it rejoins) and ``cooperative-sticky`` (KIP-429: only what moves is revoked, and a
second rebalance hands it over).

**Busy members** (the main shape, what "adding a consumer stops the whole group" is about): a
producer writes RATE_PER_S records a second, and each member processes every batch it polls for
``--processing-ms`` (500 ms, give or take half: members do not poll in step). As in Kafka's
Java consumer, a member takes its rebalance steps inside poll(): it hears of a rebalance from a
heartbeat (sent meanwhile, as Kafka's heartbeat thread does) but commits, revokes and sends its
JoinGroup only at its next poll, and sends the JoinGroup at the poll after that commit is
answered (``ConsumerCoordinator.onJoinPrepare`` waits for its own commit); a finished SyncGroup
is applied (callbacks, cooperative revocation) at its next poll too.

**Idle members** (a printed table after it): an empty topic, members always in poll();
``--slow-ms`` makes one existing member's links that much slower, which a rebalance must
wait for.

What to expect. Eager pauses every partition, from each member's revocation until the last
member has rejoined and synced: with busy members, the spread of their polls (a good part of a
batch per partition), with idle ones one round trip. Cooperative pauses only what moves, but
through a second round: the old owners revoke it when they apply the first round's result
(their next poll) and rejoin; the members that revoked nothing hear of the second round from a
heartbeat and, when busy, rejoin only polls later. So cooperative pauses far fewer
partition-seconds with 30 members (3-4 partitions move; eager stops all 100), or when the
group waits for a slow member; it pauses *more* with three members, busy or idle: a third of
the partitions waiting through two rounds costs more than all of them waiting for one.
``tests/consumer/test_rebalance_cost.py`` asserts each of these. Seed 1 (partition-seconds
paused, eager / cooperative; then time to Stable):

    busy, 500 ms a batch   N=3:   8.78 / 37.16   (865 / 4205 ms)
                           N=30: 41.31 /  5.98   (855 / 5110 ms)
    idle                   N=3:   3.12 / 10.43   (165 / 480 ms)
                           N=30:  4.50 /  1.00   (195 / 525 ms)

The peak behind is a rough figure: a busy member holds up to a batch's worth of records
unprocessed at any time, so a longer span (cooperative's) tends to catch a higher peak.

``--processes`` measures the same joins with real processes instead: a ``reflog cluster up``
of 3 brokers and 3 controllers, topic ``bench`` of 100 partitions (one replica each, to spare
the machine), confluent-kafka members in threads of this process (heartbeat 500 ms, the 6 s
minimum session), wall-clock time. Idle members poll all the time; busy ones take batches of
up to 500 records (``consume``, from the latest offset) and work on each for the processing
time (a sleep: the work), while a producer thread writes RATE_PER_S records a second. A
member's ownership changes when librdkafka calls its ``on_revoke``/``on_lost``/``on_assign``
(served only inside poll/consume); Stable is every partition owned by exactly one member and
the newcomer owning some (the coordinator's state is not asked). librdkafka differs from the
Java consumer: its background thread sends JoinGroup and SyncGroup without waiting for the
application's poll, which waits only for the rebalance callbacks (an eager member's
revocation, a cooperative member's incremental revoke and assign); a member that hears of the
second round from a heartbeat rejoins no sooner than a second after its previous join
(librdkafka's join interval). So there cooperative pauses fewer partition-seconds for busy
members at N=3 too, while idle members at N=3 pause more (the second round's second). One run
(wall-clock, on a loaded 2-core machine; eager / cooperative):

    busy, 500 ms a batch   N=3:  12.44 /  6.62   (824 / 1096 ms)
                           N=30: 40.33 /  4.05   (1093 / 1942 ms)
    idle                   N=3:   0.36 / 33.16   (503 / 1512 ms)
                           N=30:  1.43 /  3.03   (508 / 1520 ms)

Run: `.venv/bin/python benchmarks/rebalance.py [--members 3 30] [--processing-ms 500]
[--slow-ms 0 200] [--processes]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
RATE_PER_S = 1_000  # records written a second while members are busy processing
PROCESSING_MS = 500  # the busy shape: each polled batch takes this long to process,
PROCESSING_JITTER = 0.5  # give or take this share of it (members do not poll in step)


@dataclass(frozen=True)
class Result:
    strategy: str
    members: int
    slow_ms: int
    to_stable_ms: int
    paused_partition_s: float
    cpu_s: float
    processing_ms: int = 0  # per polled batch (0: idle members, an empty topic)
    peak_behind: int = 0  # most records behind (produced, not processed) beyond the join's


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
    partition."""
    changes = [[(c.at_ms, c.partitions) for c in history] for history in histories]
    return int(paused_partition_time(changes, start_ms, end_ms))


def paused_partition_time(
    histories: Sequence[Sequence[tuple[float, frozenset[object]]]], start: float, end: float
) -> float:
    """Partition-time between start and end in which no member owned a partition: each
    member's (time, partitions owned from then on) replayed in time order."""
    changes = sorted(
        ((at, i, partitions) for i, history in enumerate(histories) for at, partitions in history),
        key=lambda change: (change[0], change[1]),
    )
    owned_by: dict[int, frozenset[object]] = {}
    total = 0.0
    at = start
    for when, member, partitions in changes:
        if when > at:
            if when > start:
                unowned = PARTITIONS - len(set().union(*owned_by.values()))
                total += unowned * (min(when, end) - max(at, start))
            at = when
        if when >= end:
            break
        owned_by[member] = partitions
    if at < end:
        unowned = PARTITIONS - len(set().union(*owned_by.values()))
        total += unowned * (end - max(at, start))
    return total


def behind(cluster: Cluster) -> int:
    """Records written to the topic and not processed by any member yet."""
    written = sum(p.acked for p in cluster.producers.values())
    return written - sum(len(m.records) for m in members(cluster))


def run_until_stable(cluster: Cluster, timeout_ms: int) -> int:
    """Run until the group is Stable; the most records behind seen on the way."""
    deadline = cluster.sim.now_ms + timeout_ms
    peak = behind(cluster)
    while not stable(cluster):
        if cluster.sim.now_ms >= deadline:
            raise AssertionError("the group did not become Stable")
        cluster.run_for(5)  # the figure is within 5 ms
        peak = max(peak, behind(cluster))
    return peak


def one_join(
    strategy: str, group_size: int, slow_ms: int, seed: int, processing_ms: int = 0
) -> Result:
    """An N-th member joins a Stable group of N-1. With ``processing_ms``, records flow in
    (RATE_PER_S) and every member processes each batch it polls for that long."""
    started = time.process_time()
    member: dict[str, Any] = {**MEMBER, "processing_ms_per_poll": processing_ms}
    if processing_ms:
        member["processing_jitter"] = PROCESSING_JITTER
    with tempfile.TemporaryDirectory(prefix="reflog-rebalance-") as tmp:
        cluster = group_cluster(seed, Path(tmp))
        if processing_ms:
            cluster.add_producer("p", TOPIC, rate_per_s=RATE_PER_S, acks=1)
        for i in range(group_size - 1):
            cluster.add_consumer(
                f"c{i}", TOPIC, group_id=GROUP, assignment_strategy=strategy, **member
            )
        run_until_stable(cluster, 30_000)
        cluster.run_for(1_000)
        if slow_ms:
            cluster.slow("c0", None, slow_ms)
        joined_at, at_join = cluster.sim.now_ms, behind(cluster)
        cluster.add_consumer(
            f"c{group_size - 1}", TOPIC, group_id=GROUP, assignment_strategy=strategy, **member
        )
        peak = run_until_stable(cluster, 30_000)
        stable_at = cluster.sim.now_ms
        histories = [m.history for m in members(cluster)]
        paused = paused_partition_ms(histories, joined_at, stable_at)
    return Result(
        strategy,
        group_size,
        slow_ms,
        stable_at - joined_at,
        paused / 1000,
        time.process_time() - started,
        processing_ms,
        peak - at_join if processing_ms else 0,
    )


# -- real processes --------------------------------------------------------------------------
PROCESS_CLUSTER = (
    "--broker-session-timeout-ms", "3000",
    "--broker-heartbeat-interval-ms", "300",
    "--election-timeout-ms", "300",
    "--offsets-topic-num-partitions", "5",
)  # fmt: skip


class ProcessMember:
    """A confluent-kafka member polling in its own thread; ``history`` is (monotonic time,
    partitions owned from then on), changed by librdkafka's rebalance callbacks. With
    ``processing_s``, it takes batches of up to 500 records (``consume``) and works on each
    for that long, give or take PROCESSING_JITTER (the work: the thread does not poll
    meanwhile, so librdkafka serves rebalance callbacks only at its next call)."""

    def __init__(
        self, name: str, bootstrap: str, group: str, strategy: str, processing_s: float = 0.0
    ) -> None:
        import confluent_kafka

        self.history: list[tuple[float, frozenset[object]]] = []
        self.stop = threading.Event()
        self.processing_s = processing_s
        self.processed = 0
        self.random = random.Random(name)
        self.consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": name,
                "partition.assignment.strategy": strategy,
                "session.timeout.ms": 6_000,
                "heartbeat.interval.ms": 500,
                "auto.offset.reset": "latest" if processing_s else "earliest",
            }
        )
        # Callbacks that do not assign themselves: confluent-kafka applies the change after.
        self.consumer.subscribe(
            ["bench"], on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._revoked
        )
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def owned(self) -> frozenset[object]:
        return self.history[-1][1] if self.history else frozenset()

    def _assigned(self, consumer: object, partitions: list[object]) -> None:
        added = {tp.partition for tp in partitions}  # type: ignore[attr-defined]
        self.history.append((time.monotonic(), self.owned() | added))

    def _revoked(self, consumer: object, partitions: list[object]) -> None:
        removed = {tp.partition for tp in partitions}  # type: ignore[attr-defined]
        self.history.append((time.monotonic(), self.owned() - removed))

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.processing_s:
                    self.consumer.poll(0.02)
                    continue
                batch = self.consumer.consume(500, 0.02)
                if batch:
                    spread = PROCESSING_JITTER * self.random.uniform(-1, 1)
                    time.sleep(self.processing_s * (1 + spread))  # the work on the batch
                    self.processed += sum(1 for m in batch if m.error() is None)
        finally:
            self.consumer.close()


class ProcessProducer:
    """Writes RATE_PER_S records a second to ``bench`` from its own thread."""

    def __init__(self, bootstrap: str) -> None:
        import confluent_kafka

        self.delivered = 0
        self.stop = threading.Event()
        self.producer = confluent_kafka.Producer(
            {"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 5}
        )
        self.thread = threading.Thread(target=self._run, name="producer", daemon=True)
        self.thread.start()

    def _delivered(self, error: object, message: object) -> None:
        if error is None:
            self.delivered += 1

    def _run(self) -> None:
        started, sent = time.monotonic(), 0
        while not self.stop.is_set():
            due = int((time.monotonic() - started) * RATE_PER_S)
            for i in range(sent, due):
                self.producer.produce("bench", b"record-%d" % i, on_delivery=self._delivered)
            sent = due
            self.producer.poll(0.01)  # serves delivery reports; paces the loop
        self.producer.flush(10)


def settled(group: Sequence[ProcessMember], newcomer: ProcessMember | None = None) -> bool:
    owned = [p for m in group for p in m.owned()]
    every_once = len(owned) == len(set(owned)) == PARTITIONS
    return every_once and (newcomer is None or bool(newcomer.owned()))


def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the group did not settle")
        time.sleep(0.005)


def one_process_join(
    bootstrap: str, strategy: str, group_size: int, processing_ms: int = 0
) -> Result:
    started = time.process_time()
    group_id = f"bench-{uuid.uuid4().hex[:8]}"
    work = processing_ms / 1000
    group = [
        ProcessMember(f"c{i}", bootstrap, group_id, strategy, work) for i in range(group_size - 1)
    ]
    producer = ProcessProducer(bootstrap) if processing_ms else None
    peak = 0

    def settled_now() -> bool:  # and the most records behind seen meanwhile
        nonlocal peak
        if producer is not None:
            peak = max(peak, producer.delivered - sum(m.processed for m in group))
        return settled(group, newcomer)

    try:
        wait_until(lambda: settled(group), 180)
        time.sleep(2)
        joined_at = time.monotonic()
        at_join = peak = producer.delivered - sum(m.processed for m in group) if producer else 0
        newcomer = ProcessMember(f"c{group_size - 1}", bootstrap, group_id, strategy, work)
        group.append(newcomer)
        wait_until(settled_now, 180)
        stable_at = time.monotonic()
    finally:
        if producer is not None:
            producer.stop.set()
            producer.thread.join(30)
        for member in group:
            member.stop.set()
        for member in group:
            member.thread.join(30)
    paused = paused_partition_time([m.history for m in group], joined_at, stable_at)
    return Result(
        strategy,
        group_size,
        0,
        round((stable_at - joined_at) * 1000),
        paused,
        time.process_time() - started,
        processing_ms,
        peak - at_join,
    )


def process_results(sizes: Sequence[int], processing_ms: int) -> list[Result]:
    from confluent_kafka.admin import AdminClient, NewTopic

    from tests.cluster_process import running_cluster

    results = []
    with (
        tempfile.TemporaryDirectory(prefix="reflog-rebalance-") as tmp,
        running_cluster(Path(tmp), 3, 3, *PROCESS_CLUSTER) as cluster,
    ):
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        for created in admin.create_topics([NewTopic("bench", PARTITIONS, 1)]).values():
            created.result(60)
        for work in (0, processing_ms):  # idle first: its members read the topic from the start
            for size in sizes:
                for strategy in STRATEGIES:
                    results.append(one_process_join(cluster.bootstrap, strategy, size, work))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, nargs="+", default=[3, 30])
    parser.add_argument("--slow-ms", type=int, nargs="+", default=[0, 200])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processing-ms", type=int, default=PROCESSING_MS, help="busy shape")
    parser.add_argument("--processes", action="store_true", help="real processes, not the sim")
    args = parser.parse_args()
    if args.processes:
        print(f"Real processes: a member joins a Stable group of N-1 over {PARTITIONS} partitions")
        print(f"busy: {RATE_PER_S} records/s, {args.processing_ms} ms a batch; idle: no records")
        print(f"{'shape':>5} {'N':>3} {'strategy':>19} {'join->Stable':>13} "
              f"{'partition-s paused':>19} {'peak behind':>12}")  # fmt: skip
        for r in process_results(args.members, args.processing_ms):
            print(
                f"{'busy' if r.processing_ms else 'idle':>5} {r.members:>3} {r.strategy:>19} "
                f"{r.to_stable_ms:>10} ms {r.paused_partition_s:>19.2f} {r.peak_behind:>12}"
            )
        return
    print(
        f"A member joins a Stable group of N-1 over {PARTITIONS} partitions; heartbeat "
        f"{MEMBER['heartbeat_interval_ms']} ms; simulated time; seed {args.seed}"
    )
    print(
        f"Busy members: {RATE_PER_S} records/s flow in, each polled batch takes "
        f"{args.processing_ms} ms (+-{PROCESSING_JITTER:.0%}) to process"
    )
    print(f"{'N':>3} {'strategy':>19} {'join->Stable':>13} {'partition-s paused':>19} "
          f"{'peak behind':>12} {'CPU':>6}")  # fmt: skip
    for size in args.members:
        for strategy in STRATEGIES:
            r = one_join(strategy, size, 0, args.seed, args.processing_ms)
            print(
                f"{r.members:>3} {r.strategy:>19} {r.to_stable_ms:>10} ms "
                f"{r.paused_partition_s:>19.2f} {r.peak_behind:>12} {r.cpu_s:>5.1f}s"
            )
    print("Idle members (an empty topic, always in poll()); --slow-ms slows c0's links")
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
