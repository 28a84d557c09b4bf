"""The chaos workload with a real Kafka client: confluent-kafka (librdkafka) producers and a
consumer, recording what they see into the same kind of history as reflog's own clients.

librdkafka's clients are driven from one thread (theirs are behind it): each producer's
delivery reports arrive in its ``poll``, the consumer's records in ``consume``, all on that one
thread, so the history is written from one place. As with reflog's clients, producers run with
``retries=0`` and without idempotence, so each value is sent once, unless a retry preset asks for
retries (and idempotence). The final reads are done by
reflog's consumer (:meth:`reflog.chaos.workload.Workload.final_reads`).

Seen with ``--preset retries-idempotence``: librdkafka's idempotent producer can still write a
record twice when several answers in a row are lost. The partition's log then holds the second
copy under the same producer id with the epoch bumped and the sequence back at 0. With
``debug=eos`` librdkafka says why: records timed out (``message.timeout.ms``) while their
requests went unanswered, so it drained and bumped its epoch, and resent the records it could
not know were written under the new epoch, where no broker can recognise them as duplicates.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from reflog.chaos.workload import Clock
from reflog.check import REFUSED_BEFORE_APPEND, History
from reflog.topic_partition import TopicPartition

if TYPE_CHECKING:
    import confluent_kafka

__all__ = ["ConfluentWorkload"]


class ConfluentWorkload:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: int,
        *,
        acks: int,
        history: History,
        clock: Clock,
        producers: int = 2,
        rate_per_s: float = 20.0,
        retries: int = 0,
        enable_idempotence: bool = False,
    ) -> None:
        import confluent_kafka as kafka  # only this workload needs it (a dev dependency)

        self.kafka = kafka
        self.bootstrap = bootstrap
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.acks = acks
        self.history = history
        self.clock = clock
        self.producers = producers
        self.rate_per_s = rate_per_s
        self.retries = retries
        self.enable_idempotence = enable_idempotence

    async def run(self, seconds: float) -> None:
        await asyncio.to_thread(self._run, seconds)

    def _run(self, seconds: float) -> None:
        producers = [self._producer(f"producer-{i}") for i in range(self.producers)]
        consumer = self.kafka.Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": "reflog-chaos",
                "enable.auto.commit": False,
                "client.id": "consumer",
                "fetch.wait.max.ms": 100,
            }
        )
        start = [
            self.kafka.TopicPartition(tp.topic, tp.partition, self.kafka.OFFSET_BEGINNING)
            for tp in self.tps
        ]
        consumer.assign(start)
        self.history.assign("consumer", self.tps, self.clock.ms())
        stop_at = time.monotonic() + seconds
        next_send = time.monotonic()
        sent = 0
        try:
            while time.monotonic() < stop_at:
                if time.monotonic() >= next_send:
                    for index, producer in enumerate(producers):
                        self._send(producer, index, sent)
                    sent += 1
                    next_send += 1 / self.rate_per_s  # each producer sends rate_per_s a second
                for producer in producers:
                    producer.poll(0)
                self._consume(consumer)
            for producer in producers:
                producer.flush(10)  # every delivery report: acknowledged, failed or timed out
        finally:
            consumer.close()

    def _producer(self, name: str) -> confluent_kafka.Producer:
        return self.kafka.Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "client.id": name,
                "acks": "all" if self.acks == -1 else str(self.acks),
                "retries": self.retries,
                "enable.idempotence": self.enable_idempotence,
                "linger.ms": 0,
                "request.timeout.ms": 3_000,
                "message.timeout.ms": 6_000 if self.retries == 0 else 15_000,
            }
        )

    def _send(self, producer: confluent_kafka.Producer, index: int, n: int) -> None:
        tp = self.tps[n % len(self.tps)]
        value = b"%d-%d" % (index, n)
        op = self.history.invoke_send(f"producer-{index}", tp, [value], self.clock.ms())

        def delivered(err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message) -> None:
            offset = msg.offset()
            if err is None:
                # librdkafka reports a negative offset when it was not told one.
                known = offset if offset is not None and offset >= 0 else None
                self.history.acknowledged(op, known, self.clock.ms())
            elif err is not None:
                definite = err.code() in REFUSED_BEFORE_APPEND
                self.history.failed(op, err.name(), self.clock.ms(), definite=definite)

        producer.produce(tp.topic, value=value, partition=tp.partition, on_delivery=delivered)

    def _consume(self, consumer: confluent_kafka.Consumer) -> None:
        invoked = self.clock.ms()
        messages = consumer.consume(num_messages=500, timeout=0.05)
        records = []
        for m in messages:
            topic, partition, offset = m.topic(), m.partition(), m.offset()
            if m.error() is None and topic and partition is not None and offset is not None:
                records.append((TopicPartition(topic, partition), offset, m.value() or b""))
        if records:
            self.history.poll("consumer", records, invoked, self.clock.ms())
