"""What a rebalance costs, eager against cooperative, measured as ``benchmarks/rebalance.py``
measures it: partition-seconds paused after a member joins a Stable group of 100 partitions.

Cooperative rebalancing (KIP-429) pauses only the partitions that move, but for two rounds:
their old owners revoke them after the first round and rejoin at once; the members that revoked
nothing learn of the second round from their next heartbeat, so the moved partitions wait up
to ``heartbeat.interval.ms`` (Kafka's ``AbstractCoordinator`` and its classic group coordinator
behave the same). Eager rebalancing pauses every partition, but only until every member has
rejoined. Cooperative therefore pauses fewer partition-seconds when few partitions move (a large
group) or when the group waits for a slow member; with three idle members next to each other, a
third of the partitions waiting up to a heartbeat costs more than all of them waiting one quick
round trip. Both outcomes are asserted, so a change to either protocol's timing shows up.

With busy members (records flowing, each polled batch taking ``PROCESSING_MS`` to process,
so that a member takes its rebalance steps only at its next poll, as Kafka's Java consumer
does), cooperative pauses far fewer partition-seconds with 30 members (a few partitions move;
eager stops all 100 until the last member's poll), and *more* with three: a third of the
partitions wait through the second round, which needs every member's next polls again, while
eager's single round costs only the spread of the two old members' polls. Both are asserted.
(librdkafka, whose background thread rejoins without waiting for a poll, has cooperative
pausing less at three busy members too: ``benchmarks/rebalance.py --processes``.) The busy
runs take about 8 s of CPU together: four 100-partition clusters, a few simulated seconds each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.rebalance import MEMBER, PROCESSING_MS, TOPIC, one_join
from reflog.groups.config import GroupConfig
from reflog.groups.group import GroupState
from reflog.sim import Cluster
from reflog.sim.group_consumers import GroupConsumerWorkload

from .group_checks import group_state, ownership_problems


@pytest.mark.parametrize(("members", "slow_ms"), [(30, 0), (3, 200), (30, 200)])
def test_cooperative_pauses_fewer_partition_seconds_than_eager(members: int, slow_ms: int) -> None:
    eager = one_join("range", members, slow_ms, seed=1)
    cooperative = one_join("cooperative-sticky", members, slow_ms, seed=1)
    assert cooperative.paused_partition_s < eager.paused_partition_s, (eager, cooperative)


def test_with_thirty_busy_members_cooperative_pauses_fewer_partition_seconds() -> None:
    eager = one_join("range", 30, 0, seed=1, processing_ms=PROCESSING_MS)
    cooperative = one_join("cooperative-sticky", 30, 0, seed=1, processing_ms=PROCESSING_MS)
    assert cooperative.paused_partition_s < eager.paused_partition_s / 3, (eager, cooperative)
    # Eager: every partition waits, on average, most of a batch for the last member's poll.
    assert eager.paused_partition_s > 100 * PROCESSING_MS / 1000 / 3


def test_with_three_busy_members_the_moved_third_waits_through_two_rounds_of_polls() -> None:
    eager = one_join("range", 3, 0, seed=1, processing_ms=PROCESSING_MS)
    cooperative = one_join("cooperative-sticky", 3, 0, seed=1, processing_ms=PROCESSING_MS)
    # Cooperative: 33 partitions, for more than a batch's processing (the second round).
    assert cooperative.paused_partition_s > 33 * PROCESSING_MS / 1000
    assert cooperative.paused_partition_s > eager.paused_partition_s, (eager, cooperative)
    assert cooperative.to_stable_ms > 2 * eager.to_stable_ms


def test_three_idle_members_pause_a_round_trip_eagerly_and_a_heartbeat_cooperatively() -> None:
    eager = one_join("range", 3, 0, seed=1)
    cooperative = one_join("cooperative-sticky", 3, 0, seed=1)
    # Eager: all 100 partitions, for one rejoin round trip (well under a heartbeat).
    assert eager.paused_partition_s < 100 * MEMBER["heartbeat_interval_ms"] / 1000 / 3
    # Cooperative: the 33 that move, for at most a heartbeat and the second round's trip.
    assert cooperative.paused_partition_s <= 33 * (MEMBER["heartbeat_interval_ms"] + 50) / 1000


def test_the_second_cooperative_round_starts_at_once_and_waits_one_heartbeat_not_the_initial_delay(
    tmp_path: Path,
) -> None:
    # Kafka's default group.initial.rebalance.delay.ms (3 s): it delays only the first
    # rebalance of an Empty group, never the second round of a Stable one.
    cluster = Cluster(
        seed=1,
        brokers=3,
        data_dir=tmp_path,
        record=False,
        groups=GroupConfig(group_min_session_timeout_ms=500, offsets_topic_num_partitions=3),
    )
    cluster.create_topic(TOPIC, 12)

    def join(name: str) -> GroupConsumerWorkload:
        member = cluster.add_consumer(
            name, TOPIC, group_id="g", assignment_strategy="cooperative-sticky", **MEMBER
        )
        assert isinstance(member, GroupConsumerWorkload)
        return member

    old = [join("c0"), join("c1")]
    cluster.wait_until(lambda: not ownership_problems(cluster, "g", TOPIC), 10_000, "Stable")
    seen = [len(m.history) for m in old]
    newcomer = join("c2")

    def revoked_since_the_join() -> bool:
        changes = [c for m, n in zip(old, seen, strict=True) for c in m.history[n:]]
        return any(c.why == "revoked" for c in changes)

    cluster.wait_until(revoked_since_the_join, what="the first round's revocation")
    revoked_at = cluster.sim.now_ms
    state = group_state(cluster, "g")
    assert state is not None and state[0] == GroupState.STABLE
    generation = state[1]

    # The members that revoked rejoin at once: the second round starts within a round trip.
    cluster.wait_until(
        lambda: group_state(cluster, "g") == (GroupState.PREPARING_REBALANCE, generation),
        30,
        "the second round",
    )
    # The newcomer hears of it at its next heartbeat, rejoins, and gets the moved partitions.
    cluster.wait_until(
        lambda: len(newcomer.partitions) == 4,
        MEMBER["heartbeat_interval_ms"] + 50,
        "the hand-over",
    )
    assert cluster.sim.now_ms - revoked_at <= MEMBER["heartbeat_interval_ms"] + 50
