"""Produce requests with ``acks=all`` waiting for the in-sync replicas (Kafka's DelayedProduce).

An acks=all append is answered only when every in-sync replica has the records,
i.e. when the partition's high watermark passes them. The request waits here,
keyed by its partitions; whatever can complete it — a follower fetch moving the
high watermark, an ISR change, losing leadership, or ``timeout_ms`` running out
(REQUEST_TIMED_OUT) — checks the requests watching that partition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from reflog.broker_actions import Respond
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.produce import (
    PartitionProduceResponse,
    ProduceResponse,
    TopicProduceResponse,
)

__all__ = ["DelayedProduce", "ProducePurgatory"]


@dataclass
class DelayedProduce:
    conn: int
    header: RequestHeader
    deadline_ms: int
    # The answer being built, in request order; waiting partitions hold their append result.
    topics: list[tuple[str, list[PartitionProduceResponse]]]
    # Partition -> the offset the high watermark must reach (one past the last record).
    waiting: dict[TopicPartition, int]

    def settle(self, tp: TopicPartition, error_code: int) -> None:
        """Fix the answer for ``tp``: NONE keeps the append's offsets, an error replaces them."""
        self.waiting.pop(tp, None)
        for name, partitions in self.topics:
            if name != tp.topic:
                continue
            for i, p in enumerate(partitions):
                if p.index == tp.partition and error_code != ErrorCode.NONE:
                    partitions[i] = dataclasses.replace(p, error_code=error_code, base_offset=-1)

    def actions(self) -> list[Respond]:
        """What to send once settled: the answer to the waiting request (a group
        coordinator's write may answer several)."""
        return [Respond(self.conn, self.header, self.response())]

    def response(self) -> ProduceResponse:
        return ProduceResponse(
            responses=[
                TopicProduceResponse(name=name, partition_responses=partitions)
                for name, partitions in self.topics
            ]
        )


class ProducePurgatory:
    def __init__(self) -> None:
        self.waiting: list[DelayedProduce] = []

    def park(self, delayed: DelayedProduce) -> None:
        self.waiting.append(delayed)

    def check(
        self, tp: TopicPartition, result: Callable[[TopicPartition, int], int | None]
    ) -> list[DelayedProduce]:
        """Settle ``tp`` wherever ``result(tp, required_offset)`` has an answer; return the
        requests that are now complete (and forget them)."""
        done = []
        for delayed in self.waiting:
            required = delayed.waiting.get(tp)
            if required is None:
                continue
            outcome = result(tp, required)
            if outcome is not None:
                delayed.settle(tp, outcome)
            if not delayed.waiting:
                done.append(delayed)
        self._forget(done)
        return done

    def expired(self, now_ms: int) -> list[DelayedProduce]:
        done = [d for d in self.waiting if d.deadline_ms <= now_ms]
        for delayed in done:
            for tp in list(delayed.waiting):
                delayed.settle(tp, ErrorCode.REQUEST_TIMED_OUT)
        self._forget(done)
        return done

    def drop_connection(self, conn: int) -> None:
        self.waiting = [d for d in self.waiting if d.conn != conn]

    def next_deadline_ms(self) -> int | None:
        return min((d.deadline_ms for d in self.waiting), default=None)

    def _forget(self, done: list[DelayedProduce]) -> None:
        gone = {id(d) for d in done}
        self.waiting = [d for d in self.waiting if id(d) not in gone]
