"""The reference answer: reflog's own Partition (isr_to_shrink, then the high watermark over
the ISR the controller commits), on a leader with a real log in a temporary directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

from reflog.records import build_batch
from reflog.replication.epoch_cache import LeaderEpochCache
from reflog.replication.partition import Partition, ReplicaState, ReplicationConfig
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition

__all__ = ["update"]


def update(
    leader: int,
    leader_log_end_offset: int,
    followers: dict[int, tuple[int, int]],
    isr: list[int],
    high_watermark: int,
    now_ms: int,
    replica_lag_time_max_ms: int,
    min_insync_replicas: int,
) -> tuple[list[int], int]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Log(Path(tmp) / "t-0")
        for _ in range(leader_log_end_offset):
            log.append(build_batch([(None, b"", 0)]), leader_epoch=0)
        partition = Partition(
            TopicPartition("t", 0),
            leader,
            log,
            LeaderEpochCache(None),
            ReplicationConfig(replica_lag_time_max_ms, min_insync_replicas),
        )
        partition.high_watermark = high_watermark  # what this leader had committed so far
        outside = tuple(r for r in followers if r not in isr)
        partition.become_leader(0, 0, (*isr, *outside), tuple(isr), now_ms)
        for broker, (log_end_offset, last_caught_up_ms) in followers.items():
            # What each follower's fetches told the leader.
            partition.followers[broker] = ReplicaState(log_end_offset, last_caught_up_ms)
        shrunk = partition.isr_to_shrink(now_ms)
        if shrunk is not None:
            partition.isr_committed(1, shrunk)  # the controller commits the smaller ISR
        else:
            partition.maybe_increment_high_watermark()
        log.close()
        return list(partition.isr), partition.high_watermark
