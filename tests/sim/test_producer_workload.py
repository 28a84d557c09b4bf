"""The simulated producer workload: its rate can stop and start again."""

from __future__ import annotations

from pathlib import Path

from reflog.sim import Cluster


def test_a_producer_stopped_and_started_again_sends_at_once(tmp_path: Path) -> None:
    cluster = Cluster(seed=4, brokers=1, data_dir=tmp_path)
    cluster.create_topic("t")
    producer = cluster.add_producer("p", "t", rate_per_s=100)
    cluster.run_for(500)
    cluster.set_rate("p", 0)
    cluster.run_for(1_000)  # every answer in: the producer is idle, with no timer set
    sent = producer.sent
    assert producer.producer.pending_count == 0
    cluster.set_rate("p", 100)
    cluster.run_for(500)
    assert producer.sent >= sent + 45  # not only at its next metadata refresh, minutes away
    assert producer.acked >= sent + 40
