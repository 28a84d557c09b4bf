"""reflog's consumers in groups on the simulated cluster: joining, leaving, crashing, the
coordinator's broker failing, eager against cooperative, and randomized faults.

``REFLOG_GROUP_SEEDS`` sets the number of seeds of the randomized test (300 in CI); a
failing seed is named in the assertion.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from reflog.groups.config import GroupConfig
from reflog.sim import Cluster
from reflog.sim.group_consumers import GroupConsumerWorkload
from reflog.topic_partition import TopicPartition

from .group_checks import (
    backwards_commits,
    coordinator_of,
    group_state,
    live,
    members,
    never_processed,
    ownership_problems,
    shared_in_a_generation,
)

SEEDS = int(os.environ.get("REFLOG_GROUP_SEEDS", "300"))
GROUP = "g"
# Short sessions, so a crashed member is noticed within the short runs.
MEMBER = {"session_timeout_ms": 1_500, "heartbeat_interval_ms": 300, "max_poll_interval_ms": 3_000}


def group_cluster(seed: int, data_dir: Path, brokers: int = 3, partitions: int = 6) -> Cluster:
    cluster = Cluster(
        seed=seed,
        brokers=brokers,
        data_dir=data_dir,
        record=False,
        groups=GroupConfig(
            group_initial_rebalance_delay_ms=0,
            group_min_session_timeout_ms=500,
            offsets_topic_num_partitions=3,
        ),
    )
    cluster.create_topic("t", partitions, configs={"flush.messages": "1"})
    return cluster


def join(cluster: Cluster, name: str, strategy: str, **settings: object) -> GroupConsumerWorkload:
    member = cluster.add_consumer(
        name, "t", group_id=GROUP, assignment_strategy=strategy, **{**MEMBER, **settings}
    )
    assert isinstance(member, GroupConsumerWorkload)
    return member


def every_100_ms_until(cluster: Cluster, done: Callable[[], bool], timeout_ms: int) -> bool:
    """Run until ``done()``, asking it every 100 simulated ms (the checks read the whole
    group: asking after every event would cost more than the simulation itself)."""
    deadline = cluster.sim.now_ms + timeout_ms
    while not done():
        if cluster.sim.now_ms >= deadline:
            return False
        cluster.run_for(100)
    return True


def settle(cluster: Cluster, timeout_ms: int = 15_000) -> None:
    """Run until the group is Stable with every partition owned by one live member."""
    if not every_100_ms_until(
        cluster, lambda: not ownership_problems(cluster, GROUP, "t"), timeout_ms
    ):
        raise AssertionError(ownership_problems(cluster, GROUP, "t"))


def all_processed(cluster: Cluster, timeout_ms: int) -> bool:
    return every_100_ms_until(cluster, lambda: not never_processed(cluster, "t"), timeout_ms)


def owned(member: GroupConsumerWorkload) -> list[int]:
    return [tp.partition for tp in member.partitions]


# -- scenarios ---------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["range", "roundrobin", "sticky", "cooperative-sticky"])
def test_three_members_split_the_partitions_and_read_every_record(
    tmp_path: Path, strategy: str
) -> None:
    cluster = group_cluster(1, tmp_path)
    producer = cluster.add_producer("p", "t", rate_per_s=200)
    group = [join(cluster, f"c{i}", strategy) for i in range(3)]
    settle(cluster)
    assert sorted(len(m.partitions) for m in group) == [2, 2, 2]
    cluster.run_for(2_000)
    producer.set_rate(0)
    assert all_processed(cluster, 5_000)
    assert sum(cluster.high_watermarks("t").values()) == producer.acked > 0


def test_range_gives_each_member_a_contiguous_range(tmp_path: Path) -> None:
    cluster = group_cluster(2, tmp_path)
    group = [join(cluster, f"c{i}", "range") for i in range(3)]
    settle(cluster)
    assert sorted(owned(m) for m in group) == [[0, 1], [2, 3], [4, 5]]


def test_a_member_that_leaves_hands_its_partitions_over_from_its_committed_offsets(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(3, tmp_path)
    producer = cluster.add_producer("p", "t", rate_per_s=200)
    group = [join(cluster, f"c{i}", "range") for i in range(3)]
    settle(cluster)
    cluster.run_for(2_000)
    leaving = group[0]
    leaving.close()
    settle(cluster)
    assert leaving.consumer.group is not None and leaving.consumer.group.closed
    assert sorted(len(m.partitions) for m in group[1:]) == [3, 3]
    producer.set_rate(0)
    assert all_processed(cluster, 5_000)
    # It committed what it processed before leaving: the others start there, so nothing
    # it processed is processed again.
    processed = [(r.partition, r.offset) for m in group for r in m.records]
    assert len(processed) == len(set(processed))


def test_a_crashed_member_is_evicted_after_its_session_and_the_others_take_over(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(4, tmp_path)
    producer = cluster.add_producer("p", "t", rate_per_s=200)
    group = [join(cluster, f"c{i}", "cooperative-sticky") for i in range(3)]
    settle(cluster)
    cluster.run_for(1_000)
    cluster.crash("c1")
    crashed_at = cluster.sim.now_ms
    settle(cluster)
    assert cluster.sim.now_ms - crashed_at >= MEMBER["session_timeout_ms"] - 100
    assert sorted(len(m.partitions) for m in (group[0], group[2])) == [3, 3]
    producer.set_rate(0)
    assert all_processed(cluster, 5_000)


def test_cooperative_members_keep_reading_what_does_not_move_when_a_member_joins(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(5, tmp_path)
    group = [join(cluster, f"c{i}", "cooperative-sticky") for i in range(2)]
    settle(cluster)
    before = {m.name: set(m.partitions) for m in group}
    seen = {m.name: len(m.history) for m in group}
    newcomer = join(cluster, "c2", "cooperative-sticky")
    settle(cluster)
    for member in group:
        kept = set(member.partitions)
        assert len(kept) == 2 and kept <= before[member.name]
        # What it kept, it owned through both rebalances: never revoked, never paused.
        assert all(kept <= change.partitions for change in member.history[seen[member.name] :])
        assert [c.why for c in member.history[seen[member.name] :]].count("revoked") == 1
    assert len(newcomer.partitions) == 2
    state = group_state(cluster, GROUP)
    assert state is not None and state[1] == 3  # two rebalances: revoke, then hand over


def test_eager_members_revoke_everything_when_a_member_joins(tmp_path: Path) -> None:
    cluster = group_cluster(5, tmp_path)
    group = [join(cluster, f"c{i}", "sticky") for i in range(2)]
    settle(cluster)
    join(cluster, "c2", "sticky")
    settle(cluster)
    for member in group:
        assert [c.partitions for c in member.history if c.why == "revoked"] == [frozenset()]
    state = group_state(cluster, GROUP)
    assert state is not None and state[1] == 2  # one rebalance


def test_the_group_survives_its_coordinators_broker_crashing(tmp_path: Path) -> None:
    cluster = group_cluster(6, tmp_path)
    producer = cluster.add_producer("p", "t", rate_per_s=200)
    [join(cluster, f"c{i}", "cooperative-sticky") for i in range(3)]
    settle(cluster)
    cluster.run_for(1_000)
    coordinator = coordinator_of(cluster, GROUP)
    cluster.crash(f"broker-{coordinator}")
    cluster.run_for(1_000)
    settle(cluster)
    assert coordinator_of(cluster, GROUP) not in (coordinator, -1)
    producer.set_rate(0)
    assert all_processed(cluster, 10_000)
    assert backwards_commits(cluster, GROUP) == []


def test_committing_before_processing_loses_records_when_the_member_crashes(
    tmp_path: Path,
) -> None:
    # The classic mistake: the offsets of a batch are committed when it is polled, and the
    # member crashes before processing it. Here "processing" is keeping the records, so
    # the crash is modelled by a member that commits and then forgets what it polled.
    cluster = group_cluster(7, tmp_path, partitions=1)
    producer = cluster.add_producer("p", "t", rate_per_s=200)
    careless = join(cluster, "c0", "range", enable_auto_commit=False, commit_before_processing=True)
    settle(cluster)
    cluster.run_for(1_000)
    producer.set_rate(0)
    cluster.run_for(500)
    lost = list(careless.records[-50:])
    del careless.records[-50:]  # polled and committed, never processed: the crash
    cluster.crash("c0")
    join(cluster, "c1", "range")
    settle(cluster)
    cluster.run_for(1_000)
    assert never_processed(cluster, "t") == [(0, r.offset) for r in lost]


# -- randomized faults -------------------------------------------------------------------------
STRATEGIES = ["range", "roundrobin", "sticky", "cooperative-sticky"]
BROKERS = ("broker-1", "broker-2", "broker-3")


def run_faults(seed: int, data_dir: Path) -> Cluster:
    """Members join, leave, crash and come back; brokers crash (the coordinator's as
    often as any) and are cut off; then everything heals."""
    rng = random.Random(seed)
    cluster = group_cluster(seed, data_dir)
    strategy = rng.choice(STRATEGIES)
    cluster.add_producer("p", "t", rate_per_s=50)
    names = iter(f"c{i}" for i in range(100))
    for _ in range(rng.randint(1, 3)):
        join(cluster, next(names), strategy)
    down_broker: str | None = None
    for _ in range(12):
        cluster.run_for(rng.randint(100, 600))
        roll = rng.random()
        running = [m for m in live(cluster)]
        crashed = [m for m in members(cluster) if m.core is None]
        if roll < 0.2 and len(running) < 5:
            join(cluster, next(names), strategy)
        elif roll < 0.3 and running:
            rng.choice(running).close()
        elif roll < 0.45 and running:
            cluster.crash(rng.choice(running).name)
        elif roll < 0.55 and crashed:
            cluster.restart(rng.choice(crashed).name)
        elif roll < 0.7 and down_broker is None:
            coordinator = coordinator_of(cluster, GROUP)
            choices = [f"broker-{coordinator}"] if coordinator > 0 else []
            down_broker = rng.choice(choices + list(BROKERS))
            cluster.crash(down_broker)
        elif roll < 0.8 and down_broker is not None:
            cluster.restart(down_broker)
            down_broker = None
        elif roll < 0.9:
            cluster.isolate(rng.choice([*BROKERS, *(m.name for m in running)]))
        else:
            cluster.heal()
    cluster.heal()
    if down_broker is not None:
        cluster.restart(down_broker)
    if not live(cluster):
        join(cluster, next(names), strategy)
    cluster.set_rate("p", 0)
    return cluster


@pytest.mark.parametrize("seed", range(SEEDS))
def test_after_random_faults_the_group_settles_and_every_record_is_processed(
    tmp_path: Path, seed: int
) -> None:
    cluster = run_faults(seed, tmp_path)
    try:
        settle(cluster, timeout_ms=20_000)
    except AssertionError as problems:
        raise AssertionError(f"seed {seed}: the group did not settle: {problems}") from None
    assert shared_in_a_generation(members(cluster)) == [], f"seed {seed}"
    unprocessed = all_processed(cluster, 10_000)
    assert unprocessed, f"seed {seed}: never processed {never_processed(cluster, 't')[:10]}"
    assert backwards_commits(cluster, GROUP) == [], f"seed {seed}"
    for member in live(cluster):
        assert all(tp.topic == "t" for tp in member.partitions)
    assert sum(len(m.partitions) for m in live(cluster)) == 6
    assert {TopicPartition("t", p) for m in live(cluster) for p in owned(m)} == {
        TopicPartition("t", p) for p in range(6)
    }
