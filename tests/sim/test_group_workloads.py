"""The group member workload's ways of processing: as polled, or by a slower worker while
auto-commit commits everything polled (the "auto-commit before processing" mistake)."""

from __future__ import annotations

from pathlib import Path

from reflog.groups.config import GroupConfig
from reflog.sim import Cluster
from reflog.sim.group_consumers import GroupConsumerWorkload

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
