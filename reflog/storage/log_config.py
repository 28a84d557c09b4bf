"""Per-topic log settings, by Kafka's names, with Kafka's defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LogConfig"]


@dataclass(frozen=True)
class LogConfig:
    segment_bytes: int = 1_073_741_824  # segment.bytes: roll when the .log reaches this
    segment_ms: int = 604_800_000  # segment.ms: roll when the active segment is this old
    segment_index_bytes: int = 10_485_760  # segment.index.bytes: roll when an index is full
    index_interval_bytes: int = 4096  # index.interval.bytes: bytes between index entries
    retention_ms: int = 604_800_000  # retention.ms (-1: keep forever)
    retention_bytes: int = -1  # retention.bytes (-1: no size limit)
    cleanup_policy: str = "delete"  # cleanup.policy: delete, compact or compact,delete
    delete_retention_ms: int = 86_400_000  # delete.retention.ms: how long tombstones live
    min_cleanable_dirty_ratio: float = 0.5  # min.cleanable.dirty.ratio
    flush_messages: int | None = None  # flush.messages (None: leave it to the OS)
    # Replication settings Kafka also keeps per topic (used by the controller and leaders).
    min_insync_replicas: int = 1
    unclean_leader_election_enable: bool = False

    def __post_init__(self) -> None:
        if self.segment_bytes < 14:  # Kafka's minimum: one batch header's worth
            raise ValueError("Value must be at least 14")  # segment.bytes
        if self.index_interval_bytes < 0:
            raise ValueError("Value must be at least 0")  # index.interval.bytes
        if self.cleanup_policy not in ("delete", "compact", "compact,delete", "delete,compact"):
            raise ValueError("String must be one of: compact, delete")  # cleanup.policy
        if self.min_insync_replicas < 1:
            raise ValueError("Value must be at least 1")  # min.insync.replicas

    @property
    def compact(self) -> bool:
        return "compact" in self.cleanup_policy

    @property
    def delete(self) -> bool:
        return "delete" in self.cleanup_policy
