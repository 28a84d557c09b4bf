"""A reference solution: the same floor lookup and scan as reflog's OffsetIndex.lookup and
LogSegment.find_batch, on plain lists."""

from __future__ import annotations

import bisect

__all__ = ["find_batch_position", "floor_entry"]


def floor_entry(entries: list[tuple[int, int]], target: int) -> tuple[int, int] | None:
    # bisect_right with an infinite position lands just after every entry <= target.
    i = bisect.bisect_right(entries, (target, float("inf")))
    return entries[i - 1] if i else None


def find_batch_position(
    entries: list[tuple[int, int]], batches: list[tuple[int, int, int]], target: int
) -> tuple[int, int] | None:
    floor = floor_entry(entries, target)
    start = floor[1] if floor else 0
    first = bisect.bisect_left([position for _, _, position in batches], start)
    for read, (_, last_offset, position) in enumerate(batches[first:], start=1):
        if last_offset >= target:
            return position, read
    return None
