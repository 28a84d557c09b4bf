"""A control pressed right after a drag keeps the view live when the drag's last position
reaches the kernel after the press, as ipywidgets can deliver it (regression: the browser
test once saw 00's view scrubbed back to the start after "restart" made it live)."""

from __future__ import annotations

from pathlib import Path

from reflog.sim import Cluster
from reflog.viz.replication import ReplicationView


def scrubbed_view(data_dir: Path) -> tuple[Cluster, ReplicationView]:
    cluster = Cluster(seed=4, brokers=3, data_dir=data_dir)
    cluster.create_topic("r", partitions=1, replication_factor=3)
    cluster.run_for(1_000)
    view = ReplicationView(cluster)
    view.controls.slider.value = 0  # a drag to the start: the view shows the first moment
    assert not view.controls.following
    return cluster, view


def test_the_drag_s_last_position_arriving_after_a_press_does_not_scrub_back(
    tmp_path: Path,
) -> None:
    cluster, view = scrubbed_view(tmp_path)
    view.buttons["heal"].click()
    assert view.controls.following
    view.controls.slider.value = 0  # the drag's tail, delivered after the press
    assert view.controls.following
    assert view.controls.slider.value == len(cluster.timeline) - 1  # back at the end
    assert view.shown is cluster.timeline.latest


def test_a_new_drag_after_a_press_still_scrubs(tmp_path: Path) -> None:
    cluster, view = scrubbed_view(tmp_path)
    view.buttons["heal"].click()
    view.controls.slider.value = 2  # somewhere else: the student drags again
    assert not view.controls.following
    assert view.shown is cluster.timeline[2]
    view.controls.slider.value = 0  # and to where the first drag ended: a scrub too
    assert not view.controls.following
    assert view.shown is cluster.timeline[0]
