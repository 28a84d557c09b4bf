"""The event queue: what happens next, in a deterministic order.

Events at the same millisecond run in the order they were scheduled (an
insertion counter breaks ties), so a run never depends on heap internals.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["EventQueue", "Scheduled"]


@dataclass(order=True)
class Scheduled:
    at_ms: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class EventQueue:
    def __init__(self) -> None:
        self._heap: list[Scheduled] = []
        self._seq = itertools.count()

    def schedule(self, at_ms: int, action: Callable[[], None]) -> Scheduled:
        event = Scheduled(at_ms, next(self._seq), action)
        heapq.heappush(self._heap, event)
        return event

    def peek_time(self) -> int | None:
        self._drop_cancelled()
        return self._heap[0].at_ms if self._heap else None

    def pop(self) -> Scheduled | None:
        self._drop_cancelled()
        return heapq.heappop(self._heap) if self._heap else None

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)

    def __len__(self) -> int:
        return sum(not e.cancelled for e in self._heap)
