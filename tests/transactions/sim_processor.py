"""A consume-transform-produce processor on a simulated node, for the transaction tests.

Its input is the sequence 0, 1, 2, ... (input record i is "read" at offset i of partition
``in``-0); its result for i is the record ``out-i-aN`` (attempt N) on partition i % 3 of
``out``. Each transaction takes the next few inputs and commits the input offset after
them to group ``proc`` with its outputs (send_offsets_to_transaction), so a restarted
processor resumes from the committed offset: exactly-once needs nothing else. A
transaction it chooses to abort is aborted once its records are written (an application
that finds a problem after producing), so the logs hold aborted records to skip.
"""

from __future__ import annotations

from collections.abc import Callable

from reflog.producer import Producer, ProducerConfig
from reflog.producer.transactions import TransactionState
from reflog.sim.kafka_nodes import ClientNode
from reflog.sim.node import NodeContext
from reflog.topic_partition import TopicPartition

INPUT = TopicPartition("in", 0)
OUTPUT = "out"
GROUP = "proc"


class TxnProcessor(ClientNode):
    def __init__(
        self,
        name: str,
        config: ProducerConfig,
        total: int,
        committed_offset: Callable[[], int | None],
        abort_probability: float,
    ) -> None:
        super().__init__(name, self._make_producer)
        self.config = config
        self.total = total
        self.committed_offset = committed_offset
        self.abort_probability = abort_probability
        self.next_input = -1  # unknown until the committed offset is read
        self.phase = "init"
        self.attempts = 0
        self.aborted: set[bytes] = set()  # values of transactions this processor aborted
        self._ending: tuple[int, bool] | None = None  # (inputs after it, commit?)
        self._now_ms = 0

    def _make_producer(self, ctx: NodeContext) -> Producer:
        producer = Producer(self.config, ctx.rng)
        producer.init_transactions()
        self.phase = "init"
        self.next_input = -1
        return producer

    @property
    def producer(self) -> Producer:
        assert isinstance(self.core, Producer)
        return self.core

    @property
    def fenced(self) -> bool:
        """A newer epoch fenced this instance: it can do nothing more (Kafka's
        ProducerFencedException; the application starts a new producer)."""
        txns = None if self.core is None else self.producer.transactions
        return txns is not None and txns.state is TransactionState.FATAL_ERROR

    @property
    def done(self) -> bool:
        return self.next_input >= self.total and self.phase == "ready"

    def on_wake(self, ctx: NodeContext) -> None:
        self._now_ms = ctx.now_ms
        producer = self.producer
        txns = producer.transactions
        assert txns is not None
        if txns.state is TransactionState.FATAL_ERROR or not producer.transaction_idle:
            return
        if txns.state is TransactionState.ABORTABLE_ERROR:
            producer.abort_transaction()
            self._ending, self.phase = (self.next_input, False), "ending"
            return
        if self.phase == "written":  # a transaction to abort once its records are answered
            if producer.pending_count == 0:
                producer.abort_transaction()
                self.phase = "ending"
            return
        if self.phase == "init":
            committed = self.committed_offset()
            if committed is None:
                return  # its coordinator is loading: ask at the next wake
            self.next_input, self.phase = committed, "ready"
        elif self.phase == "ending" and self._ending is not None:
            end, committed_it = self._ending
            if committed_it:
                self.next_input = end
            self.phase = "ready"
        if self.phase != "ready" or self.next_input >= self.total:
            return
        end = min(self.total, self.next_input + ctx.rng.randint(1, 4))
        self.attempts += 1
        producer.begin_transaction()
        values = []
        for i in range(self.next_input, end):
            value = b"out-%d-a%d-%s" % (i, self.attempts, self.name.encode())
            values.append(value)
            producer.send(OUTPUT, value, partition=i % 3, now_ms=ctx.now_ms)
        producer.send_offsets_to_transaction({INPUT: end}, GROUP)
        commit = ctx.rng.random() >= self.abort_probability
        self._ending = (end, commit)
        if commit:
            producer.commit_transaction()
            self.phase = "ending"
        else:
            producer.flush()
            self.aborted.update(values)
            self.phase = "written"

    def next_wake_ms(self) -> int | None:
        # Waiting to read the committed offset: ask again soon (a coordinator is loading).
        return self._now_ms + 50 if self.phase == "init" else None
