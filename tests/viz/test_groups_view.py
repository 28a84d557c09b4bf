"""The group view draws who owned each partition when, and the pauses, from the timeline."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from reflog.groups.config import GroupConfig
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.viz.groups import (
    PAUSED,
    GroupView,
    describe_lag,
    group_at_coordinator,
    owners,
    ownership_segments,
    partition_lags,
    paused_partition_ms,
)

MEMBER = {"session_timeout_ms": 3_000, "heartbeat_interval_ms": 300}


def group_cluster(data_dir: Path, strategy: str, members: int = 2) -> Cluster:
    groups = GroupConfig(
        group_initial_rebalance_delay_ms=0,
        group_min_session_timeout_ms=500,
        offsets_topic_num_partitions=3,
    )
    cluster = Cluster(seed=1, brokers=3, data_dir=data_dir, groups=groups)
    cluster.create_topic("orders", partitions=6)
    for i in range(members):
        cluster.add_consumer(
            f"c{i}", "orders", group_id="g", assignment_strategy=strategy, **MEMBER
        )
    cluster.run_for(3_000)
    return cluster


def test_the_snapshot_names_one_live_owner_for_every_partition_once_the_group_settles(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(tmp_path, "range")
    assert owners(cluster.timeline.latest, "orders") == {
        0: "c0", 1: "c0", 2: "c0", 3: "c1", 4: "c1", 5: "c1",
    }  # fmt: skip


def test_the_snapshot_holds_the_group_as_its_coordinator_moves_it_through_a_rebalance(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(tmp_path, "range")
    group = group_at_coordinator(cluster.timeline.latest, "g")
    assert group is not None
    assert (group.state, group.protocol, group.members) == ("Stable", "range", ("c0", "c1"))
    joined_at = cluster.sim.now_ms
    cluster.add_consumer("c2", "orders", group_id="g", assignment_strategy="range", **MEMBER)
    cluster.run_for(3_000)
    seen = [
        (g.state, g.generation)
        for s in cluster.timeline
        if s.at_ms >= joined_at and (g := group_at_coordinator(s, "g")) is not None
    ]
    states = [state for i, state in enumerate(seen) if i == 0 or seen[i - 1] != state]
    generation = group.generation
    assert states == [
        ("Stable", generation),
        ("PreparingRebalance", generation),
        ("CompletingRebalance", generation + 1),
        ("Stable", generation + 1),
    ]


def test_an_eager_rebalance_pauses_every_partition_and_a_cooperative_one_only_the_moved(
    tmp_path: Path,
) -> None:
    paused_partitions = {}
    for strategy in ("range", "cooperative-sticky"):
        cluster = group_cluster(tmp_path / strategy, strategy)
        joined_at = cluster.sim.now_ms
        cluster.add_consumer("c2", "orders", group_id="g", assignment_strategy=strategy, **MEMBER)
        cluster.run_for(3_000)
        segments = ownership_segments(cluster.timeline, "orders")
        paused_partitions[strategy] = {
            s.partition for s in segments if s.paused and s.start_ms >= joined_at
        }
        assert paused_partition_ms(cluster.timeline, "orders", joined_at) > 0
        assert not any(s.paused for s in segments if s.end_ms == cluster.sim.now_ms)
    assert paused_partitions["range"] == set(range(6))
    assert len(paused_partitions["cooperative-sticky"]) == 2  # what moved to c2


def test_a_crashed_member_s_partitions_are_paused_until_it_is_evicted(tmp_path: Path) -> None:
    cluster = group_cluster(tmp_path, "cooperative-sticky")
    crashed_at = cluster.sim.now_ms
    cluster.crash("c0")
    cluster.run_for(1_000)  # less than the session: not evicted yet
    assert paused_partition_ms(cluster.timeline, "orders", crashed_at) == 3 * 1_000
    cluster.run_for(3_000)
    assert set(owners(cluster.timeline.latest, "orders").values()) == {"c1"}


def test_the_view_draws_a_bar_per_owned_stretch_and_its_buttons_change_the_group(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(tmp_path, "range")
    view = GroupView(cluster, "orders", assignment_strategy="range", **MEMBER)
    owned, paused, coordinator = view.figure.data[:3]
    assert set(owned.text) == {"c0", "c1"}
    assert coordinator.text[-1] == "Stable · gen 1"
    assert len(paused.x) == 6  # each partition waited for the group's first assignment
    view.buttons["add a consumer"].click()
    assert "c2" in cluster.consumers
    assert "added consumer c2" in view.controls.said.value
    cluster.run_for(3_000)
    view.controls.go_live()
    owned, paused, coordinator = view.figure.data[:3]
    assert "c2" in owned.text
    assert coordinator.text[-3:] == (
        "PreparingRebalance · gen 1",
        "CompletingRebalance · gen 2",
        "Stable · gen 2",
    )
    assert len(paused.x) == 12  # and the eager rebalance paused every partition again
    view.buttons["crash a consumer"].click()
    assert cluster.consumers["c0"].core is None
    assert "crashed c0" in view.controls.said.value  # which one, said under the buttons
    view.buttons["a consumer leaves"].click()
    assert cluster.consumers["c2"].consumer.group.closing  # type: ignore[union-attr]
    assert "c2 left the group" in view.controls.said.value


def test_the_stored_figure_replays_the_recording(tmp_path: Path) -> None:
    cluster = group_cluster(tmp_path, "range")
    figure = GroupView(cluster, "orders").static_figure(max_frames=10)
    assert isinstance(figure, go.Figure)
    assert len(figure.frames) == 10
    assert set(figure.data[0].text) == {"c0", "c1"}  # the last frame is what shows


def test_the_lag_is_the_log_end_minus_the_committed_offset_and_grows_while_nobody_reads(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(tmp_path, "range")
    cluster.add_producer("p", "orders", rate_per_s=200)
    cluster.run_for(2_000)
    before = {lag.partition: lag for lag in partition_lags(cluster.snapshot(), "orders", "g")}
    coordinator = cluster.broker(cluster.timeline.latest.groups[0].coordinator).groups.coordinator
    high_watermarks = cluster.high_watermarks("orders")
    for p, lag in before.items():
        committed = coordinator.committed("g", TopicPartition("orders", p))
        assert committed is not None and lag.committed == committed.offset
        assert lag.log_end == high_watermarks[p]
        assert lag.lag == lag.log_end - lag.committed
        assert 0 <= lag.read_not_committed <= lag.lag
    assert sum(lag.lag for lag in before.values()) < 200 * 2  # it commits every second
    cluster.crash("c0")  # c0's partitions are read by nobody until it is evicted
    cluster.run_for(2_000)
    after = {lag.partition: lag for lag in partition_lags(cluster.snapshot(), "orders", "g")}
    for p in (0, 1, 2):
        assert after[p].owner == PAUSED and after[p].read_not_committed == 0
        assert after[p].committed == before[p].committed
        assert after[p].lag > before[p].lag
    table = describe_lag(cluster.snapshot(), "orders", "g").splitlines()
    assert table[0].split() == ["PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER"]
    assert table[1].split() == [
        "orders-0", str(after[0].committed), str(after[0].log_end), str(after[0].lag), "-",
        "(paused)",
    ]  # fmt: skip


def test_the_view_draws_each_partition_s_lag_beside_its_row(tmp_path: Path) -> None:
    cluster = group_cluster(tmp_path, "range")
    cluster.add_producer("p", "orders", rate_per_s=200)
    cluster.run_for(2_000)
    view = GroupView(cluster, "orders")
    read, unread, numbers = view.figure.data[3:6]
    lags = partition_lags(cluster.timeline.latest, "orders", "g")
    assert read.y == unread.y == tuple(f"orders-{p}" for p in range(6))
    assert [r + u for r, u in zip(read.x, unread.x, strict=True)] == [lag.lag for lag in lags]
    assert unread.base == read.x  # each not-yet-read bar starts where the read one ends
    cluster.run_for(1_000)
    view.controls.redraw()
    assert unread.base == read.x == tuple(
        lag.read_not_committed for lag in partition_lags(cluster.timeline.latest, "orders", "g")
    )
    lags = partition_lags(cluster.timeline.latest, "orders", "g")
    assert numbers.text[-1] == f" total lag {sum(lag.lag for lag in lags)}"
    assert "LOG-END-OFFSET" in view.table.value


def test_a_static_member_restarted_from_the_view_gets_its_partitions_back_in_the_same_generation(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(tmp_path, "range", members=0)
    view = GroupView(cluster, "orders", static_members=True, **MEMBER)
    view.buttons["add a consumer"].click()
    view.buttons["add a consumer"].click()
    cluster.run_for(3_000)
    assert cluster.consumers["c1"].config.group_instance_id == "c1"
    owned_before = owners(cluster.timeline.latest, "orders")
    group = group_at_coordinator(cluster.timeline.latest, "g")
    assert group is not None and group.state == "Stable"
    generation = group.generation
    view.buttons["crash a consumer"].click()
    cluster.run_for(1_000)  # less than session.timeout.ms
    view.buttons["restart a crashed one"].click()
    cluster.run_for(2_000)
    assert cluster.consumers["c0"].core is not None
    assert owners(cluster.timeline.latest, "orders") == owned_before
    generations = {g.generation for s in cluster.timeline if (g := group_at_coordinator(s, "g"))}
    assert max(generations) == generation  # no rebalance


def test_the_view_draws_no_lag_while_no_live_coordinator_holds_the_group(tmp_path: Path) -> None:
    cluster = group_cluster(tmp_path, "range")
    cluster.add_producer("p", "orders", rate_per_s=200)
    cluster.run_for(1_000)
    group = group_at_coordinator(cluster.timeline.latest, "g")
    assert group is not None
    view = GroupView(cluster, "orders")
    cluster.crash(f"broker-{group.coordinator}")
    cluster.run_for(1)
    view.controls.go_live()
    assert group_at_coordinator(cluster.timeline.latest, "g") is None
    read, unread, numbers = view.figure.data[3:6]
    assert sum(read.x) + sum(unread.x) == 0
    assert numbers.text[-1] == " no live coordinator: lag not known"


def test_a_static_member_that_leaves_is_said_to_stay_in_the_group_until_its_session_ends(
    tmp_path: Path,
) -> None:
    cluster = group_cluster(tmp_path, "range", members=0)
    view = GroupView(cluster, "orders", static_members=True, **MEMBER)
    view.buttons["add a consumer"].click()
    cluster.run_for(3_000)
    view.buttons["a consumer leaves"].click()
    assert "c0 closed; a static member sends no LeaveGroup" in view.controls.said.value
    group = group_at_coordinator(cluster.timeline.latest, "g")
    assert group is not None and "c0" in group.members  # still there, as it says
