"""Requests that wait: Kafka's "purgatory" for fetches that want more data.

A consumer's Fetch says "wait up to ``max_wait_ms`` until you have
``min_bytes`` for me". Instead of polling, the broker parks the request here,
keyed by the partitions it reads. An append to one of those partitions
*checks* the parked fetches on it (Kafka's ``checkAndComplete``); a deadline
completes the rest. The runtime only has to call :meth:`Broker.tick` at
:meth:`FetchPurgatory.next_deadline_ms`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reflog.topic_partition import TopicPartition
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import FetchRequest

__all__ = ["DelayedFetch", "FetchPurgatory"]


@dataclass(frozen=True)
class DelayedFetch:
    conn: int
    header: RequestHeader
    request: FetchRequest
    deadline_ms: int
    partitions: frozenset[TopicPartition]


class FetchPurgatory:
    def __init__(self) -> None:
        self._waiting: list[DelayedFetch] = []

    def park(self, fetch: DelayedFetch) -> None:
        self._waiting.append(fetch)

    def watching(self, tp: TopicPartition) -> list[DelayedFetch]:
        return [f for f in self._waiting if tp in f.partitions]

    def expired(self, now_ms: int) -> list[DelayedFetch]:
        return [f for f in self._waiting if f.deadline_ms <= now_ms]

    def remove(self, fetches: Iterable[DelayedFetch]) -> None:
        done = {id(f) for f in fetches}
        self._waiting = [f for f in self._waiting if id(f) not in done]

    def drop_connection(self, conn: int) -> None:
        self._waiting = [f for f in self._waiting if f.conn != conn]

    def next_deadline_ms(self) -> int | None:
        # Asked after every message the broker handles: nothing to scan when nothing waits.
        if not self._waiting:
            return None
        return min(f.deadline_ms for f in self._waiting)

    def __len__(self) -> int:
        return len(self._waiting)
