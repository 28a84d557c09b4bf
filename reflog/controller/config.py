"""Controller settings, by Kafka's names (``broker.session.timeout.ms`` becomes
``broker_session_timeout_ms``), with Kafka's defaults where Kafka has one."""

from __future__ import annotations

from dataclasses import dataclass, field

from reflog.raft.core import RaftConfig

__all__ = ["ControllerConfig"]


@dataclass(frozen=True)
class ControllerConfig:
    node_id: int
    # The voters of the quorum by node id (controller.quorum.voters, without addresses).
    voters: tuple[int, ...]
    # A broker that has not sent a heartbeat for this long is fenced.
    broker_session_timeout_ms: int = 9_000
    num_partitions: int = 1
    default_replication_factor: int = 1
    unclean_leader_election_enable: bool = False
    # How many committed batches between metadata snapshots. Kafka counts bytes
    # (metadata.log.max.record.bytes.between.snapshots); reflog counts batches.
    metadata_snapshot_batches: int = 1_000
    raft: RaftConfig = field(default_factory=lambda: RaftConfig(election_timeout_ms=1_000))
