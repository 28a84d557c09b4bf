"""Which segments retention deletes: a pure decision over segment sizes and times.

Kafka deletes whole segments, oldest first: one goes while its newest record is
older than ``retention.ms`` or while the log would still be at least
``retention.bytes`` without it (-1 disables either limit). The active segment
stays (reflog simplification: Kafka may roll and delete it too).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SegmentInfo", "segments_to_delete"]


@dataclass(frozen=True)
class SegmentInfo:
    base_offset: int
    size: int
    max_timestamp: int


def segments_to_delete(
    segments: list[SegmentInfo], now_ms: int, retention_ms: int, retention_bytes: int
) -> list[int]:
    """Base offsets of the segments to delete, oldest first (``segments`` oldest first)."""
    deleted: list[int] = []
    total = sum(s.size for s in segments)
    for segment in segments[:-1]:
        expired = retention_ms >= 0 and now_ms - segment.max_timestamp > retention_ms
        oversized = 0 <= retention_bytes <= total - segment.size
        if not (expired or oversized):
            break
        deleted.append(segment.base_offset)
        total -= segment.size
    return deleted
