"""The cluster view draws what the timeline says: leaders, the ISR, down brokers, offsets.

The drawing is a pure function of one snapshot, so each test runs a small seeded cluster,
takes snapshots from its timeline and reads the drawn boxes back: which cell (broker
column, partition row) is in which trace.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from reflog.sim import Cluster, Snapshot
from reflog.viz.cluster_view import (
    REPLICA_STATES,
    TRACE_NAMES,
    ClusterView,
    cluster_frame,
    evenly_in_time,
    leader_changes,
    static_cluster_figure,
)

TOPIC = "orders"


def running_cluster(seed: int, data_dir: Path) -> Cluster:
    """Three brokers, ``orders`` with 3 partitions of 3 replicas, a producer and a consumer."""
    cluster = Cluster(seed=seed, brokers=3, data_dir=data_dir)
    cluster.create_topic(TOPIC, partitions=3, replication_factor=3)
    cluster.add_producer("checkout", TOPIC, rate_per_s=100, acks=-1)
    cluster.add_consumer("billing", TOPIC)
    cluster.run_for(1_000)
    return cluster


def trace(frame: go.Frame, name: str) -> go.Scatter | go.Bar:
    return next(t for t in frame.data if t.name == name)


def cells(frame: go.Frame, name: str) -> set[tuple[int, int]]:
    """The (column, row) of every box in a filled trace: its rectangles' centres.
    Column 0 is the controller, column k broker k; row 0 the heads, row p+1 partition p."""
    drawn = trace(frame, name)
    found = set()
    xs, ys = list(drawn.x), list(drawn.y)
    start = 0
    for i, x in enumerate([*xs, None]):
        if x is None:
            box = [(px, py) for px, py in zip(xs[start:i], ys[start:i], strict=True)]
            if box:
                cx = sum(p[0] for p in box[:4]) / 4
                cy = sum(p[1] for p in box[:4]) / 4
                found.add((round(cx), round(cy)))
            start = i + 1
    return found


def replica_cells(frame: go.Frame, state: str) -> set[tuple[int, int]]:
    return cells(frame, REPLICA_STATES[state][0])


def led(snapshot: Snapshot) -> set[tuple[int, int]]:
    """(broker, row) of each partition's leader, as the timeline records it."""
    return {(p.leader, p.partition + 1) for p in snapshot.topic(TOPIC)}


def test_each_leader_is_drawn_in_its_brokers_column_and_every_follower_in_the_isr(
    tmp_path: Path,
) -> None:
    cluster = running_cluster(1, tmp_path)
    snapshot = cluster.timeline.latest
    frame = cluster_frame(snapshot, TOPIC)
    assert [t.name for t in frame.data] == list(TRACE_NAMES)  # the order every frame keeps
    assert replica_cells(frame, "leader") == led(snapshot)
    assert len({broker for broker, _ in led(snapshot)}) == 3  # leadership is spread
    followers = {
        (r.broker_id, p.partition + 1)
        for p in snapshot.topic(TOPIC)
        for r in p.replicas
        if r.broker_id != p.leader
    }
    assert replica_cells(frame, "in ISR") == followers
    assert cells(frame, "broker up") == {(1, 0), (2, 0), (3, 0)}
    assert cells(frame, "broker down") == set()
    assert cells(frame, "controller decisions") == {(0, 1), (0, 2), (0, 3)}


def test_a_killed_leader_is_drawn_as_a_dead_leader_until_the_controller_notices(
    tmp_path: Path,
) -> None:
    cluster = running_cluster(2, tmp_path)
    victim = cluster.leader_of(TOPIC, 0)
    cluster.crash(f"broker-{victim}")
    cluster.run_for(100)  # well inside broker.session.timeout.ms: the controller has not acted
    frame = cluster_frame(cluster.timeline.latest, TOPIC)
    assert cells(frame, "broker down") == {(victim, 0)}
    assert (victim, 1) in replica_cells(frame, "leader down")
    assert (victim, 1) not in replica_cells(frame, "leader")


def test_after_a_crash_the_killed_broker_is_down_and_its_partition_has_a_new_leader(
    tmp_path: Path,
) -> None:
    cluster = running_cluster(3, tmp_path)
    before = cluster.timeline.latest
    victim = before.leader_of(TOPIC, 0)
    cluster.crash(f"broker-{victim}")
    cluster.wait_until(
        lambda: cluster.leader_of(TOPIC, 0) not in (victim, -1), 5_000, "a new leader"
    )
    after = cluster.timeline.latest
    changes = leader_changes(cluster.timeline, TOPIC)
    frame = cluster_frame(after, TOPIC, changes=changes)

    new_leader = after.leader_of(TOPIC, 0)
    assert new_leader != victim
    assert (new_leader, 1) in replica_cells(frame, "leader")
    assert replica_cells(frame, "leader") == led(after)
    assert cells(frame, "broker down") == {(victim, 0)}
    assert replica_cells(frame, "down") == {(victim, row) for row in (1, 2, 3)}
    # The controller's column shows the new leader and its bumped epoch.
    epoch = after.partition(TOPIC, 0).leader_epoch
    assert epoch == before.partition(TOPIC, 0).leader_epoch + 1
    labels = trace(frame, "labels")
    decision = labels.text[list(zip(labels.x, labels.y, strict=True)).index((0, 1))]
    assert f"broker-{new_leader}" in decision and f"epoch {epoch}" in decision
    # The title names the change, as leader_changes records it.
    [change] = [c for c in changes if c.partition == 0]
    assert (change.old_leader, change.new_leader, change.leader_epoch) == (
        victim,
        new_leader,
        epoch,
    )
    assert f"broker-{victim} → broker-{new_leader}" in frame.layout.title.text


def test_a_restarted_broker_is_drawn_out_of_the_isr_until_it_has_caught_up(
    tmp_path: Path,
) -> None:
    cluster = running_cluster(4, tmp_path)
    victim = cluster.leader_of(TOPIC, 1)
    cluster.crash(f"broker-{victim}")
    cluster.run_for(3_000)
    restarted_at = cluster.now_ms
    cluster.restart(f"broker-{victim}")
    cluster.run_for(3_000)
    back = [
        s
        for s in cluster.timeline
        if s.at_ms >= restarted_at
        and s.node(f"broker-{victim}").alive
        and victim not in s.partition(TOPIC, 1).isr
    ]
    assert back, "the restarted broker was never alive outside the ISR"
    assert (victim, 2) in replica_cells(cluster_frame(back[-1], TOPIC), "out of ISR")
    latest = cluster.timeline.latest
    assert victim in latest.partition(TOPIC, 1).isr  # it caught up and rejoined
    assert (victim, 2) in replica_cells(cluster_frame(latest, TOPIC), "in ISR")


def test_the_offsets_panel_shows_each_leaders_high_watermark_and_the_consumers_position(
    tmp_path: Path,
) -> None:
    cluster = running_cluster(5, tmp_path)
    snapshot = cluster.timeline.latest
    frame = cluster_frame(snapshot, TOPIC)
    partitions = snapshot.topic(TOPIC)
    assert list(trace(frame, "committed (high watermark)").x) == [
        p.high_watermark for p in partitions
    ]
    billing = snapshot.consumer("billing")
    positions = trace(frame, "consumer position")
    assert list(positions.x)[1:] == [billing.position(p.partition) for p in partitions]
    head = trace(frame, "offsets").text[0]
    assert f"sent {snapshot.producer('checkout').sent}" in head


def test_the_static_figure_replays_the_run_and_shows_its_last_snapshot(tmp_path: Path) -> None:
    cluster = running_cluster(6, tmp_path)
    victim = cluster.leader_of(TOPIC, 2)
    cluster.crash(f"broker-{victim}")
    cluster.run_for(2_000)
    figure = static_cluster_figure(cluster.timeline, TOPIC, max_frames=20)
    assert 2 <= len(figure.frames) <= 20
    steps = figure.layout.sliders[0].steps
    assert steps[-1].label == f"{cluster.now_ms} ms"
    assert steps[0].label == f"{cluster.timeline[0].at_ms} ms"
    # Without a kernel, the figure opens on the run's end: the victim down, a new leader.
    shown = go.Frame(data=figure.data, layout=figure.layout)
    assert cells(shown, "broker down") == {(victim, 0)}
    assert replica_cells(shown, "leader") == led(cluster.timeline.latest)


def test_the_static_frames_are_spread_evenly_over_simulated_time(tmp_path: Path) -> None:
    cluster = running_cluster(8, tmp_path)
    start = cluster.timeline[0].at_ms
    picked = evenly_in_time(cluster.timeline, 11)
    assert len(picked) == 11
    assert picked[-1] is cluster.timeline.latest
    tick_ms = (cluster.now_ms - start) / 10
    for n, snapshot in enumerate(picked):
        tick = start + n * tick_ms
        # The cluster as it was at its tick: the last snapshot taken at or before it.
        assert snapshot is cluster.timeline.at(int(tick))


def test_kill_pressed_while_scrubbed_back_goes_live_and_draws_the_broker_down(
    tmp_path: Path,
) -> None:
    cluster = running_cluster(7, tmp_path)
    view = ClusterView(cluster, TOPIC)
    view.controls.slider.value = 0  # what a user's drag back to the start does
    assert not view.controls.following
    view.broker_picker.value = "broker-2"
    view.buttons["kill"].click()
    assert view.controls.following
    assert not cluster.timeline.latest.node("broker-2").alive
    down = next(t for t in view.figure.data if t.name == "broker down")
    assert 2 - 0.46 in list(down.x)  # the left edge of broker-2's column head
    view.buttons["restart"].click()
    assert cluster.timeline.latest.node("broker-2").alive
