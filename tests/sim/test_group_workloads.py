"""The group member workload's ways of processing: as polled, by a slower worker while
auto-commit commits everything polled (the "auto-commit before processing" mistake), or in a
poll loop that processes each batch for a while (rebalance steps wait for the next poll)."""

from __future__ import annotations

from pathlib import Path

from reflog.consumer.membership import MemberState
from reflog.groups.config import GroupConfig
from reflog.groups.group import GroupState
from reflog.sim import Cluster
from reflog.sim.group_consumers import GroupConsumerWorkload

from ..consumer.group_checks import group_state

MEMBER = {"session_timeout_ms": 1_500, "heartbeat_interval_ms": 300}


def payments_cluster(data_dir: Path) -> Cluster:
    groups = GroupConfig(
        group_initial_rebalance_delay_ms=0,
        group_min_session_timeout_ms=500,
        offsets_topic_num_partitions=3,
    )
    cluster = Cluster(seed=3, brokers=3, data_dir=data_dir, groups=groups)
    cluster.create_topic("payments", partitions=1)
    return cluster


def member(cluster: Cluster, name: str, **settings: object) -> GroupConsumerWorkload:
    workload = cluster.add_consumer(name, "payments", group_id="app", **MEMBER, **settings)
    assert isinstance(workload, GroupConsumerWorkload)
    return workload


def committed(cluster: Cluster) -> int | None:
    group = next(g for g in cluster.snapshot().groups if g.group_id == "app")
    return group.committed_offset("payments", 0)


def test_a_slow_worker_processes_records_at_its_rate_in_offset_order(tmp_path: Path) -> None:
    cluster = payments_cluster(tmp_path)
    cluster.add_producer("pay", "payments", rate_per_s=200)
    slow = member(cluster, "c0", processing_rate_per_s=50)
    cluster.run_for(2_000)
    cluster.set_rate("pay", 0)
    first = slow.records[0].offset
    assert [r.offset for r in slow.records] == list(range(first, first + len(slow.records)))
    assert slow.backlog and slow.backlog[0].offset == first + len(slow.records)
    started = cluster.sim.now_ms
    before = len(slow.records)
    cluster.run_for(1_000)
    assert len(slow.records) - before == 50  # 50 a second, one every 20 ms
    cluster.run_until(lambda: not slow.backlog, timeout_ms=20_000)
    assert len(slow.records) == cluster.high_watermarks("payments")[0]
    assert cluster.sim.now_ms > started + 1_000


def test_auto_commit_commits_what_the_worker_has_not_processed_and_a_crash_loses_it(
    tmp_path: Path,
) -> None:
    cluster = payments_cluster(tmp_path)
    cluster.add_producer("pay", "payments", rate_per_s=200)
    careless = member(cluster, "c0", processing_rate_per_s=100, auto_commit_interval_ms=500)
    cluster.run_for(2_000)
    cluster.set_rate("pay", 0)
    at_crash = committed(cluster)
    processed = len(careless.records)
    assert at_crash is not None and at_crash > processed  # committed, not processed
    cluster.crash("c0")
    assert not careless.backlog  # the worker died with the process
    heir = member(cluster, "c1")
    cluster.run_until(
        lambda: len(heir.records) == cluster.high_watermarks("payments")[0] - at_crash,
        timeout_ms=10_000,
    )
    assert heir.records[0].offset == at_crash
    seen = {r.offset for r in careless.records + heir.records}
    lost = [o for o in range(cluster.high_watermarks("payments")[0]) if o not in seen]
    assert lost == list(range(processed, at_crash))


def test_a_member_busy_with_a_batch_rejoins_at_its_next_poll_and_heartbeats_meanwhile(
    tmp_path: Path,
) -> None:
    cluster = payments_cluster(tmp_path)
    cluster.add_producer("pay", "payments", rate_per_s=200)
    # Each batch takes longer than the session timeout (1.5 s): only heartbeats sent while
    # it is processing keep it in the group.
    busy = member(cluster, "c0", processing_ms_per_poll=2_000)
    group = lambda: busy.consumer.group  # noqa: E731
    cluster.wait_until(lambda: busy.partitions != [] and busy.backlog, what="a first batch")
    cluster.wait_until(lambda: group().in_poll, 3_000, "the next poll")
    cluster.wait_until(lambda: not group().in_poll, 100, "the next batch")
    polled_at, busy_until = cluster.sim.now_ms, busy.busy_until_ms
    assert busy_until == polled_at + 2_000 and [r.offset for r in busy.records] == list(
        range(len(busy.records))
    )
    member(cluster, "c1")
    cluster.wait_until(
        lambda: group_state(cluster, "app") == (GroupState.PREPARING_REBALANCE, 1),
        100,
        "the newcomer's rebalance",
    )
    cluster.wait_until(lambda: cluster.sim.now_ms >= busy_until - 1, 2_100, "the batch's end")
    # It heard of the rebalance from a heartbeat long ago, yet has not rejoined: it is
    # still processing, and still in generation 1 (its heartbeats kept it in).
    assert group().state == MemberState.STABLE and group().generation_id == 1
    assert group_state(cluster, "app") == (GroupState.PREPARING_REBALANCE, 1)
    assert [c.why for c in busy.history] == ["assigned"]
    # Its next poll revokes (eager), commits what it processed, and rejoins.
    cluster.wait_until(lambda: group().state != MemberState.STABLE, 100, "the rejoin")
    revoked = busy.history[-1]
    assert revoked.why == "revoked" and revoked.at_ms == busy_until
    cluster.wait_until(lambda: group_state(cluster, "app") == (GroupState.STABLE, 2), 500)
