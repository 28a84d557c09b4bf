"""A consumer-group member on a simulated node: it subscribes, processes what it polls,
and keeps a record of what it owned when, for views and for the group tests' invariants.

Processing is appending to ``records`` as soon as ``poll()`` returns, so auto-commit (which
commits what poll() has handed out) commits only what was processed: at-least-once. Two ways
make the classic mistake instead, committing records *before* they are processed, so that a
crash in between loses them for good: ``commit_before_processing`` commits what each poll
returned at once; ``processing_rate_per_s`` hands what poll returns to a worker that processes
that many records a second (another thread, in a real application), while auto-commit goes on
committing everything poll has handed out, processed or not.

``processing_ms_per_poll`` is the usual poll loop instead: the application processes each
batch poll() returns for that long (give or take ``processing_jitter`` of it, drawn from the
node's seeded random: real batches differ) before it polls again, so the consumer's rebalance steps
(Kafka runs them inside poll()) wait for its next poll, while heartbeats go on
(:attr:`~reflog.consumer.membership.GroupMembership.in_poll`). Kafka bounds that time with
``max.poll.interval.ms``; reflog does not check it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from reflog.consumer import Consumer, ConsumerConfig, ConsumerRebalanceListener, ConsumerRecord
from reflog.sim.node import NodeContext
from reflog.sim.workloads import ConsumerWorkload
from reflog.topic_partition import TopicPartition

__all__ = ["GroupConsumerWorkload", "Ownership", "group_member"]


@dataclass(frozen=True)
class Ownership:
    """What a member owned from ``at_ms`` on: after a rebalance completed (``generation``
    is the one it completed), or after it revoked or lost partitions."""

    at_ms: int
    generation: int
    partitions: frozenset[TopicPartition]
    why: str  # "assigned", "revoked", "lost", "crashed"


class _Tracker(ConsumerRebalanceListener):
    def __init__(self, workload: GroupConsumerWorkload) -> None:
        self.workload = workload

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.workload._owned_changed("revoked", remove=revoked)

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.workload._owned_changed("lost", remove=lost)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.workload._owned_changed("assigned", add=assigned)


class GroupConsumerWorkload(ConsumerWorkload):
    """A member of group ``config.group_id`` reading ``topic``.

    ``partitions`` is what it owns now (what the timeline records), ``history`` every
    change of it. ``close()`` leaves the group in an orderly way (commit, revoke,
    LeaveGroup); ``Cluster.crash`` kills it without a word, and a restart joins anew.
    ``records`` are the records processed; with ``processing_rate_per_s``, ``backlog`` holds
    those polled and not processed yet (a crash loses them: the worker dies with it)."""

    def __init__(
        self,
        name: str,
        config: ConsumerConfig,
        topic: str,
        *,
        commit_before_processing: bool = False,
        processing_rate_per_s: float | None = None,
        processing_ms_per_poll: int = 0,
        processing_jitter: float = 0.0,
    ) -> None:
        super().__init__(name, config, [], topic=topic)
        if processing_rate_per_s is not None and processing_rate_per_s <= 0:
            raise ValueError("processing_rate_per_s must be positive (None: no worker)")
        if processing_ms_per_poll < 0 or (processing_ms_per_poll and processing_rate_per_s):
            raise ValueError("processing_ms_per_poll: not negative, not with a worker")
        if not 0 <= processing_jitter < 1:
            raise ValueError("processing_jitter is a share of processing_ms_per_poll, below 1")
        self.processing_ms_per_poll = processing_ms_per_poll
        self.processing_jitter = processing_jitter
        self.busy_until_ms = 0  # processing the batch in backlog until then
        self._poll_at_ms: int | None = None  # back in poll(): records are handed out then
        self.commit_before_processing = commit_before_processing
        self.processing_rate_per_s = processing_rate_per_s
        self.backlog: deque[ConsumerRecord] = deque()
        self._head_done_ms = 0.0  # when the worker is done with the backlog's first record
        self.history: list[Ownership] = []
        self._now_ms = 0

    def _make_consumer(self, ctx: NodeContext) -> Consumer:
        self._now_ms = ctx.now_ms
        consumer = Consumer(self.config)
        consumer.network.now_ms = ctx.now_ms
        consumer.subscribe([self.topic], _Tracker(self))
        return consumer

    def crash(self) -> None:
        super().crash()
        self.backlog.clear()  # the worker's records die with the process
        self.busy_until_ms, self._poll_at_ms = 0, None
        if self.partitions:  # a crashed member reads nothing any more
            self.partitions = []
            self._record("crashed")

    def close(self) -> None:
        """Leave the group (the next wakes send the commit and the LeaveGroup)."""
        if self.core is not None:
            self.consumer.close()

    @property
    def generation(self) -> int:
        group = self.consumer.group if self.core is not None else None
        return -1 if group is None else group.generation_id

    def on_wake(self, ctx: NodeContext) -> None:
        self._now_ms = ctx.now_ms
        if self.processing_ms_per_poll:
            self._poll_loop(ctx)
            return
        records = self.consumer.poll()
        if self.commit_before_processing and records:
            self.consumer.commit()
        if self.processing_rate_per_s is None:
            self.records.extend(records)
            return
        if records and not self.backlog:
            self._head_done_ms = ctx.now_ms + 1_000 / self.processing_rate_per_s
        self.backlog.extend(records)
        while self.backlog and self._head_done_ms <= ctx.now_ms:
            self.records.append(self.backlog.popleft())
            self._head_done_ms += 1_000 / self.processing_rate_per_s

    def _poll_loop(self, ctx: NodeContext) -> None:
        """Poll, process the batch for ``processing_ms_per_poll``, poll again."""
        now_ms = ctx.now_ms
        group = self.consumer.group
        assert group is not None
        if now_ms < self.busy_until_ms:
            return  # still processing, outside poll()
        if not group.in_poll:  # done with the batch: the application calls poll() again
            self.records.extend(self.backlog)
            self.backlog.clear()
            group.in_poll = True
            # poll() first does the group's work that waited (this wake's tick does it),
            # and hands out records after it: a millisecond later here.
            self._poll_at_ms = now_ms + 1
            return
        if self._poll_at_ms is not None and now_ms < self._poll_at_ms:
            return
        self._poll_at_ms = None
        records = self.consumer.poll()
        if self.commit_before_processing and records:
            self.consumer.commit()
        if records:
            self.backlog.extend(records)
            spread = self.processing_jitter * ctx.rng.uniform(-1, 1)
            self.busy_until_ms = now_ms + round(self.processing_ms_per_poll * (1 + spread))
            group.in_poll = False

    def next_wake_ms(self) -> int | None:
        """The worker wakes the node when it is done with its next record; the poll loop
        when it is done with its batch, or is to hand out records."""
        if self.processing_ms_per_poll:
            if self.core is not None and self.consumer.group and not self.consumer.group.in_poll:
                return self.busy_until_ms
            return self._poll_at_ms
        return math.ceil(self._head_done_ms) if self.backlog else None

    def _owned_changed(
        self,
        why: str,
        add: list[TopicPartition] | None = None,
        remove: list[TopicPartition] | None = None,
    ) -> None:
        owned = (set(self.partitions) | set(add or ())) - set(remove or ())
        self.partitions = sorted(owned)
        self._record(why)

    def _record(self, why: str) -> None:
        at_ms = self._now_ms if self.core is None else self.consumer.network.now_ms
        self.history.append(Ownership(at_ms, self.generation, frozenset(self.partitions), why))


def group_member(
    name: str,
    topic: str,
    bootstrap: tuple[tuple[str, int], ...],
    group_id: str,
    auto_offset_reset: str = "earliest",
    *,
    assignment_strategy: str | Sequence[str] = "range",
    enable_auto_commit: bool = True,
    auto_commit_interval_ms: int = 1_000,
    session_timeout_ms: int = 6_000,
    heartbeat_interval_ms: int = 1_000,
    max_poll_interval_ms: int = 10_000,
    group_instance_id: str | None = None,
    commit_before_processing: bool = False,
    processing_rate_per_s: float | None = None,
    processing_ms_per_poll: int = 0,
    processing_jitter: float = 0.0,
) -> GroupConsumerWorkload:
    """A group member with the simulation's shortened timings (Kafka's defaults are a
    45 s session, 3 s heartbeats, 5 s auto-commit; 6 s is the shortest session a
    coordinator accepts by default, ``group.min.session.timeout.ms``)."""
    strategies = (
        (assignment_strategy,)
        if isinstance(assignment_strategy, str)
        else tuple(assignment_strategy)
    )
    config = ConsumerConfig(
        bootstrap_servers=bootstrap,
        client_id=name,
        auto_offset_reset=auto_offset_reset,
        fetch_max_wait_ms=200,
        request_timeout_ms=2_000,
        group_id=group_id,
        group_instance_id=group_instance_id,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_interval_ms=max_poll_interval_ms,
        partition_assignment_strategy=strategies,
        enable_auto_commit=enable_auto_commit,
        auto_commit_interval_ms=auto_commit_interval_ms,
    )
    return GroupConsumerWorkload(
        name,
        config,
        topic,
        commit_before_processing=commit_before_processing,
        processing_rate_per_s=processing_rate_per_s,
        processing_ms_per_poll=processing_ms_per_poll,
        processing_jitter=processing_jitter,
    )
