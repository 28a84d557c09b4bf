"""The chaos run inside the simulation: a seeded nemesis against a ``reflog.sim.Cluster``
while every produce request and its answer lands in a :class:`reflog.check.History`.

The same checker that judges ``reflog chaos`` on real processes judges these runs, so a
notebook (and a test) can show a safe and an unsafe configuration side by side, deterministic
by seed, in simulated seconds::

    run = SimulatedRun.replicated(seed=10, data_dir=path, truncation_policy=...)
    run.random_faults(seed=10)
    run.heal_write_and_read()
    print(run.verdict().describe())

:meth:`SimulatedRun.random_faults` is the schedule of ``tests/replication/
test_replication_faults.py`` (the same draws from the same seeded stream), so its seeds that
break the pre-KIP-101 truncation rule break it here too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from reflog.check import REFUSED_BEFORE_APPEND, History, Verdict, check
from reflog.records.batch import iter_batches
from reflog.records.file_slice import FileSlice
from reflog.sim import Cluster, LinkConfig, ProduceResult
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic

__all__ = ["BROKERS", "FaultEvent", "SimulatedRun", "fetch_records"]

BROKERS = ("broker-1", "broker-2", "broker-3")
TP = TopicPartition("r", 0)
PRODUCER = "producer"
READER = "final-reader"


@dataclass(frozen=True)
class FaultEvent:
    """One thing the nemesis did: ``kind`` is crash, restart, isolate, slow or heal."""

    at_ms: int
    kind: str
    target: str  # a node name ("broker-2"), a link ("broker-1 → broker-3"), or "all"


class SimulatedRun:
    """A replicated topic on a simulated cluster, with a recorded producer and reader."""

    def __init__(self, cluster: Cluster, tp: TopicPartition = TP, *, acks: int = -1) -> None:
        self.cluster = cluster
        self.tp = tp
        self.acks = acks
        self.history = History()
        self.faults: list[FaultEvent] = []
        self._waiting: list[tuple[int, ProduceResult]] = []  # sends not answered yet
        self._sent = 0

    @classmethod
    def replicated(
        cls,
        seed: int,
        data_dir: Path,
        *,
        acks: int = -1,
        min_insync_replicas: int = 2,
        unclean: bool = False,
        record: bool = True,
        **broker_settings: object,
    ) -> SimulatedRun:
        """3 controllers, 3 brokers, topic "r": 1 partition, 3 replicas, every append fsynced
        (so a crash tests the replication rules, not fsync timing)."""
        cluster = Cluster(
            seed=seed,
            controllers=3,
            data_dir=data_dir,
            record=record,
            replica_lag_time_max_ms=1_000,
            **broker_settings,  # type: ignore[arg-type]
        )
        configs = {"min.insync.replicas": str(min_insync_replicas), "flush.messages": "1"}
        if unclean:
            configs["unclean.leader.election.enable"] = "true"
        cluster.create_topic(TP.topic, 1, 3, configs=configs)
        return cls(cluster, TP, acks=acks)

    # -- the producer -------------------------------------------------------------------
    def send(self, value: bytes | None = None) -> int:
        """One record to the leader, recorded when it leaves; returns its operation index."""
        if value is None:
            value = b"v%d" % self._sent
        self._sent += 1
        cluster = self.cluster
        index = self.history.invoke_send(PRODUCER, self.tp, [value], cluster.now_ms)
        leader = cluster.leader_of(self.tp)
        result = cluster.send(
            self.tp, [value], acks=self.acks, broker=leader if leader > 0 else None,
            request_timeout_ms=2_000,
        )  # fmt: skip
        self._waiting.append((index, result))
        return index

    def collect_answers(self) -> None:
        """Each answer that came, at the time it came; unanswered sends stay indeterminate."""
        still: list[tuple[int, ProduceResult]] = []
        for index, result in self._waiting:
            if result.answered_ms is None or result.error_code is None:
                still.append((index, result))
            elif result.error_code == ErrorCode.NONE:
                self.history.acknowledged(index, result.base_offset, result.answered_ms)
            else:
                definite = result.error_code in REFUSED_BEFORE_APPEND
                self.history.failed(index, result.error, result.answered_ms, definite=definite)
        self._waiting = still

    def run_for(self, ms: int) -> None:
        self.cluster.run_for(ms)
        self.collect_answers()

    # -- the nemesis --------------------------------------------------------------------
    def fault(self, kind: str, target: str) -> None:
        """Crash, restart or isolate a node, or heal the network, and remember it."""
        cluster = self.cluster
        if kind == "crash":
            cluster.crash(target)
        elif kind == "restart":
            cluster.restart(target)
        elif kind == "isolate":
            cluster.isolate(target)
        elif kind == "heal":
            cluster.heal()
        else:
            raise ValueError(f"no such fault: {kind}")
        self.faults.append(FaultEvent(cluster.now_ms, kind, target))

    def random_faults(self, seed: int, steps: int = 120, step_ms: int = 25) -> None:
        """The producer sends one record per step while a seeded nemesis crashes, restarts
        and isolates brokers and slows links (the replication fault tests' schedule)."""
        rng = random.Random(seed)
        cluster = self.cluster
        for _ in range(steps):
            if cluster.active_controller() is not None and cluster.leader_of(self.tp) > 0:
                self.send()
            roll = rng.random()
            victim = rng.choice(BROKERS)
            if roll < 0.04 and sum(cluster.sim.is_up(b) for b in BROKERS) > 1:
                self.fault("crash", victim)
            elif roll < 0.10:
                if not cluster.sim.is_up(victim):  # restarting a running broker: nothing
                    self.fault("restart", victim)
            elif roll < 0.13:
                self.fault("isolate", victim)
            elif roll < 0.18:
                # The network alone, as the fault tests do (a slow link outlasts it).
                cluster.sim.heal()
                self.faults.append(FaultEvent(cluster.now_ms, "heal", "network"))
            elif roll < 0.20:
                other = rng.choice([b for b in BROKERS if b != victim])
                slow = LinkConfig(latency_ms_min=20, latency_ms_max=rng.randrange(21, 400))
                cluster.sim.network.configure(victim, other, slow)
                self.faults.append(FaultEvent(cluster.now_ms, "slow", f"{victim} → {other}"))
            self.run_for(step_ms)

    # -- the end: heal and read ---------------------------------------------------------
    def heal_write_and_read(self, writes_after: int = 3) -> None:
        """Heal everything and let the leader settle with every replica in sync; write a few
        more records, as a workload goes on after its faults (so that a lost offset is reused
        and read past, not just missing at the end); then read the partition from its leader
        with Fetch requests."""
        cluster = self.cluster
        self.fault("heal", "all")
        for name in (*BROKERS, *cluster.controllers):
            if not cluster.sim.is_up(name):
                self.fault("restart", name)
        cluster.wait_until(self._leader_settled, timeout_ms=30_000, what="a settled leader")
        for n in range(writes_after):
            self.send(b"after-heal-%d" % n)
            cluster.run_until(self._last_send_answered, timeout_ms=5_000)
            self.collect_answers()
        self.read_all()

    def read_all(self) -> None:
        """Poll the partition from offset 0 to the leader's high watermark (final reads)."""
        cluster = self.cluster
        leader = cluster.leader_of(self.tp)
        offset = 0
        while True:
            invoked = cluster.now_ms
            records, high_watermark = fetch_records(cluster, leader, self.tp, offset)
            self.history.poll(READER, records, invoked, cluster.now_ms)
            offset = records[-1][1] + 1 if records else offset
            if offset >= high_watermark or not records:
                return

    def verdict(self) -> Verdict:
        return check(self.history)

    def _last_send_answered(self) -> bool:
        return self._waiting[-1][1].answered_ms is not None

    def _leader_settled(self) -> bool:
        cluster = self.cluster
        leader = cluster.leader_of(self.tp) if cluster.active_controller() else -1
        if leader <= 0 or cluster.brokers[leader].broker is None:
            return False
        replica = cluster.replica(leader, self.tp)
        return (
            replica is not None
            and len(replica.isr) == len(BROKERS)
            and replica.high_watermark == replica.log.log_end_offset
        )


def fetch_records(
    cluster: Cluster, leader: int, tp: TopicPartition, offset: int
) -> tuple[list[tuple[TopicPartition, int, bytes]], int]:
    """A Fetch request to ``leader`` for ``tp`` from ``offset``: the (tp, offset, value) of
    each record it returned, and the high watermark it reported."""
    request = FetchRequest(
        max_wait_ms=0,
        topics=[
            FetchTopic(
                topic=tp.topic, partitions=[FetchPartition(tp.partition, fetch_offset=offset)]
            )
        ],
    )
    response = cluster.request(leader, request, version=11)
    assert isinstance(response, FetchResponse)
    data = response.responses[0].partitions[0]
    if data.error_code != ErrorCode.NONE:
        raise RuntimeError(f"final read failed: {ErrorCode(data.error_code).name}")
    raw = data.records.read() if isinstance(data.records, FileSlice) else data.records or b""
    records = [
        (tp, record.offset, record.value or b"")
        for batch in iter_batches(raw)
        for record in batch.records()
        if record.offset >= offset
    ]
    return records, data.high_watermark
