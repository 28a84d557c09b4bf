"""The recorded trace: every event of a run, typed, in order.

Views read it (live, through subscribers, or afterwards to scrub back in
time); tests compare its digest: the same seed must give the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "LinkChanged",
    "MessageDelivered",
    "MessageDropped",
    "MessageSent",
    "NodeCrashed",
    "NodeRestarted",
    "Note",
    "TimerFired",
    "Trace",
    "TraceEvent",
]


@dataclass(frozen=True)
class MessageSent:
    at_ms: int
    src: str
    dst: str
    payload: object
    deliver_at_ms: int


@dataclass(frozen=True)
class MessageDelivered:
    at_ms: int
    src: str
    dst: str
    payload: object


@dataclass(frozen=True)
class MessageDropped:
    at_ms: int
    src: str
    dst: str
    payload: object
    reason: str  # "loss", "partition" or "crashed"


@dataclass(frozen=True)
class NodeCrashed:
    at_ms: int
    node: str


@dataclass(frozen=True)
class NodeRestarted:
    at_ms: int
    node: str


@dataclass(frozen=True)
class TimerFired:
    at_ms: int
    node: str
    token: object


@dataclass(frozen=True)
class LinkChanged:
    at_ms: int
    description: str


@dataclass(frozen=True)
class Note:
    """A domain event a node reports, e.g. ("acked", topic="t", offset=3)."""

    at_ms: int
    node: str
    kind: str
    data: tuple[tuple[str, object], ...]

    def get(self, key: str) -> object:
        return dict(self.data)[key]


TraceEvent = (
    MessageSent
    | MessageDelivered
    | MessageDropped
    | NodeCrashed
    | NodeRestarted
    | TimerFired
    | LinkChanged
    | Note
)


class Trace:
    """Every event, in order, when ``keep`` (the default); subscribers see them either way.

    A run that nobody will scrub or compare (a benchmark, a long soak) may choose not to
    keep the trace: the events are then not even built unless someone subscribes, and the
    run neither pays for them nor holds every message it ever sent in memory.
    """

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.events: list[TraceEvent] = []
        self._subscribers: list[Callable[[TraceEvent], None]] = []
        # Whether recording an event has any effect (the simulation skips building it if
        # not): read for every message, so a flag kept up to date rather than a property.
        self.wanted = keep

    def record(self, event: TraceEvent) -> None:
        if self.keep:
            self.events.append(event)
        for subscriber in self._subscribers:
            subscriber(event)

    def subscribe(self, callback: Callable[[TraceEvent], None]) -> None:
        self._subscribers.append(callback)
        self.wanted = True

    def since(self, index: int) -> list[TraceEvent]:
        return self.events[index:]

    def notes(self, kind: str | None = None) -> list[Note]:
        return [e for e in self.events if isinstance(e, Note) and (kind is None or e.kind == kind)]

    def digest(self) -> str:
        """SHA-256 over the text of every event: equal digests, equal runs."""
        if not self.keep:
            raise ValueError("this trace was not kept (keep=False): it has no digest")
        h = hashlib.sha256()
        for event in self.events:
            h.update(repr(event).encode())
            h.update(b"\n")
        return h.hexdigest()

    def __len__(self) -> int:
        return len(self.events)
