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
        self.sent = 0
        self.acked = 0
        self.failed = 0
        self.acked_per_partition: Counter[int] = Counter()
        # Every result, in the order they came, when a test or notebook asks to keep them
        # (``keep_results()``); None otherwise, so that a long run holds no per-record list.
        self.results: list[SendResult] | None = None
        self._next_send_ms: float | None = None
        self._ctx: NodeContext | None = None

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

    def set_rate(self, rate_per_s: float) -> None:
        """Change the send rate; it applies from the next record on."""
        self.rate_per_s = rate_per_s
        self._next_send_ms = None
        if rate_per_s > 0 and self.core is not None and self._ctx is not None:
            # An idle producer (rate 0, nothing in flight) has no timer set: wake it now, or
            # it would send again only at its next network deadline, minutes later.
            self._ctx.set_timer(self._ctx.now_ms, "wake")

    def on_wake(self, ctx: NodeContext) -> None:
        if self.rate_per_s > 0:
            if self._next_send_ms is None:
                self._next_send_ms = float(ctx.now_ms)
            interval = 1000.0 / self.rate_per_s
            while self._next_send_ms <= ctx.now_ms:
                self._send_one(ctx)
                self._next_send_ms += interval
        results = self.producer.take_results()
        if not results:
            return  # most wakes only send
        if self.results is not None:
            self.results.extend(results)
        # Counted in one call per wake (Counter.update counts in C), not one per record.
        acked = [r.partition for r in results if r.error == ErrorCode.NONE]
        self.acked += len(acked)
        self.acked_per_partition.update(acked)
        for result in results:
            if result.error != ErrorCode.NONE:
                self.failed += 1
                ctx.note(
                    "send-failed", partition=result.partition, error=ErrorCode(result.error).name
                )

    def _send_one(self, ctx: NodeContext) -> None:
        key = None
        if self.keys:
            key = ctx.rng.choices(self.keys, weights=self.key_weights)[0]
        value = b"record-%d" % self.sent
        self.producer.send(self.topic, value, key=key, now_ms=ctx.now_ms)
        self.sent += 1

    def next_wake_ms(self) -> int | None:
        if self.rate_per_s <= 0 or self._next_send_ms is None:
            return None
        return math.ceil(self._next_send_ms)


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
