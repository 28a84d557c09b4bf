"""The reference answer: reflog's own retention decision."""

from __future__ import annotations

from reflog.storage.retention import SegmentInfo
from reflog.storage.retention import segments_to_delete as reflog_segments_to_delete

__all__ = ["segments_to_delete"]


def segments_to_delete(
    segments: list[tuple[int, int, int]], now_ms: int, retention_ms: int, retention_bytes: int
) -> tuple[list[int], int]:
    infos = [SegmentInfo(*s) for s in segments]
    deleted = reflog_segments_to_delete(infos, now_ms, retention_ms, retention_bytes)
    return deleted, segments[len(deleted)][0]
