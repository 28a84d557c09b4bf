"""Replication scenarios on the simulated KRaft cluster: helpers to read logs and break things."""

from __future__ import annotations

from reflog.sim.kraft import KraftCluster, records_of
from reflog.topic_partition import TopicPartition

__all__ = ["KraftCluster", "records_of", "replicated_cluster"]


def replicated_cluster(
    seed: int, data_dir: object, **settings: object
) -> tuple[KraftCluster, TopicPartition]:
    """3 controllers, 3 brokers, topic "r" with 3 replicas and min.insync.replicas=2."""
    from pathlib import Path

    assert isinstance(data_dir, Path)
    cluster = KraftCluster(seed, data_dir, replica_lag_time_max_ms=1_000, **settings)  # type: ignore[arg-type]
    cluster.wait_for_active_controller()
    cluster.wait_unfenced(1, 2, 3)
    configs = {"min.insync.replicas": "2", "flush.messages": "1"}
    assert cluster.create_topic("r", 1, 3, configs=configs) == 0
    cluster.wait_caught_up()
    return cluster, TopicPartition("r", 0)
