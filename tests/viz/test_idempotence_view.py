"""The producer-state view draws what each replica's table holds, as the timeline recorded it."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.viz.idempotence import ProducerStateView, describe_producer_state

TP = TopicPartition("orders", 0)


def idempotent_cluster(data_dir: Path) -> Cluster:
    cluster = Cluster(seed=2, brokers=3, data_dir=data_dir)
    cluster.create_topic("orders", partitions=1, replication_factor=3)
    cluster.add_producer("app", "orders", rate_per_s=100)
    cluster.run_for(1_000)
    return cluster


def test_every_replica_s_table_is_recorded_with_the_producer_s_id_and_five_batches(
    tmp_path: Path,
) -> None:
    cluster = idempotent_cluster(tmp_path)
    cluster.set_rate("app", 0)
    cluster.run_for(600)  # the followers' next fetch: every replica has every record
    snapshot = cluster.timeline.latest
    producer = snapshot.producer("app")
    assert producer.producer_id >= 0 and producer.producer_epoch == 0
    partition = snapshot.partition("orders", 0)
    tables = {r.broker_id: r.producers for r in partition.replicas}
    leader_table = tables[partition.leader]
    [entry] = leader_table
    assert entry.producer_id == producer.producer_id
    assert len(entry.batches) == 5
    assert entry.batches[-1].last_offset == partition.high_watermark - 1
    assert all(table == leader_table for table in tables.values())  # followers agree
    text = describe_producer_state(snapshot, TP)
    assert f"producer {producer.producer_id} epoch 0: seq " in text


def test_the_view_draws_each_remembered_batch_and_its_offset(tmp_path: Path) -> None:
    cluster = idempotent_cluster(tmp_path)
    view = ProducerStateView(cluster, "orders")
    bars = view.figure.data[0]
    assert len(bars.x) == 15  # five batches on each of three replicas
    snapshot = cluster.timeline.latest
    leader = snapshot.partition("orders", 0).replica(snapshot.leader_of("orders", 0))
    first = leader.producers[0].batches[0]
    assert f"@{first.first_offset}" in bars.text
    sent = view.figure.data[1]
    assert sent.y[-1] == snapshot.producer("app").sent


def test_killing_the_leader_from_the_view_redraws_its_row_as_down(tmp_path: Path) -> None:
    cluster = idempotent_cluster(tmp_path)
    view = ProducerStateView(cluster, "orders")
    leader = cluster.leader_of(TP)
    view.buttons["kill the leader"].click()
    ticks = view.figure.layout.yaxis.ticktext
    assert f"broker-{leader} (down)" in ticks[leader - 1]


def test_the_stored_figure_replays_the_recording(tmp_path: Path) -> None:
    cluster = idempotent_cluster(tmp_path)
    figure = ProducerStateView(cluster, "orders").static_figure(max_frames=10)
    assert isinstance(figure, go.Figure)
    assert len(figure.frames) == 10
    assert len(figure.data[0].x) == 15  # the last frame is what shows


def test_every_press_says_what_it_did_and_that_the_cluster_waits_for_time_to_run(
    tmp_path: Path,
) -> None:
    cluster = idempotent_cluster(tmp_path)
    view = ProducerStateView(cluster, "orders")
    said = view.controls.said
    leader = cluster.leader_of(TP)
    view.buttons["kill the leader"].click()
    assert f"crashed broker-{leader}" in said.value
    assert "paused" in said.value and "press Play" in said.value
    # Until time runs the controller still names the dead broker: the status says so.
    assert f"broker-{leader} (epoch 0: down, and the controller has not noticed" in (
        view.status.value
    )
    view.buttons["kill the leader"].click()
    assert f"broker-{leader} is down already" in said.value
    view.buttons["restart"].click()
    assert f"restarted broker-{leader}" in said.value
    # Back up, it has not heard of the partition's leader yet.
    assert f"broker-{leader} (starting)" in view.figure.layout.yaxis.ticktext[leader - 1]
    view.buttons["restart"].click()
    assert "nothing to restart: every broker is up" in said.value
    cluster.run_for(2_000)
    view.controls.redraw()
    assert "not noticed" not in view.status.value  # a new leader, or the old one back
