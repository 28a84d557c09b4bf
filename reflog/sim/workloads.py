"""Applications on simulated nodes: a producer sending at a rate, a consumer reading.

They are what a notebook's sliders act on: change a producer's rate while the
cluster runs, and the next record goes out on the new schedule.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from reflog.consumer import Consumer, ConsumerConfig, ConsumerRecord
from reflog.producer import Producer, ProducerConfig, SendResult
from reflog.sim.kafka_nodes import ClientNode
from reflog.sim.node import NodeContext
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

__all__ = ["ConsumerWorkload", "ProducerWorkload"]


class ProducerWorkload(ClientNode):
    """Sends ``rate_per_s`` records a second to ``topic``, keys drawn from ``keys``."""

    def __init__(
        self,
        name: str,
        config: ProducerConfig,
        topic: str,
        *,
        rate_per_s: float,
        keys: Sequence[bytes] | None = None,
        key_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(name, self._make_producer)
        self.config = config
        self.topic = topic
        self.rate_per_s = rate_per_s
        self.keys = list(keys) if keys else None
        self.key_weights = list(key_weights) if key_weights else None
        self._sent = 0
        self.acked = 0
        self.failed = 0
        self.acked_per_partition: Counter[int] = Counter()
        # Every result, in the order they came, when a test or notebook asks to keep them
        # (``keep_results()``); None otherwise, so that a long run holds no per-record list.
        self.results: list[SendResult] | None = None
        self._next_send_ms: float | None = None
        self._ctx: NodeContext | None = None
        # A subclass with its own on_wake sends its own records: it wakes at every one.
        self._own_send_loop = type(self).on_wake is ProducerWorkload.on_wake

    def _make_producer(self, ctx: NodeContext) -> Producer:
        self._next_send_ms = None
        self._ctx = ctx
        return Producer(self.config, ctx.rng)

    @property
    def producer(self) -> Producer:
        assert isinstance(self.core, Producer)
        return self.core

    def keep_results(self) -> list[SendResult]:
        """From now on keep every send's result (offset or error) in :attr:`results`."""
        if self.results is None:
            self.results = []
        return self.results

    # The workload does not wake at every record. A record that only joins the open batch
    # of the partition the producer sticks to changes nothing the producer does until that
    # batch is sent, so such records are handed over late, each stamped with the
    # millisecond it was due (Producer.quiet_capacity says how many there may be): before
    # anything reads the producer (a wake, an answer, a crash, a rate change, ``sent``).
    # A record that opens a batch may wait too, as long as it is handed over by the time
    # that batch's linger.ms ends (Producer.new_batch_capacity says how many records join
    # it): its stamp starts the linger, and the partitioner's draw is the same whenever it
    # is made. The node wakes when a batch lingered enough or is full, so the broker sees
    # the same batches at the same times as if it woke at every record, with a fraction
    # of the wakes.

    @property
    def _lazy(self) -> bool:
        # A key picks its own partition, so any keyed record may open a batch.
        return self._own_send_loop and not self.keys

    @property
    def sent(self) -> int:
        """Records handed to the producer so far (those due by now included)."""
        if self._ctx is not None:
            self._catch_up(self._ctx.now_ms)
        return self._sent

    @sent.setter
    def sent(self, value: int) -> None:
        self._sent = value

    def set_rate(self, rate_per_s: float) -> None:
        """Change the send rate; it applies from the next record on."""
        if self._ctx is not None:
            self._catch_up(self._ctx.now_ms)  # records due at the old rate go first
        self.rate_per_s = rate_per_s
        self._next_send_ms = None
        if rate_per_s > 0 and self.core is not None and self._ctx is not None:
            # An idle producer (rate 0, nothing in flight) has no timer set: wake it now, or
            # it would send again only at its next network deadline, minutes later.
            self._ctx.set_timer(self._ctx.now_ms, "wake")

    def crash(self) -> None:
        if self._ctx is not None:
            self._catch_up(self._ctx.now_ms)
        super().crash()

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        # Records due before this millisecond went in before the answer did.
        self._catch_up(ctx.now_ms - 1)
        super().on_message(ctx, src, payload)

    def on_wake(self, ctx: NodeContext) -> None:
        if self.rate_per_s > 0 and self._next_send_ms is None:
            self._next_send_ms = float(ctx.now_ms)
        self._send_due(ctx.now_ms)
        results = self.producer.take_results()
        if not results:
            return  # most wakes only send
        if self.results is not None:
            self.results.extend(results)
        # Counted in one call per wake (Counter.update counts in C), not one per record.
        none = ErrorCode.NONE
        acked = [r.partition for r in results if r.error == none]
        self.acked += len(acked)
        self.acked_per_partition.update(acked)
        if len(acked) == len(results):
            return
        for result in results:
            if result.error != ErrorCode.NONE:
                self.failed += 1
                ctx.note(
                    "send-failed", partition=result.partition, error=ErrorCode(result.error).name
                )

    def _catch_up(self, now_ms: int) -> None:
        if self._lazy:
            self._send_due(now_ms)

    def _send_due(self, now_ms: int) -> None:
        """Hand the producer every record due by ``now_ms``, each at the millisecond it was due."""
        if self.core is None or self._next_send_ms is None or self.rate_per_s <= 0:
            return
        interval = 1000.0 / self.rate_per_s
        # This loop runs for every record sent: what it uses is looked up once, before it.
        assert self._ctx is not None
        send, topic, keys, rng = self.producer.send, self.topic, self.keys, self._ctx.rng
        due, sent = self._next_send_ms, self._sent
        if keys:
            while due <= now_ms:
                key = rng.choices(keys, weights=self.key_weights)[0]
                send(topic, b"record-%d" % sent, key=key, now_ms=math.ceil(due))
                sent += 1
                due += interval
        else:
            records = []  # (value, the millisecond it was due)
            while due <= now_ms:
                records.append((b"record-%d" % sent, math.ceil(due)))
                sent += 1
                due += interval
            self.producer.send_keyless(topic, records)
        self._next_send_ms, self._sent = due, sent

    def next_wake_ms(self) -> int | None:
        if self.rate_per_s <= 0 or self._next_send_ms is None:
            return None
        first = math.ceil(self._next_send_ms)
        if not self._lazy:
            return first
        # The longest value among the next records bounds how many fit (a bound is enough:
        # waking early only finds fewer records due).
        longest = len(b"record-%d" % (self._sent + 100_000))
        wake_by = None
        quiet = min(self.producer.quiet_capacity(self.topic, longest), 100_000)
        if quiet == 0:  # the next record opens a batch: it and those that join it may wait
            quiet = min(self.producer.new_batch_capacity(self.topic, longest), 100_000)
            if quiet == 0:
                return first
            wake_by = first + self.config.linger_ms
        # Wake no later than the first record that may not fit is due; floor of a value a
        # hair early, since _next_send_ms is summed one interval at a time.
        due = math.floor(self._next_send_ms + quiet * (1000.0 / self.rate_per_s) - 1e-6)
        return max(first, due if wake_by is None else min(due, wake_by))


class ConsumerWorkload(ClientNode):
    """Reads ``partitions`` (of one topic) from ``auto.offset.reset`` and keeps every record."""

    def __init__(
        self,
        name: str,
        config: ConsumerConfig,
        partitions: list[TopicPartition],
        *,
        topic: str | None = None,
    ) -> None:
        super().__init__(name, self._make_consumer)
        self.config = config
        self.partitions = partitions
        self.topic = topic if topic is not None else (partitions[0].topic if partitions else "")
        self.records: list[ConsumerRecord] = []

    def _make_consumer(self, ctx: NodeContext) -> Consumer:
        consumer = Consumer(self.config)
        consumer.assign(self.partitions, ctx.now_ms)
        return consumer

    @property
    def consumer(self) -> Consumer:
        assert isinstance(self.core, Consumer)
        return self.core

    def on_wake(self, ctx: NodeContext) -> None:
        self.records.extend(self.consumer.poll())
