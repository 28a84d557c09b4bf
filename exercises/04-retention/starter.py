"""Your retention decision (see README.md)."""

from __future__ import annotations


def segments_to_delete(
    segments: list[tuple[int, int, int]], now_ms: int, retention_ms: int, retention_bytes: int
) -> tuple[list[int], int]:
    # A tempting mistake: deleting by record age alone, one record at a time.
    raise NotImplementedError
