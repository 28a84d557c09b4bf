"""The clients of a chaos run, each recording what it saw into one :class:`History`.

Producers (reflog's own, over real sockets) send unique values ``p<producer>-<n>`` at a steady
rate, round-robin over the partitions, by default with ``retries=0``: each value is sent once,
so a request that fails or gets no answer stays *indeterminate* in the history instead of
being retried (a retry without idempotence could write the value twice: a duplicate the
checker would rightly report, but not the anomaly the loss presets are about). The retry
presets turn retries on, with ``enable.idempotence`` off or on. A consumer reads every partition
from the beginning the whole time. At the end a fresh consumer reads each partition from the
beginning up to its high watermark: the final reads that turn "not read yet" into "lost".
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from reflog.check import REFUSED_BEFORE_APPEND, History
from reflog.consumer import Consumer, ConsumerConfig
from reflog.net.client import ClientRunner, now_ms
from reflog.producer import Producer, ProducerConfig
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

__all__ = ["Clock", "Workload"]

SLICE_S = 0.05  # how long a client's core runs between the application's turns


@dataclass
class Clock:
    """Milliseconds since the run began: the history's and the report's time axis."""

    started: float

    def ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


class Workload:
    def __init__(
        self,
        bootstrap: list[tuple[str, int]],
        topic: str,
        partitions: int,
        *,
        acks: int,
        history: History,
        clock: Clock,
        rng: random.Random,
        producers: int = 2,
        rate_per_s: float = 20.0,
        retries: int = 0,
        enable_idempotence: bool = False,
    ) -> None:
        self.bootstrap = tuple(bootstrap)
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.acks = acks
        self.history = history
        self.clock = clock
        self.rng = rng
        self.producers = producers
        self.rate_per_s = rate_per_s
        self.retries = retries
        self.enable_idempotence = enable_idempotence
        self.retried_batches = 0  # by reflog's producers: batches sent again

    async def run(self, seconds: float) -> None:
        """Producers and a consumer, for ``seconds``."""
        stop_at = time.monotonic() + seconds
        await asyncio.gather(
            *(self._produce(i, stop_at) for i in range(self.producers)),
            self._consume("consumer", stop_at, until_caught_up=False),
        )

    async def final_reads(self, timeout_s: float = 30.0) -> bool:
        """Read every partition up to its high watermark; False if that did not finish."""
        return await self._consume(
            "final-reader", time.monotonic() + timeout_s, until_caught_up=True
        )

    # -- producers -----------------------------------------------------------------------
    async def _produce(self, index: int, stop_at: float) -> None:
        name = f"producer-{index}"
        config = ProducerConfig(
            bootstrap_servers=self.bootstrap,
            client_id=name,
            acks=self.acks,
            retries=self.retries,
            enable_idempotence=self.enable_idempotence,
            request_timeout_ms=3_000,
            # Room for a retry or two after a lost answer's request timeout.
            delivery_timeout_ms=6_000 if self.retries == 0 else 15_000,
            linger_ms=0,
        )
        producer = Producer(config, random.Random(self.rng.random()))
        runner = ClientRunner(producer)
        ops: dict[int, int] = {}  # send id -> history index
        interval = 1 / self.rate_per_s
        sent = 0
        next_send = time.monotonic()
        try:
            while time.monotonic() < stop_at or (ops and time.monotonic() < stop_at + 8):
                if time.monotonic() >= next_send and time.monotonic() < stop_at:
                    tp = self.tps[sent % len(self.tps)]
                    value = b"%d-%d" % (index, sent)
                    send_id = producer.send(
                        tp.topic, value, partition=tp.partition, now_ms=now_ms()
                    )
                    ops[send_id] = self.history.invoke_send(name, tp, [value], self.clock.ms())
                    sent += 1
                    next_send += interval
                await runner.run_until(lambda: False, SLICE_S)
                self._complete(producer, ops)
        finally:
            self.retried_batches += producer.retried_batches
            await runner.close()

    def _complete(self, producer: Producer, ops: dict[int, int]) -> None:
        for result in producer.take_results():
            index = ops.pop(result.send_id)
            if result.error == ErrorCode.NONE:
                # -1: acknowledged at an offset not told (see Producer._on_answer).
                offset = result.offset if result.offset >= 0 else None
                self.history.acknowledged(index, offset, self.clock.ms())
            else:
                name = _error_name(result.error)
                definite = result.error in REFUSED_BEFORE_APPEND
                self.history.failed(index, name, self.clock.ms(), definite=definite)

    # -- consumers -----------------------------------------------------------------------
    async def _consume(self, name: str, stop_at: float, *, until_caught_up: bool) -> bool:
        consumer = Consumer(
            ConsumerConfig(
                bootstrap_servers=self.bootstrap,
                client_id=name,
                auto_offset_reset="earliest",
                request_timeout_ms=3_000,
                fetch_max_wait_ms=100,
            )
        )
        runner = ClientRunner(consumer)
        consumer.assign(self.tps, now_ms())
        consumer.seek_to_beginning()
        self.history.assign(name, self.tps, self.clock.ms())
        try:
            while time.monotonic() < stop_at:
                invoked = self.clock.ms()
                await runner.run_until(lambda: False, SLICE_S * 2)
                records = consumer.poll()
                if records:
                    self.history.poll(
                        name,
                        [
                            (TopicPartition(r.topic, r.partition), r.offset, r.value or b"")
                            for r in records
                        ],
                        invoked,
                        self.clock.ms(),
                    )
                if until_caught_up and self._caught_up(consumer):
                    return True
            return False
        finally:
            await runner.close()

    def _caught_up(self, consumer: Consumer) -> bool:
        for tp in self.tps:
            position, end = consumer.position(tp), consumer.high_watermark(tp)
            if position is None or end is None or position < end:
                return False
        return True


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"
