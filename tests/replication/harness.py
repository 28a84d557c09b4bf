"""Replication scenarios on the simulated KRaft cluster: helpers to read logs and break things."""

from __future__ import annotations

from reflog.records.batch import iter_batches
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition

from ..controller.harness import KraftCluster

__all__ = ["KraftCluster", "records_of", "replicated_cluster"]


def records_of(log: Log, end: int | None = None) -> list[tuple[int, bytes | None]]:
    """Every (offset, value) in ``log`` from its start, up to ``end`` if given."""
    out: list[tuple[int, bytes | None]] = []
    offset = log.log_start_offset
    stop = log.log_end_offset if end is None else end
    while offset < stop:
        read = log.read(offset, 1 << 20, max_offset=stop)
        if read.records is None:
            break
        for batch in iter_batches(read.records.read()):
            for record in batch.records():
                if offset <= record.offset < stop:
                    out.append((record.offset, record.value))
            offset = batch.last_offset + 1
    return out


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
