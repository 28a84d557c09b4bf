"""The event queue: what happens next, in a deterministic order.

Events at the same millisecond run in the order they were scheduled (an
insertion counter breaks ties), so a run never depends on heap internals.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["EventQueue", "Scheduled"]


@dataclass(slots=True)
class Scheduled:
    at_ms: int
    seq: int
    action: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class EventQueue:
    def __init__(self) -> None:
        # The heap holds (at_ms, seq, event) tuples: tuples compare in C, where ordering
        # the Scheduled objects themselves would call a Python __lt__ on every heap step.
        # seq is unique, so the comparison never reaches the event.
        self._heap: list[tuple[int, int, Scheduled]] = []
        self._seq = itertools.count()

    def schedule(self, at_ms: int, action: Callable[[], None]) -> Scheduled:
        seq = next(self._seq)
        event = Scheduled(at_ms, seq, action)
        heapq.heappush(self._heap, (at_ms, seq, event))
        return event

    def peek_time(self) -> int | None:
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def pop(self) -> Scheduled | None:
        self._drop_cancelled()
        return heapq.heappop(self._heap)[2] if self._heap else None

    def pop_due(self, end_ms: int) -> Scheduled | None:
        """The next event if it is due at or before ``end_ms`` (else None, and it stays):
        :meth:`peek_time` then :meth:`pop` in one step, for the simulation's run loop."""
        heap = self._heap
        while heap and heap[0][0] <= end_ms:
            event = heapq.heappop(heap)[2]
            if not event.cancelled:
                return event
        return None

    def _drop_cancelled(self) -> None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)

    def __len__(self) -> int:
        return sum(not e.cancelled for _, _, e in self._heap)
