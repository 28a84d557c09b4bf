"""A consume-transform-produce processor on a simulated node: Kafka's exactly-once loop.

:class:`TransactionalProcessor` reads an input partition (through its own consumer node,
``<name>-in``, reading ``read_committed``), and for every few records opens a transaction:
it writes each record's result to the output topic and commits its input position to its
consumer group with ``send_offsets_to_transaction``, then commits the transaction. The
results and the position it read up to become visible together or not at all, so a
successor that takes over (the same ``transactional.id``) starts where the last committed
transaction ended and redoes exactly what was aborted.

Each transaction stays open ``processing_ms`` before it is committed (the time the
application takes to process its records), so a notebook can look at it open, kill the
processor in the middle of it, or ask for the next one to be aborted.

reflog simplification: a processor reads its group's committed offset from the group
coordinator's memory when it starts (what an OffsetFetch would answer), rather than
sending OffsetFetch itself; its consumer is not a member of the group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.producer import Producer, ProducerConfig
from reflog.producer.transactions import TransactionState
from reflog.sim.node import NodeContext
from reflog.sim.workloads import ConsumerWorkload, ProducerWorkload
from reflog.topic_partition import TopicPartition

if TYPE_CHECKING:
    from reflog.sim.cluster import Cluster

__all__ = ["TransactionalProcessor", "committed_offset"]


def committed_offset(cluster: Cluster, group: str, tp: TopicPartition) -> int | None:
    """``group``'s committed offset for ``tp`` as its coordinator would answer OffsetFetch:
    0 if nothing is committed, None while no coordinator can answer (it is loading or down)."""
    image = cluster.image()
    if OFFSETS_TOPIC not in image.topics:
        return 0  # no group has committed anything yet
    partitions = len(image.topics[OFFSETS_TOPIC].partitions)
    leader = cluster.leader_of(TopicPartition(OFFSETS_TOPIC, partition_for(group, partitions)))
    if leader < 0 or not cluster.sim.is_up(f"broker-{leader}"):
        return None
    host = cluster.broker(leader).groups
    if host.group_error(group) is not None:
        return None
    committed = host.coordinator.offsets.get(group, {}).get(tp)
    return 0 if committed is None else committed.offset


class TransactionalProcessor(ProducerWorkload):
    """Reads ``source``'s partition, writes ``transform(value)`` to ``output`` (record at
    input offset i to partition i % ``output_partitions``), ``records_per_txn`` records
    and their input offset per transaction."""

    def __init__(
        self,
        name: str,
        config: ProducerConfig,
        source: ConsumerWorkload,
        output: str,
        output_partitions: int,
        group: str,
        committed: Callable[[], int | None],
        *,
        records_per_txn: int = 4,
        processing_ms: int = 200,
        poll_ms: int = 50,
        transform: Callable[[bytes], bytes] = bytes.upper,
    ) -> None:
        super().__init__(name, config, output, rate_per_s=0)
        self.source = source
        self.input = source.partitions[0]
        self.output_partitions = output_partitions
        self.group = group
        self.committed = committed
        self.records_per_txn = records_per_txn
        self.processing_ms = processing_ms
        self.poll_ms = poll_ms
        self.transform = transform
        self.abort_next = False  # the next transaction is aborted instead of committed
        self.phase = "init"  # init -> ready -> open -> ending -> ready ...; or fenced
        self.next_input = -1  # the next input offset to process; unknown until init
        self.committed_txns = 0
        self.aborted_txns = 0
        self._txn_end = 0  # the input offset after the open transaction's records
        self._decide_at = 0  # when the open transaction is committed (or aborted)
        self._committing = False
        self._now_ms = 0

    def _make_producer(self, ctx: NodeContext) -> Producer:
        producer = super()._make_producer(ctx)
        producer.init_transactions()
        self.phase, self.next_input = "init", -1
        return producer

    @property
    def fenced(self) -> bool:
        """A newer instance with the same transactional.id fenced this one (Kafka's
        ProducerFencedException): it can do nothing more."""
        return self.phase == "fenced"

    def on_wake(self, ctx: NodeContext) -> None:
        super().on_wake(ctx)  # counts the answers to the records sent
        self._now_ms = ctx.now_ms
        producer = self.producer
        txns = producer.transactions
        assert txns is not None
        if txns.state is TransactionState.FATAL_ERROR:
            self.phase = "fenced"
            return
        if self.phase == "open" and ctx.now_ms >= self._decide_at:
            self._end(producer)
            return
        if not producer.transaction_idle or self.phase == "open":
            return
        if txns.state is TransactionState.ABORTABLE_ERROR:  # a write failed: abort, redo
            self._committing = False
            producer.abort_transaction()
            self.phase = "ending"
            return
        if self.phase == "ending":  # the commit or abort is answered
            if self._committing:
                self.next_input = self._txn_end
                self.committed_txns += 1
            else:
                self.aborted_txns += 1
            self.phase = "ready"
        if self.phase == "init":
            committed = self.committed()
            if committed is None:
                return  # the group's coordinator is not answering: ask at the next wake
            self.next_input, self.phase = committed, "ready"
        self._begin(producer, ctx.now_ms)

    def _begin(self, producer: Producer, now_ms: int) -> None:
        todo = [r for r in self.source.records if r.offset >= self.next_input]
        if not todo:
            return
        todo = todo[: self.records_per_txn]
        producer.begin_transaction()
        for record in todo:
            value = self.transform(record.value or b"")
            partition = record.offset % self.output_partitions
            producer.send(self.topic, value, key=record.key, partition=partition, now_ms=now_ms)
        self.sent += len(todo)
        self._txn_end = todo[-1].offset + 1
        producer.send_offsets_to_transaction({self.input: self._txn_end}, self.group)
        self._decide_at = now_ms + self.processing_ms
        self.phase = "open"

    def _end(self, producer: Producer) -> None:
        txns = producer.transactions
        failed = txns is not None and txns.state is TransactionState.ABORTABLE_ERROR
        self._committing = not (self.abort_next or failed)
        self.abort_next = False
        if self._committing:
            producer.commit_transaction()
        else:
            producer.abort_transaction()
        self.phase = "ending"

    def next_wake_ms(self) -> int | None:
        if self.phase == "fenced":
            return None
        if self.phase == "open":
            return self._decide_at
        return self._now_ms + self.poll_ms  # look for new input (or the coordinator) again
