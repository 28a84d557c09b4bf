"""reflog's producer as a pure core: accumulate records into batches, send them to leaders.

``send`` only queues a record. Records for one partition collect in a batch
that is closed when it reaches ``batch.size`` or has waited ``linger.ms``
(Kafka's RecordAccumulator); ready batches go, one Produce request per leader,
and each record learns its offset from the answer. Retriable errors (a leader
moved, a timeout) send the batch again after ``retry.backoff.ms``.

reflog simplification: one produce request per partition is in flight at a
time, so retries cannot reorder records (Kafka needs idempotence for that
with several in flight).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import NamedTuple

from reflog.client.actions import ClientAction
from reflog.client.network import NETWORK_EXCEPTION, ClientNetwork
from reflog.producer.config import ProducerConfig
from reflog.producer.partitioner import StickyPartitioner, partition_for_key
from reflog.records.batch import Header, build_batch
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from reflog.wire.schema import Response

__all__ = ["Producer", "SendResult"]

RETRIABLE = frozenset(
    {
        NETWORK_EXCEPTION,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ErrorCode.LEADER_NOT_AVAILABLE,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.REQUEST_TIMED_OUT,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    }
)
_RECORD_OVERHEAD = 20  # rough bytes per record beyond key and value, to size batches


class SendResult(NamedTuple):
    """The fate of one ``send``: where it landed, or why it did not.

    A NamedTuple rather than a frozen dataclass, like the other per-record values
    (``Record``, ``ConsumerRecord``): one is built for every record sent, and building a
    frozen dataclass costs about three times as much."""

    send_id: int
    topic: str
    partition: int
    offset: int  # -1 when failed, or unknown with acks=0
    error: int  # ErrorCode.NONE on success


@dataclass
class _Pending:
    send_id: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    timestamp: int  # named as build_batch reads it: a batch is built from these directly
    created_ms: int
    partition: int | None = None  # chosen by the application, else by the partitioner


@dataclass
class _Batch:
    tp: TopicPartition
    created_ms: int
    records: list[_Pending] = field(default_factory=list)
    size: int = 0
    attempts: int = 0
    retry_at_ms: int = 0


def _size(pending: _Pending) -> int:
    """A record's rough share of a batch, to close batches at batch.size."""
    return len(pending.key or b"") + len(pending.value or b"") + _RECORD_OVERHEAD


class Producer:
    def __init__(self, config: ProducerConfig, rng: random.Random) -> None:
        self.config = config
        self.network = ClientNetwork(
            list(config.bootstrap_servers),
            client_id=config.client_id,
            request_timeout_ms=config.request_timeout_ms,
        )
        self._sticky = StickyPartitioner(rng)
        self._ids = itertools.count()
        self._unassigned: list[_Pending] = []  # waiting for the topic's metadata
        self._open: dict[TopicPartition, _Batch] = {}
        self._ready: list[_Batch] = []
        self._in_flight: set[TopicPartition] = set()
        self._flushing = False
        self._results: list[SendResult] = []
        self._in_flight_records = 0

    # -- the application's side -------------------------------------------------------
    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: tuple[Header, ...] = (),
        timestamp_ms: int | None = None,
        partition: int | None = None,
        now_ms: int,
    ) -> int:
        """Queue one record; return its send id (its result arrives in :meth:`take_results`).

        ``partition`` overrides the partitioner, as ``ProducerRecord(topic, partition, ...)``
        does in Kafka's client."""
        pending = _Pending(
            next(self._ids),
            topic,
            key,
            value,
            headers,
            timestamp_ms if timestamp_ms is not None else now_ms,
            now_ms,
            partition,
        )
        self.network.want_topics({topic}, now_ms)
        if self._unassigned:  # earlier records wait for metadata: this one waits behind them
            self._unassigned.append(pending)
            self._assign_partitions(now_ms)
        elif not self._assign(pending, now_ms):
            self._unassigned.append(pending)
        return pending.send_id

    def flush(self) -> None:
        """Send every open batch now instead of waiting for linger.ms."""
        self._flushing = True

    def take_results(self) -> list[SendResult]:
        results, self._results = self._results, []
        return results

    @property
    def pending_count(self) -> int:
        return (
            len(self._unassigned)
            + sum(len(b.records) for b in self._open.values())
            + sum(len(b.records) for b in self._ready)
            + self._in_flight_records
        )

    def quiet_capacity(self, topic: str, value_size: int) -> int:
        """How many more keyless records of ``value_size`` bytes would only join ``topic``'s
        open batch, leaving what the next ticks do unchanged (no new batch, none over
        batch.size, no partitioner draw): a caller may hand them over later, each stamped with
        the time it was due, and not wake at each one (the simulated producer workload)."""
        if self._unassigned or self._flushing:
            return 0
        partitions = self.network.partitions(topic)
        current = self._sticky.current(topic)
        if not partitions or current is None or current >= len(partitions):
            return 0
        batch = self._open.get(TopicPartition(topic, current))
        if batch is None:
            return 0
        return (self.config.batch_size - batch.size) // (value_size + _RECORD_OVERHEAD)

    def new_batch_capacity(self, topic: str, value_size: int) -> int:
        """How many keyless records of ``value_size`` bytes a new batch of ``topic`` takes
        when none is open, or 0 if the next record might do more than open one (a batch of
        the topic is open: the record might join it, or find it full and send it; or the
        topic has no metadata yet, or a flush is on). The first record opens the batch (a
        partitioner draw, and linger.ms starts at its time): a caller may hand them over
        later, each stamped with the time it was due, by the first one's time + linger.ms."""
        if self._unassigned or self._flushing or not self.network.partitions(topic):
            return 0
        if any(tp.topic == topic for tp in self._open):
            return 0
        return self.config.batch_size // (value_size + _RECORD_OVERHEAD)

    # -- the runtime's side -----------------------------------------------------------
    def tick(self, now_ms: int) -> list[ClientAction]:
        self.network.tick(now_ms)
        # A simulated producer ticks every millisecond it sends: skip the steps with
        # nothing to do rather than build their empty lists each time.
        if self._unassigned:
            self._assign_partitions(now_ms)
        self._close_batches(now_ms)
        if self._ready:
            self._send_ready(now_ms)
        return self.network.take_actions()

    def next_deadline_ms(self) -> int | None:
        # An open batch whose partition has a request in flight waits for that answer (which
        # wakes the producer), not for linger.ms.
        deadlines = [
            b.created_ms + self.config.linger_ms
            for tp, b in self._open.items()
            if tp not in self._in_flight
        ]
        if self._unassigned:  # all wait the same max.block.ms: the oldest is first
            deadlines.append(self._unassigned[0].created_ms + self.config.max_block_ms)
        if self._ready:
            deadlines += [b.retry_at_ms for b in self._ready if b.tp not in self._in_flight]
        network = self.network.next_deadline_ms()
        if network is not None:
            deadlines.append(network)
        return min(deadlines, default=None)

    # -- internals --------------------------------------------------------------------
    def _assign_partitions(self, now_ms: int) -> None:
        # Keep, in order, the records that must still wait.
        self._unassigned = [p for p in self._unassigned if not self._assign(p, now_ms)]

    def _assign(self, pending: _Pending, now_ms: int) -> bool:
        """Put a record in its partition's batch, or fail it; False while it must wait for
        the topic's metadata."""
        partitions = self.network.partitions(pending.topic)
        if not partitions:
            error = self._unknown_topic_error(pending, now_ms)
            if error is None:
                return False
            self._results.append(SendResult(pending.send_id, pending.topic, -1, -1, error))
            return True
        if pending.partition is not None:
            partition = pending.partition
            if not 0 <= partition < len(partitions):
                error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                self._results.append(
                    SendResult(pending.send_id, pending.topic, partition, -1, error)
                )
                return True
            tp = TopicPartition(pending.topic, partition)
        elif pending.key is not None:
            tp = TopicPartition(pending.topic, partition_for_key(pending.key, len(partitions)))
        else:
            tp = TopicPartition(
                pending.topic, self._sticky.partition(pending.topic, len(partitions))
            )
            if not self._has_room(tp, pending):
                # As Kafka's producer does (KIP-480): a record that would open a new batch
                # moves the partitioner on first, and goes to the next partition instead.
                self._sticky.on_new_batch(pending.topic, len(partitions))
                tp = TopicPartition(
                    pending.topic, self._sticky.partition(pending.topic, len(partitions))
                )
        self._append(tp, pending, now_ms)
        return True

    def _unknown_topic_error(self, pending: _Pending, now_ms: int) -> int | None:
        """Why a record whose topic has no partitions in metadata fails now, or None while
        it may still wait. As in Kafka's producer: at once for a name the broker calls
        invalid; after max.block.ms of waiting for metadata otherwise (the broker's last
        word on the topic, or REQUEST_TIMED_OUT if none came)."""
        error = self.network.topic_errors.get(pending.topic)
        if error == ErrorCode.INVALID_TOPIC_EXCEPTION:
            return error
        if now_ms - pending.created_ms < self.config.max_block_ms:
            return None
        if error is None or error == ErrorCode.NONE:
            return ErrorCode.REQUEST_TIMED_OUT
        return error

    def _has_room(self, tp: TopicPartition, pending: _Pending) -> bool:
        """True if ``pending`` fits in ``tp``'s open batch. A batch it does not fit in is
        full: it is closed now, to go without waiting for linger.ms (as in _append)."""
        batch = self._open.get(tp)
        if batch is None:
            return False
        if batch.size + _size(pending) > self.config.batch_size:
            self._ready.append(self._open.pop(tp))
            return False
        return True

    def _append(self, tp: TopicPartition, pending: _Pending, now_ms: int) -> None:
        size = _size(pending)
        batch = self._open.get(tp)
        if batch is not None and batch.size + size > self.config.batch_size:
            self._ready.append(self._open.pop(tp))
            batch = None
        if batch is None:
            batch = self._open[tp] = _Batch(tp, now_ms)
        batch.records.append(pending)
        batch.size += size

    def _close_batches(self, now_ms: int) -> None:
        for tp, batch in list(self._open.items()):
            if tp in self._in_flight:
                # As Kafka's accumulator does, a batch keeps filling (up to batch.size) while
                # its partition waits for an answer: closing it at linger.ms would only queue
                # small batches behind the one in flight, and a producer under load would
                # fall further behind with every round trip.
                continue
            if self._flushing or now_ms - batch.created_ms >= self.config.linger_ms:
                self._ready.append(self._open.pop(tp))
        if not self._open and not self._unassigned:
            self._flushing = False

    def _send_ready(self, now_ms: int) -> None:
        by_leader: dict[int, list[_Batch]] = {}
        keep = []
        for batch in self._ready:
            leader = self.network.leader_for(batch.tp.topic, batch.tp.partition)
            if batch.tp in self._in_flight or now_ms < batch.retry_at_ms or leader is None:
                keep.append(batch)
                continue
            if any(b.tp == batch.tp for b in by_leader.get(leader, [])):
                keep.append(batch)  # one batch per partition per request
                continue
            by_leader.setdefault(leader, []).append(batch)
        self._ready = keep
        for leader, batches in sorted(by_leader.items()):
            self._send_produce(leader, batches, now_ms)

    def _send_produce(self, leader: int, batches: list[_Batch], now_ms: int) -> None:
        topics: dict[str, list[PartitionProduceData]] = {}
        for batch in batches:
            records = build_batch(batch.records)
            topics.setdefault(batch.tp.topic, []).append(
                PartitionProduceData(index=batch.tp.partition, records=records)
            )
            batch.attempts += 1
            if self.config.acks != 0:
                self._in_flight.add(batch.tp)
                self._in_flight_records += len(batch.records)
        request = ProduceRequest(
            acks=self.config.acks,
            timeout_ms=self.config.request_timeout_ms,
            topic_data=[
                TopicProduceData(name=t, partition_data=p) for t, p in sorted(topics.items())
            ],
        )

        def on_response(response: Response | None, error: int) -> None:
            self._on_produce_response(batches, response, error, self.network.now_ms)

        if self.config.acks == 0:
            # Nothing will come back: the records count as sent (offsets unknown).
            self.network.request(leader, request, now_ms, lambda r, e: None)
            for batch in batches:
                self._complete(batch, -1, ErrorCode.NONE)
            return
        self.network.request(leader, request, now_ms, on_response)

    def _on_produce_response(
        self, batches: list[_Batch], response: Response | None, error: int, now_ms: int
    ) -> None:
        results: dict[TopicPartition, tuple[int, int]] = {}
        if isinstance(response, ProduceResponse):
            for topic in response.responses:
                for p in topic.partition_responses:
                    results[TopicPartition(topic.name, p.index)] = (p.error_code, p.base_offset)
        for batch in batches:
            self._in_flight.discard(batch.tp)
            self._in_flight_records -= len(batch.records)
            code, base_offset = results.get(batch.tp, (error or NETWORK_EXCEPTION, -1))
            if code == ErrorCode.NONE:
                self._complete(batch, base_offset, code)
            elif code in RETRIABLE and batch.attempts <= self.config.retries:
                batch.retry_at_ms = now_ms + self.config.retry_backoff_ms
                self._ready.insert(0, batch)
                self.network.request_metadata_update(now_ms)
            else:
                self._complete(batch, -1, code)

    def _complete(self, batch: _Batch, base_offset: int, error: int) -> None:
        topic, partition = batch.tp
        self._results.extend(
            SendResult(
                p.send_id, topic, partition, base_offset + i if base_offset >= 0 else -1, error
            )
            for i, p in enumerate(batch.records)
        )
