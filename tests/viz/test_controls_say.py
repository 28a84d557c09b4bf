"""Every button of a live view answers under it: what it did to the cluster, or that it had
nothing to do, and while paused, that the cluster reacts only as time runs."""

from __future__ import annotations

from pathlib import Path

from reflog.sim import Cluster
from reflog.viz.replication import ReplicationView


def replicated(data_dir: Path) -> Cluster:
    cluster = Cluster(seed=4, brokers=3, data_dir=data_dir)
    cluster.create_topic("r", partitions=1, replication_factor=3)
    cluster.run_for(500)
    return cluster


def test_a_press_says_the_action_the_cluster_recorded(tmp_path: Path) -> None:
    cluster = replicated(tmp_path)
    view = ReplicationView(cluster)
    assert view.controls.said.value == ""  # nothing pressed, nothing said
    view.broker.value = 2
    view.buttons["kill"].click()
    assert "crashed broker-2" in view.controls.said.value
    assert "paused: the cluster reacts as time runs" in view.controls.said.value


def test_a_press_that_changes_nothing_says_so(tmp_path: Path) -> None:
    cluster = replicated(tmp_path)
    view = ReplicationView(cluster)
    view.broker.value = 2
    view.buttons["kill"].click()
    actions = len(cluster.actions)
    view.buttons["kill"].click()  # broker-2 is down already: Cluster.crash does nothing
    assert len(cluster.actions) == actions
    assert "kill: nothing to do right now" in view.controls.said.value
