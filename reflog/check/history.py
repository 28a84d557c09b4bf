"""A history: what clients asked of the cluster and what they were told, one operation each.

The checker never looks inside a broker. Like Jepsen's Kafka workload, it reads only what the
clients saw: a send and its answer (acknowledged at an offset, refused, or no answer), each
poll's (offset, value) pairs, each offset commit. Values must be unique per partition, so that
a value read names the send that wrote it.

A :class:`History` is filled as a run goes on: ``invoke_send`` when a request leaves, then
``acknowledged``, ``failed`` or nothing (the answer never came: indeterminate) when it returns.

reflog simplification: one operation sends to one partition (Kafka's produce request may carry
many partitions, each with its own answer: record one send per partition).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

__all__ = [
    "REFUSED_BEFORE_APPEND",
    "Assign",
    "Commit",
    "History",
    "Op",
    "Outcome",
    "Poll",
    "PolledRecord",
    "Send",
]


# Produce errors a leader answers before it appends anything: the send certainly failed. Every
# other error, and no answer, leaves it indeterminate. NOT_LEADER_OR_FOLLOWER is not certain: a
# deposed leader answers the acks=all requests waiting in its purgatory with it after appending
# them, and the new leader may hold them (the checker found that as G1a on replication seeds).
REFUSED_BEFORE_APPEND = frozenset(
    {ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
)


class Outcome(StrEnum):
    """Jepsen's three completions: ok, fail (certainly did not happen), info (may have)."""

    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True)
class Send:
    """``values`` sent to ``tp`` by ``process``; when OK, written at ``offset``, ``offset+1``..."""

    index: int
    process: str
    tp: TopicPartition
    values: tuple[bytes, ...]
    invoked_ms: int
    completed_ms: int | None = None  # None: no answer came (indeterminate)
    outcome: Outcome = Outcome.INFO
    # The base offset, when acknowledged; None also when acknowledged without one (an
    # idempotent producer's batch acknowledged by a later batch's answer, as Kafka's
    # RecordMetadata without an offset).
    offset: int | None = None
    error: str = ""

    def written(self) -> list[tuple[int, bytes]]:
        """The (offset, value) pairs an acknowledgement promises."""
        if self.outcome is not Outcome.OK or self.offset is None:
            return []
        return [(self.offset + i, value) for i, value in enumerate(self.values)]


@dataclass(frozen=True)
class PolledRecord:
    tp: TopicPartition
    offset: int
    value: bytes


@dataclass(frozen=True)
class Poll:
    """One poll by ``process``: the records it returned, in the order it returned them."""

    index: int
    process: str
    records: tuple[PolledRecord, ...]
    invoked_ms: int
    completed_ms: int


@dataclass(frozen=True)
class Assign:
    """``process`` was (re)assigned ``partitions`` or sought: its next poll may start anywhere,
    so poll-skip and nonmonotonic-poll do not compare across it."""

    index: int
    process: str
    partitions: tuple[TopicPartition, ...]
    at_ms: int


@dataclass(frozen=True)
class Commit:
    """``group`` committed ``offset`` (the next offset to read) for ``tp``."""

    index: int
    process: str
    group: str
    tp: TopicPartition
    offset: int
    invoked_ms: int
    completed_ms: int | None = None
    outcome: Outcome = Outcome.INFO
    error: str = ""


Op = Send | Poll | Assign | Commit


class History:
    """Operations in the order they were invoked; ``ops[i].index == i``."""

    def __init__(self, ops: Iterable[Op] = ()) -> None:
        self._ops: list[Op] = []
        for op in ops:
            self._ops.append(dataclasses.replace(op, index=len(self._ops)))

    @property
    def ops(self) -> tuple[Op, ...]:
        return tuple(self._ops)

    def __len__(self) -> int:
        return len(self._ops)

    def __getitem__(self, index: int) -> Op:
        return self._ops[index]

    # -- sends --------------------------------------------------------------------------
    def invoke_send(
        self, process: str, tp: TopicPartition, values: Sequence[bytes], now_ms: int
    ) -> int:
        """A send leaves; until it completes it counts as indeterminate. Returns its index."""
        return self._append(Send(len(self._ops), process, tp, tuple(values), now_ms))

    def acknowledged(self, index: int, offset: int | None, now_ms: int) -> None:
        """Acknowledged at ``offset``, or, with ``None``, at an offset the client was not told."""
        self._complete_send(index, now_ms, Outcome.OK, offset=offset)

    def failed(self, index: int, error: str, now_ms: int, *, definite: bool) -> None:
        """An error answer: ``definite`` when the error means nothing was written (e.g.
        NOT_LEADER_OR_FOLLOWER), else indeterminate (e.g. REQUEST_TIMED_OUT)."""
        self._complete_send(index, now_ms, Outcome.FAIL if definite else Outcome.INFO, error=error)

    def _complete_send(self, index: int, now_ms: int, outcome: Outcome, **fields: object) -> None:
        send = self._ops[index]
        assert isinstance(send, Send), f"operation {index} is not a send"
        assert send.completed_ms is None, f"send {index} completed twice"
        self._ops[index] = dataclasses.replace(
            send,
            completed_ms=now_ms,
            outcome=outcome,
            **fields,  # type: ignore[arg-type]
        )

    # -- consumers ----------------------------------------------------------------------
    def poll(
        self,
        process: str,
        records: Iterable[tuple[TopicPartition, int, bytes]],
        invoked_ms: int,
        completed_ms: int | None = None,
    ) -> int:
        polled = tuple(PolledRecord(tp, offset, value) for tp, offset, value in records)
        done = invoked_ms if completed_ms is None else completed_ms
        return self._append(Poll(len(self._ops), process, polled, invoked_ms, done))

    def assign(self, process: str, partitions: Iterable[TopicPartition], now_ms: int) -> int:
        return self._append(Assign(len(self._ops), process, tuple(partitions), now_ms))

    def commit(
        self,
        process: str,
        group: str,
        tp: TopicPartition,
        offset: int,
        invoked_ms: int,
        *,
        completed_ms: int | None = None,
        error: str = "",
    ) -> int:
        """An offset commit, answered (``error`` empty: committed) or not (``completed_ms``
        None: indeterminate)."""
        outcome = Outcome.INFO
        if completed_ms is not None:
            outcome = Outcome.FAIL if error else Outcome.OK
        commit = Commit(
            len(self._ops), process, group, tp, offset, invoked_ms, completed_ms, outcome, error
        )
        return self._append(commit)

    def _append(self, op: Op) -> int:
        self._ops.append(op)
        return op.index
