"""Randomized faults against reflog's producer: exactly once with idempotence, not without.

Each seed draws one schedule on a 3-broker cluster (topic of 2 partitions, replication
factor 3, ``min.insync.replicas=2``, ``acks=all``): the links between the producer and the
brokers lose requests and answers, and one broker at a time is crashed (often a partition
leader, so leadership fails over) and restarted after a pause or at once. Then the
producer finishes, and each partition's committed log is read back.

With idempotence on, for every seed: each acknowledged record is in the log exactly once,
at the offset it was acknowledged with, in send order per partition, and no record at
all is written twice. With idempotence off, the same schedules write duplicates (the
test asserts some seed finds them, so it can tell the two apart).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from reflog.producer import SendResult
from reflog.sim import Cluster
from reflog.sim.cluster import records_of
from reflog.sim.network import LinkConfig
from reflog.sim.workloads import ProducerWorkload
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

SEEDS = 300
SEEDS_WITHOUT_IDEMPOTENCE = 40  # the first ones of the same schedules: enough to find some
PARTITIONS = (0, 1)
PRODUCE_MS = 2_000


@dataclass
class Outcome:
    acknowledged: int = 0
    duplicates: int = 0  # records written more than once
    leader_changes: int = 0
    problems: list[str] = field(default_factory=list)


def run_schedule(seed: int, idempotent: bool) -> Outcome:
    rng = random.Random(seed)
    cluster = Cluster(seed=seed, brokers=3, record=False, keep_trace=False)
    cluster.create_topic("t", len(PARTITIONS), configs={"min.insync.replicas": "2"})
    producer = cluster.add_producer(
        "p",
        "t",
        rate_per_s=200,
        keys=[b"k%d" % i for i in range(8)],
        request_timeout_ms=500,
        enable_idempotence=idempotent,
    )
    results = producer.keep_results()
    lossy = LinkConfig(latency_ms_min=1, latency_ms_max=5, loss=rng.uniform(0.01, 0.05))
    for broker in cluster.broker_nodes:  # requests lost on the way in, answers on the way out
        cluster.sim.network.configure("p", broker, lossy)
        cluster.sim.network.configure(broker, "p", lossy)
    end = cluster.now_ms + PRODUCE_MS
    while cluster.now_ms < end:
        cluster.run_for(rng.randrange(100, 400))
        victim = _pick_victim(cluster, rng)
        cluster.crash(victim)
        cluster.run_for(rng.choice([0, rng.randrange(100, 1_500)]))  # a restart, or an outage
        cluster.restart(victim)
        # One broker down at a time: every acknowledged record keeps a copy on a live broker.
        cluster.run_until(lambda: _all_in_sync(cluster), timeout_ms=10_000)
    producer.set_rate(0)
    cluster.heal()
    finished = cluster.run_until(lambda: producer.producer.pending_count == 0, 30_000)
    in_sync = cluster.run_until(lambda: _all_in_sync(cluster), 10_000)
    outcome = Outcome()
    if not (finished and in_sync):
        outcome.problems.append(f"did not settle: producer done {finished}, ISRs full {in_sync}")
        return outcome
    _check(cluster, producer, results, outcome)
    return outcome


def _pick_victim(cluster: Cluster, rng: random.Random) -> str:
    """A partition's leader most of the time (a failover), else any broker."""
    leader = cluster.leader_of("t", rng.choice(PARTITIONS))
    if leader > 0 and rng.random() < 0.75:
        return f"broker-{leader}"
    return rng.choice(sorted(cluster.broker_nodes))


def _all_in_sync(cluster: Cluster) -> bool:
    """Every partition's ISR, as the active controller committed it, has all 3 brokers."""
    if cluster.active_controller() is None:
        return False
    image = cluster.controller().image
    states = [image.partition(TopicPartition("t", p)) for p in PARTITIONS]
    return all(state is not None and len(state.isr) == 3 for state in states)


def _check(
    cluster: Cluster, producer: ProducerWorkload, results: list[SendResult], outcome: Outcome
) -> None:
    acknowledged = {r.send_id: r for r in results if r.error == ErrorCode.NONE}
    outcome.acknowledged = len(acknowledged)
    if producer.failed:
        outcome.problems.append(f"{producer.failed} records failed")
    for partition in PARTITIONS:
        tp = TopicPartition("t", partition)
        leader = cluster.leader_of(tp)
        replica = cluster.replica(leader, tp)
        log = cluster.broker(leader).logs.get(tp)
        assert replica is not None and log is not None
        outcome.leader_changes += replica.leader_epoch
        written = records_of(log, replica.high_watermark)  # (offset, value), committed
        sent_ids = [_send_id(value) for _, value in written]
        counts = Counter(sent_ids)
        outcome.duplicates += sum(n - 1 for n in counts.values())
        where = {send_id: offset for (offset, _), send_id in zip(written, sent_ids, strict=True)}
        mine = [r for r in acknowledged.values() if r.partition == partition]
        for result in mine:
            if counts[result.send_id] != 1:
                outcome.problems.append(
                    f"{tp}: acknowledged record {result.send_id} is in the log "
                    f"{counts[result.send_id]} times"
                )
            elif result.offset >= 0 and where[result.send_id] != result.offset:
                outcome.problems.append(
                    f"{tp}: record {result.send_id} acknowledged at offset {result.offset}, "
                    f"found at {where[result.send_id]}"
                )
        in_log_order = [i for i in sent_ids if i in acknowledged]
        if in_log_order != sorted(in_log_order):
            outcome.problems.append(f"{tp}: acknowledged records out of send order")


def _send_id(value: bytes | None) -> int:
    """The workload sends ``record-N`` as its N-th record (its producer's send id N)."""
    assert value is not None and value.startswith(b"record-")
    return int(value.removeprefix(b"record-"))


@pytest.mark.parametrize("first", range(0, SEEDS, 50))
def test_with_idempotence_every_acknowledged_record_is_written_once_in_order(first: int) -> None:
    outcomes = {seed: run_schedule(seed, idempotent=True) for seed in range(first, first + 50)}
    problems = {seed: o.problems for seed, o in outcomes.items() if o.problems}
    assert problems == {}
    assert sum(o.duplicates for o in outcomes.values()) == 0
    # The schedules did what they are for: leaders failed over, records were acknowledged.
    assert sum(o.leader_changes > 0 for o in outcomes.values()) > 40
    assert min(o.acknowledged for o in outcomes.values()) > 250


def test_without_idempotence_the_same_schedules_write_duplicates() -> None:
    outcomes = [run_schedule(seed, idempotent=False) for seed in range(SEEDS_WITHOUT_IDEMPOTENCE)]
    with_duplicates = [o for o in outcomes if o.duplicates > 0]
    assert len(with_duplicates) >= 1
