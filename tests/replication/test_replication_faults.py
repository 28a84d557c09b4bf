"""Randomized faults against the durability contract (acks=all, 3 replicas, min.insync=2).

Each seed runs a simulated cluster (3 controllers, 3 brokers) while a producer sends acks=all
records to whoever leads, and the seed decides the faults: power-cut crashes and restarts of
brokers, a broker cut off from everyone, slow links. Then the network heals, every broker
comes back, and the invariants are checked:

* no acknowledged record is lost: each one is at its acknowledged offset in the leader's log;
* offsets are never reused: no two acknowledgements name the same offset;
* every in-sync replica holds the same committed prefix as the leader.

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

from reflog.replication.truncation import TruncationPolicy
from reflog.sim import LinkConfig, ProduceResult
from reflog.wire.errors import ErrorCode

from .harness import records_of, replicated_cluster

SEEDS = int(os.environ.get("REFLOG_REPLICATION_SEEDS", "500"))
BROKERS = ("broker-1", "broker-2", "broker-3")


def run_schedule(
    seed: int,
    data_dir: Path,
    policy: TruncationPolicy = TruncationPolicy.LEADER_EPOCH,
    controller_faults: bool = False,
) -> None:
    rng = random.Random(seed)
    # Controller faults draw from their own stream, so the broker faults of a seed stay the same.
    controller_rng = random.Random(seed * 7919 + 1)
    cluster, tp = replicated_cluster(seed, data_dir, truncation_policy=policy)
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
        for result, value in [(r, v) for r, v in sent if r.answered_ms is not None]:
            sent.remove((result, value))
            if result.error_code == ErrorCode.NONE:
                assert result.base_offset not in acknowledged, f"offset {result.base_offset} reused"
                acknowledged[result.base_offset] = value

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


@pytest.mark.parametrize("seed", [10, 95, 212, 265])
def test_regression_seeds_that_break_the_high_watermark_rule(tmp_path: Path, seed: int) -> None:
    with pytest.raises(AssertionError):
        run_schedule(seed, tmp_path / "hw", TruncationPolicy.HIGH_WATERMARK)
    run_schedule(seed, tmp_path / "epoch", TruncationPolicy.LEADER_EPOCH)
