"""The reference answer: the floor lookup is reflog's own OffsetIndex.lookup, over the
exercise's list instead of a .index file; the forward scan is LogSegment.find_batch's, over
the exercise's list of batches (its positions are made up, so no real segment holds them)."""

from __future__ import annotations

import bisect
import os
from pathlib import Path

from reflog.storage.index import OffsetIndex

__all__ = ["find_batch_position", "floor_entry"]


class ListIndex(OffsetIndex):
    """reflog's OffsetIndex with its rows already in memory: ``(offset, position)`` pairs,
    which with a base offset of 0 are the relative offsets a .index file holds."""

    def __init__(self, entries: list[tuple[int, int]]) -> None:
        super().__init__(Path(os.devnull), base_offset=0, max_bytes=8 * max(1, len(entries)))
        self._rows = entries  # the list itself: lookup reads only what bisect asks for


def floor_entry(entries: list[tuple[int, int]], target: int) -> tuple[int, int] | None:
    if not entries or target < entries[0][0]:
        return None  # here reflog's lookup answers the segment's start: scan from position 0
    found = ListIndex(entries).lookup(target)
    return found.offset, found.position


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
