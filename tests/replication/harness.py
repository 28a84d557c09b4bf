"""Replication scenarios on the simulated cluster: a replicated topic ready to produce to."""

from __future__ import annotations

from pathlib import Path

from reflog.sim import Cluster, records_of
from reflog.topic_partition import TopicPartition

__all__ = ["Cluster", "records_of", "replicated_cluster"]


def replicated_cluster(
    seed: int, data_dir: Path, *, record: bool = False, **settings: object
) -> tuple[Cluster, TopicPartition]:
    """3 controllers, 3 brokers, topic "r" with 3 replicas, min.insync.replicas=2 and every
    append fsynced (so a power cut tests the replication rules, not fsync timing)."""
    cluster = Cluster(
        seed=seed,
        controllers=3,
        data_dir=data_dir,
        record=record,
        replica_lag_time_max_ms=1_000,
        **settings,  # type: ignore[arg-type]
    )
    cluster.create_topic("r", 1, 3, configs={"min.insync.replicas": "2", "flush.messages": "1"})
    return cluster, TopicPartition("r", 0)
