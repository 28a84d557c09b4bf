"""DeleteRecords waiting for the followers' log start (Kafka's DelayedDeleteRecords).

The leader moves its own log start offset at once; the request is answered when every live
replica's log start has reached the offset asked for: the partition's *low watermark* (Kafka:
``Partition.lowWatermarkIfLeader``), the smallest log start offset among the leader and its
live followers. A follower learns the new log start from the leader's next fetch answer and
reports its own in its following fetch request, so each follower fetch may complete a waiting
request; losing leadership answers NOT_LEADER_OR_FOLLOWER, and ``timeout_ms`` running out
REQUEST_TIMED_OUT.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from reflog.broker_actions import Respond
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.partition_admin import (
    DeleteRecordsPartitionResult,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
)

__all__ = ["DelayedDeleteRecords", "DeleteRecordsPurgatory"]


@dataclass
class DelayedDeleteRecords:
    conn: int
    header: RequestHeader
    deadline_ms: int
    # The answer being built, in request order.
    topics: list[tuple[str, list[DeleteRecordsPartitionResult]]]
    # Partition -> the offset its low watermark must reach.
    waiting: dict[TopicPartition, int]

    def settle(self, tp: TopicPartition, low_watermark: int, error_code: int) -> None:
        self.waiting.pop(tp, None)
        for name, partitions in self.topics:
            for i, p in enumerate(partitions):
                if name == tp.topic and p.partition_index == tp.partition:
                    partitions[i] = dataclasses.replace(
                        p, low_watermark=low_watermark, error_code=error_code
                    )

    def respond(self) -> Respond:
        return Respond(
            self.conn,
            self.header,
            DeleteRecordsResponse(
                topics=[
                    DeleteRecordsTopicResult(name=name, partitions=partitions)
                    for name, partitions in self.topics
                ]
            ),
        )


class DeleteRecordsPurgatory:
    def __init__(self) -> None:
        self.waiting: list[DelayedDeleteRecords] = []

    def park(
        self, delayed: DelayedDeleteRecords, low_watermark: Callable[[TopicPartition], int | None]
    ) -> list[Respond]:
        """Answer at once if every partition is already there, else wait."""
        self.waiting.append(delayed)
        return self.check(low_watermark)

    def check(self, low_watermark: Callable[[TopicPartition], int | None]) -> list[Respond]:
        """Settle every waiting partition whose ``low_watermark(tp)`` reached its offset
        (None: this broker no longer leads it); answer the requests now complete."""
        if not self.waiting:
            return []
        for delayed in self.waiting:
            for tp, required in list(delayed.waiting.items()):
                low = low_watermark(tp)
                if low is None:
                    delayed.settle(tp, -1, ErrorCode.NOT_LEADER_OR_FOLLOWER)
                elif low >= required:
                    delayed.settle(tp, low, ErrorCode.NONE)
        return self._answer([d for d in self.waiting if not d.waiting])

    def expired(self, now_ms: int) -> list[Respond]:
        done = [d for d in self.waiting if d.deadline_ms <= now_ms]
        for delayed in done:
            for tp in list(delayed.waiting):
                delayed.settle(tp, -1, ErrorCode.REQUEST_TIMED_OUT)
        return self._answer(done)

    def drop_connection(self, conn: int) -> None:
        self.waiting = [d for d in self.waiting if d.conn != conn]

    def next_deadline_ms(self) -> int | None:
        if not self.waiting:
            return None
        return min(d.deadline_ms for d in self.waiting)

    def _answer(self, done: list[DelayedDeleteRecords]) -> list[Respond]:
        gone = {id(d) for d in done}
        self.waiting = [d for d in self.waiting if id(d) not in gone]
        return [d.respond() for d in done]
