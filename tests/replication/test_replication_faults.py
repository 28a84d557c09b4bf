"""Randomized faults against the durability contract (acks=all, 3 replicas, min.insync=2).

Each seed runs a simulated cluster (3 controllers, 3 brokers) while a producer sends acks=all
records to whoever leads, and the seed decides the faults: power-cut crashes and restarts of
brokers, a broker cut off from everyone, slow links. Then the network heals, every broker
comes back, and the invariants are checked:

* no acknowledged record is lost: each one is at its acknowledged offset in the leader's log;
* offsets are never reused: no two acknowledgements name the same offset;
* every in-sync replica holds the same committed prefix as the leader;
* after every step, no live replica's high watermark is past its own log end.

Followers fetch only a couple of batches at a time (``replica.fetch.max.bytes``), so a
follower that was down, cut off or slow catches up over several fetches, each answered with
a high watermark past what it carried; every schedule ends with one such lag for sure.

Unclean leader election stays off. Topics use flush.messages=1, so a power cut loses nothing
a broker acknowledged to its leader: what is checked is the replication rules, not fsync
timing. ``REFLOG_REPLICATION_SEEDS`` sets the number of seeds (500 in CI); a failing seed is
named in the assertion.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from reflog.records import iter_batches
from reflog.replication.truncation import TruncationPolicy
from reflog.sim import LinkConfig, ProduceResult
from reflog.sim.kafka_nodes import SimResponse
from reflog.sim.trace import MessageDelivered
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchResponse

from .harness import Cluster, records_of, replicated_cluster

SEEDS = int(os.environ.get("REFLOG_REPLICATION_SEEDS", "500"))
BROKERS = ("broker-1", "broker-2", "broker-3")
# replica.fetch.max.bytes: two of the schedule's one-record batches per follower fetch.
FETCH_MAX_BYTES = 150


def check_high_watermarks_within_logs(cluster: Cluster, tp: TopicPartition) -> None:
    """A replica's high watermark never passes its own log end: a follower takes the
    leader's only as far as it has copied (Kafka: ``min(leaderHW, logEndOffset)``)."""
    for broker_id in (1, 2, 3):
        p = cluster.replica(broker_id, tp)
        if p is not None:
            assert p.high_watermark <= p.log.log_end_offset, (
                f"broker {broker_id}'s high watermark {p.high_watermark} is past its log end "
                f"{p.log.log_end_offset}"
            )


def fetches_short_of_the_high_watermark(cluster: Cluster) -> int:
    """Follower fetches answered with records that end below the leader's high watermark:
    the follower was more than one fetch behind what the leader had committed."""
    short = 0
    for event in cluster.sim.trace.since(0):
        if not (
            isinstance(event, MessageDelivered)
            and event.dst in BROKERS
            and isinstance(event.payload, SimResponse)
            and isinstance(response := event.payload.body, FetchResponse)
        ):
            continue
        for topic in response.responses:
            for data in topic.partitions:
                if isinstance(data.records, bytes) and data.records:
                    end = [b.last_offset + 1 for b in iter_batches(data.records)][-1]
                    short += end < data.high_watermark
    return short


def run_schedule(
    seed: int,
    data_dir: Path,
    policy: TruncationPolicy = TruncationPolicy.LEADER_EPOCH,
    controller_faults: bool = False,
) -> None:
    rng = random.Random(seed)
    # Controller faults draw from their own stream, so the broker faults of a seed stay the same.
    controller_rng = random.Random(seed * 7919 + 1)
    cluster, tp = replicated_cluster(
        seed, data_dir, truncation_policy=policy, replica_fetch_max_bytes=FETCH_MAX_BYTES
    )
    controllers = sorted(cluster.controllers)
    sent: list[tuple[ProduceResult, bytes]] = []  # requests not answered yet
    acknowledged: dict[int, bytes] = {}  # offset -> value
    for step in range(120):
        # The producer: one record every step, to the leader the controller names.
        active = cluster.active_controller()
        if active is not None:
            leader = cluster.leader_of(tp)
            if leader > 0:
                value = b"%d-%d" % (seed, step)
                result = cluster.send(tp, [value], broker=leader, request_timeout_ms=2_000)
                sent.append((result, value))
        # The faults. The schedule acts on the simulation's network directly: its seeds were
        # found with a one-way slow link that outlasts a heal (Cluster.heal restores it).
        roll = rng.random()
        victim = rng.choice(BROKERS)
        if roll < 0.04 and sum(cluster.sim.is_up(b) for b in BROKERS) > 1:
            cluster.crash(victim)
        elif roll < 0.10:
            cluster.restart(victim)
        elif roll < 0.13:
            cluster.isolate(victim)
        elif roll < 0.18:
            cluster.sim.heal()
        elif roll < 0.20:
            other = rng.choice([b for b in BROKERS if b != victim])
            slow = LinkConfig(latency_ms_min=20, latency_ms_max=rng.randrange(21, 400))
            cluster.sim.network.configure(victim, other, slow)
        if controller_faults:
            c_roll = controller_rng.random()
            c_victim = controller_rng.choice(controllers)
            if c_roll < 0.03 and sum(cluster.sim.is_up(c) for c in controllers) > 2:
                cluster.crash(c_victim)  # the quorum keeps a majority
            elif c_roll < 0.08:
                cluster.restart(c_victim)
        cluster.run_for(25)
        check_high_watermarks_within_logs(cluster, tp)
        take_answers(sent, acknowledged)

    # Heal everything and let the cluster settle with all three replicas in sync.
    cluster.heal()  # no cut link, every link back to its normal latency
    for name in (*BROKERS, *controllers):
        cluster.restart(name)

    def settled() -> bool:
        if cluster.active_controller() is None:
            return False
        leader = cluster.leader_of(tp)
        if leader <= 0 or cluster.brokers[leader].broker is None:
            return False
        replicas = cluster.broker(leader).replicas
        assert replicas is not None
        p = replicas.partitions.get(tp)
        return (
            p is not None
            and len(p.isr) == 3
            and p.high_watermark == p.log.log_end_offset
            and all(cluster.broker(b).high_watermark(tp) == p.high_watermark for b in (1, 2, 3))
        )

    cluster.wait_until(settled, timeout_ms=30_000)
    # One lag for sure: a follower is down while the others commit several fetches' worth.
    behind = next(b for b in (1, 2, 3) if b != cluster.leader_of(tp))
    cluster.crash(f"broker-{behind}")
    for i in range(4):
        lagging = []
        for j in range(2):
            value = b"%d-lag-%d-%d" % (seed, i, j)
            lagging.append((cluster.send(tp, [value], request_timeout_ms=5_000), value))
        cluster.wait_until(
            lambda batch=lagging: all(r.answered_ms is not None for r, _ in batch), 10_000
        )
        take_answers(lagging, acknowledged)
    cluster.restart(f"broker-{behind}")
    cluster.wait_until(settled, timeout_ms=30_000)
    check_high_watermarks_within_logs(cluster, tp)
    assert fetches_short_of_the_high_watermark(cluster) > 0, "no follower fell behind"
    leader = cluster.leader_of(tp)
    hw = cluster.broker(leader).high_watermark(tp)
    committed = {}
    for broker_id in (1, 2, 3):
        log = cluster.broker(broker_id).logs.get(tp)
        assert log is not None
        prefix = records_of(log, hw)
        committed.setdefault("leader", prefix)
        assert prefix == committed["leader"], f"broker {broker_id} diverges below the HW"
    at = dict(committed["leader"])
    for offset, value in acknowledged.items():
        assert at.get(offset) == value, f"acknowledged {value!r} at {offset} is {at.get(offset)!r}"


def take_answers(sent: list[tuple[ProduceResult, bytes]], acknowledged: dict[int, bytes]) -> None:
    """Move answered requests out of ``sent``; the acknowledged ones into ``acknowledged``."""
    for result, value in [(r, v) for r, v in sent if r.answered_ms is not None]:
        sent.remove((result, value))
        if result.error_code == ErrorCode.NONE:
            assert result.base_offset not in acknowledged, f"offset {result.base_offset} reused"
            acknowledged[result.base_offset] = value


@pytest.mark.parametrize("seed", range(SEEDS))
def test_no_acknowledged_record_is_lost(tmp_path: Path, seed: int) -> None:
    try:
        run_schedule(seed, tmp_path)
    except AssertionError as error:
        raise AssertionError(
            f"replication fault schedule failed with seed {seed}: {error}"
        ) from error


@pytest.mark.parametrize("seed", range(5000, 5000 + SEEDS // 5))
def test_no_acknowledged_record_is_lost_when_controllers_fail_too(
    tmp_path: Path, seed: int
) -> None:
    """The same, with controllers crashing and restarting (a majority always up): leader
    elections and ISR changes wait for the quorum, but nothing acknowledged is lost."""
    try:
        run_schedule(seed, tmp_path, controller_faults=True)
    except AssertionError as error:
        raise AssertionError(
            f"controller fault schedule failed with seed {seed}: {error}"
        ) from error


def test_the_old_high_watermark_rule_loses_what_the_epoch_rule_keeps(tmp_path: Path) -> None:
    """KIP-101's motivation, found by search: a schedule where truncating to the follower's
    own high watermark loses an acknowledged record, and truncating by epoch does not."""
    for seed in range(100):
        try:
            run_schedule(seed, tmp_path / f"hw-{seed}", TruncationPolicy.HIGH_WATERMARK)
        except AssertionError:
            break
    else:
        raise AssertionError("no seed in 100 made the high-watermark rule lose a record")
    run_schedule(seed, tmp_path / f"epoch-{seed}", TruncationPolicy.LEADER_EPOCH)


@pytest.mark.parametrize("seed", [10, 212, 265, 388])
def test_regression_seeds_that_break_the_high_watermark_rule(tmp_path: Path, seed: int) -> None:
    with pytest.raises(AssertionError):
        run_schedule(seed, tmp_path / "hw", TruncationPolicy.HIGH_WATERMARK)
    run_schedule(seed, tmp_path / "epoch", TruncationPolicy.LEADER_EPOCH)
