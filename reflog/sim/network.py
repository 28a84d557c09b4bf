"""A seeded network between named nodes: latency, loss, partitions.

Every directed link behaves like a TCP connection: messages arrive in the
order they were sent (a later message never overtakes an earlier one), after
a latency drawn from the link's range. Loss drops a message; a partition
drops everything sent across it, and whatever was in flight when it arrives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["LinkConfig", "SimNetwork"]


@dataclass(frozen=True)
class LinkConfig:
    latency_ms_min: int = 1
    latency_ms_max: int = 3
    loss: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms_min <= self.latency_ms_max:
            raise ValueError("need 0 <= latency_ms_min <= latency_ms_max")
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError("loss is a probability")


class SimNetwork:
    def __init__(self, rng: random.Random, default: LinkConfig | None = None) -> None:
        self._rng = rng
        self.default = default or LinkConfig()
        self._links: dict[tuple[str, str], LinkConfig] = {}
        self.cuts: set[tuple[str, str]] = set()  # directed links that drop everything
        self._last_delivery: dict[tuple[str, str], int] = {}

    def configure(self, src: str, dst: str, config: LinkConfig) -> None:
        self._links[(src, dst)] = config

    def link(self, src: str, dst: str) -> LinkConfig:
        return self._links.get((src, dst), self.default)

    def is_cut(self, src: str, dst: str) -> bool:
        return (src, dst) in self.cuts

    def cut(self, src: str, dst: str) -> None:
        """Cut one direction (src → dst)."""
        self.cuts.add((src, dst))

    def partition(self, group_a: set[str], group_b: set[str]) -> None:
        for a in group_a:
            for b in group_b:
                self.cuts.add((a, b))
                self.cuts.add((b, a))

    def heal(self) -> None:
        self.cuts.clear()

    def cut_links(self) -> list[tuple[str, str]]:
        return sorted(self.cuts)

    def plan(self, src: str, dst: str, now_ms: int) -> int | None:
        """When a message sent now on src → dst arrives, or None if it is lost."""
        link = (src, dst)
        config = self._links.get(link, self.default)
        # A latency drawn uniformly from the link's range, as randint draws it (rejection
        # sampling on getrandbits, so the same seed gives the same latencies), written out
        # because it runs for every message and randint costs four calls.
        width = config.latency_ms_max - config.latency_ms_min + 1
        bits = width.bit_length()
        draw = self._rng.getrandbits(bits)
        while draw >= width:
            draw = self._rng.getrandbits(bits)
        latency = config.latency_ms_min + draw
        if config.loss and self._rng.random() < config.loss:
            return None
        at = max(now_ms + latency, self._last_delivery.get(link, 0))
        self._last_delivery[link] = at
        return at
