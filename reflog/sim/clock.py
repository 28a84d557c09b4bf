"""Virtual time: the simulation's only clock, in whole milliseconds."""

from __future__ import annotations

__all__ = ["VirtualClock"]


class VirtualClock:
    def __init__(self, start_ms: int = 0) -> None:
        self.now_ms = start_ms

    def advance_to(self, at_ms: int) -> None:
        if at_ms < self.now_ms:
            raise ValueError(f"time cannot go back from {self.now_ms} to {at_ms}")
        self.now_ms = at_ms
