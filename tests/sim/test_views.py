"""The views draw the recorded timeline: scrubbing shows the past, any control goes live."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reflog.producer.partitioner import partition_for_key
from reflog.raft.core import RaftConfig
from reflog.sim import Cluster, LinkConfig, Simulation
from reflog.sim.raft_nodes import RaftSimNode
from reflog.sim.raft_quorum import RaftRecorder
from reflog.topic_partition import TopicPartition
from reflog.viz.partitions import PartitionsView
from reflog.viz.raft import RaftView
from reflog.viz.replication import ReplicationView, describe_replicas, format_isr_history
from reflog.viz.segments import SegmentsView

TP = TopicPartition("r", 0)


def replicated(seed: int, data_dir: Path) -> Cluster:
    cluster = Cluster(seed=seed, data_dir=data_dir, replica_lag_time_max_ms=1_000)
    cluster.create_topic("r", configs={"min.insync.replicas": "2"})
    return cluster


def bars(view: ReplicationView) -> list[int]:
    return list(view.figure.data[0].y)


def test_the_replication_view_follows_the_cluster_while_live(tmp_path: Path) -> None:
    cluster = replicated(1, tmp_path)
    view = ReplicationView(cluster, "r")
    assert view.controls.following and bars(view) == [0, 0, 0]
    cluster.produce(TP, [b"a", b"b"])
    assert bars(view) == [2, 2, 2]  # every replica's log end offset, drawn as it happened
    assert "leader broker-" in view.status.value


def test_scrubbing_back_shows_the_recorded_snapshot_and_stops_following(tmp_path: Path) -> None:
    cluster = replicated(2, tmp_path)
    view = ReplicationView(cluster, "r")
    before = len(cluster.timeline) - 1
    cluster.produce(TP, [b"a", b"b", b"c"])
    view.controls.slider.value = before  # what a user's drag does
    assert not view.controls.following
    assert view.shown is cluster.timeline[before]
    assert bars(view) == [0, 0, 0]
    assert view.controls.live_button.description == "go live"
    cluster.run_for(500)  # the run goes on: the view stays where the user put it
    assert view.shown is cluster.timeline[before] and bars(view) == [0, 0, 0]
    assert view.controls.slider.max == len(cluster.timeline) - 1


def test_a_button_pressed_while_scrubbed_back_jumps_to_live_first(tmp_path: Path) -> None:
    cluster = replicated(3, tmp_path)
    view = ReplicationView(cluster, "r")
    cluster.produce(TP, [b"a"])
    view.controls.slider.value = 0
    assert not view.controls.following
    leader = cluster.leader_of(TP)
    view.buttons["kill"].click()  # "the leader" is the default target
    assert view.controls.following and view.controls.live_button.description == "live"
    assert view.shown is cluster.timeline.latest
    assert not cluster.timeline.latest.node(f"broker-{leader}").alive
    assert view.controls.slider.value == view.controls.slider.max
    assert "killed" not in view.status.value and f"crashed broker-{leader}" in view.status.value


def test_in_a_kernel_a_drag_is_drawn_after_it_is_answered_and_a_button_pressed_meanwhile_wins(
    tmp_path: Path,
) -> None:
    """In a kernel (an event loop runs) the browser sends a drag's last position only once
    the kernel answered the one before; a button pressed meanwhile can arrive first. The
    view draws a drag when the loop next runs, only its latest position, and not at all if
    a control went live in between."""
    cluster = replicated(5, tmp_path)
    view = ReplicationView(cluster, "r")
    cluster.produce(TP, [b"a"])

    async def drag_then_press() -> None:
        for position in (3, 2, 1):
            view.controls.slider.value = position
        assert view.controls.following  # nothing drawn while the messages are handled
        await asyncio.sleep(0)  # the loop runs: the drag is drawn where it stopped
        assert not view.controls.following and view.shown is cluster.timeline[1]
        view.controls.slider.value = 0
        view.buttons["kill"].click()  # overtakes the drag's last position
        await asyncio.sleep(0)
        assert view.controls.following and view.shown is cluster.timeline.latest
        assert "(live)" in view.controls.clock.value

    asyncio.run(drag_then_press())


def test_the_live_button_and_the_step_button_return_to_the_latest_snapshot(tmp_path: Path) -> None:
    cluster = replicated(4, tmp_path)
    view = ReplicationView(cluster, "r")
    cluster.run_for(200)
    view.controls.slider.value = 1
    view.controls.live_button.click()
    assert view.controls.following and view.shown is cluster.timeline.latest
    view.controls.slider.value = 1
    at = cluster.now_ms
    view.controls.step_button.click()  # run 500 ms, seen live
    assert cluster.now_ms == at + 500 and view.shown is cluster.timeline.latest


def test_replication_text_reads_the_timeline(tmp_path: Path) -> None:
    cluster = replicated(5, tmp_path)
    cluster.produce(TP, [b"x"])
    leader = cluster.leader_of(TP)
    table = describe_replicas(cluster.timeline.latest, TP)
    assert f"broker-{leader}  Leader      1   1      0  yes     (0, 0)" in table
    start = cluster.now_ms
    cluster.crash(f"broker-{leader}")
    cluster.run_for(2_000)
    history = format_isr_history(cluster.timeline, TP, since_ms=start).splitlines()
    assert history[0].startswith(f"t = {start:>5} ms  leader broker-{leader}")
    assert f"leader broker-{cluster.leader_of(TP)}" in history[-1]


def test_the_partitions_and_segments_views_draw_the_latest_snapshot(tmp_path: Path) -> None:
    cluster = Cluster(seed=6, data_dir=tmp_path)
    cluster.create_topic("t", 3, configs={"segment.bytes": "1024"})
    cluster.add_producer("p", "t", rate_per_s=300, keys=[b"a", b"b", b"c", b"d"])
    cluster.add_consumer("c", "t")
    partitions = PartitionsView(cluster, "t")
    segments = SegmentsView(cluster, TopicPartition("t", partition_for_key(b"a", 3)))
    cluster.run_for(2_000)
    ends = cluster.log_end_offsets("t")
    assert list(partitions.figure.data[0].y) == [ends[p] for p in range(3)]
    assert len(segments.figure.data[0].x) > 1  # 1 KiB segments have rolled
    partitions.controls.slider.value = 0
    partitions.rate.value = 0  # a control: it goes live, then acts
    assert partitions.controls.following
    assert cluster.producers["p"].rate_per_s == 0
    assert cluster.actions[-1].kind == "set_rate"


def test_the_raft_view_has_the_same_controls(tmp_path: Path) -> None:
    sim = Simulation(3, LinkConfig(latency_ms_min=2, latency_ms_max=8))
    names = ["n0", "n1", "n2"]
    config = RaftConfig(election_timeout_ms=150, heartbeat_interval_ms=50)
    nodes = {n: RaftSimNode(n, names, config, tmp_path) for n in names}
    for node in nodes.values():
        sim.add_node(node)
    raft = RaftRecorder(sim, nodes)
    raft.run_until(lambda: raft.leader() is not None, 2_000)
    view = RaftView(raft)
    view.controls.slider.value = 0
    assert view.shown is raft.timeline[0] and not view.controls.following
    leader = raft.leader()
    assert leader is not None
    view.node_picker.value = leader
    view.buttons["kill"].click()
    assert view.controls.following and not view.shown.node(leader).up  # type: ignore[union-attr]
