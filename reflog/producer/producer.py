"""reflog's producer as a pure core: accumulate records into batches, send them to leaders.

``send`` only queues a record. Records for one partition collect in a batch
that is closed when it reaches ``batch.size`` or has waited ``linger.ms``
(Kafka's RecordAccumulator); closed batches queue per partition, in order, and go
one per partition in each Produce request to its leader; each record learns its
offset from the answer. Retriable errors (a leader moved, a timeout, a lost answer)
put the batch back in its place in the queue, to go again after ``retry.backoff.ms``.
Any other error fails the batch's records. So does RECORD_LIST_TOO_LARGE (a batch over
the partition's ``segment.bytes``), as in Kafka's ``Sender``: sent again, it would be
refused again, and Kafka splits a batch only on MESSAGE_TOO_LARGE. reflog simplification:
a batch refused MESSAGE_TOO_LARGE fails too, unsplit.

Idempotent (``enable.idempotence``, on by default as in Kafka 3.0+): the producer first
asks for a producer id (InitProducerId), stamps every batch with it, its epoch and a
sequence number per partition, and keeps up to
``max.in.flight.requests.per.connection`` (5) batches per partition in flight. A retry
keeps its numbers, so a broker that already wrote it answers with the original offsets
instead of writing it twice; :mod:`reflog.producer.idempotence` keeps the numbers and
decides what each answer means.

``delivery.timeout.ms`` bounds the wait: a batch not acknowledged that long after it was
created fails with REQUEST_TIMED_OUT, whether it is still open, queued for a retry or on
the wire (Kafka's ``Sender`` expires all three). An idempotent producer's batch that had
sequence numbers leaves a hole behind it, and the batches after it are renumbered under a
new epoch, as after any batch that fails for good.

reflog simplification: without idempotence, one batch per partition is in flight at a
time, so retries cannot reorder records (Kafka reorders them with several in flight).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

from reflog.client.actions import ClientAction
from reflog.client.network import NETWORK_EXCEPTION, ClientNetwork
from reflog.producer.batch import PendingRecord, ProducerBatch
from reflog.producer.config import ProducerConfig
from reflog.producer.idempotence import IdempotenceManager, Verdict, verdict
from reflog.producer.partitioner import StickyPartitioner, partition_for_key
from reflog.producer.transactions import TransactionManager, TransactionStateError
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

_RECORD_OVERHEAD = 20  # rough bytes per record beyond key and value, to size batches


class SendResult(NamedTuple):
    """The fate of one ``send``: where it landed, or why it did not.

    A NamedTuple rather than a frozen dataclass, like the other per-record values
    (``Record``, ``ConsumerRecord``): one is built for every record sent, and building a
    frozen dataclass costs about three times as much."""

    send_id: int
    topic: str
    partition: int
    offset: int  # -1 when failed, or unknown (acks=0; a lost answer, see idempotence.verdict)
    error: int  # ErrorCode.NONE on success


class _Answer(NamedTuple):
    error: int
    base_offset: int
    log_start_offset: int


def _size(pending: PendingRecord) -> int:
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
        self._batch_ids = itertools.count()
        self._unassigned: list[PendingRecord] = []  # waiting for the topic's metadata
        self._open: dict[TopicPartition, ProducerBatch] = {}
        self._queued: dict[TopicPartition, deque[ProducerBatch]] = {}  # closed, in order
        self._on_wire: dict[TopicPartition, int] = {}  # batches awaiting an answer
        # Every batch whose records have no result yet, by batch id: in creation order, so
        # the first is the one delivery.timeout.ms expires first.
        self._held: dict[int, ProducerBatch] = {}
        self._flushing = False
        self._results: list[SendResult] = []
        self.retried_batches = 0  # batches sent again (a lost answer, a leader moved...)
        self._ticked_ms = 0  # the time of the last tick
        self._sent = 0  # records given to send()
        self._reported = 0  # records whose result is out
        # None without idempotence: the producer then works exactly as before it existed.
        self.idempotence = (
            IdempotenceManager(self.network, config.retry_backoff_ms) if config.idempotent else None
        )
        self.transactions = (
            None
            if config.transactional_id is None or self.idempotence is None
            else TransactionManager(
                self.network,
                self.idempotence,
                config.transactional_id,
                config.transaction_timeout_ms,
                config.retry_backoff_ms,
            )
        )
        self._max_in_flight = (
            config.max_in_flight_requests_per_connection if config.idempotent else 1
        )

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
        pending = PendingRecord(
            next(self._ids),
            topic,
            key,
            value,
            headers,
            timestamp_ms if timestamp_ms is not None else now_ms,
            now_ms,
            partition,
        )
        self._sent += 1
        fatal = self.fatal_error
        if fatal is not None:  # Kafka's send() throws; reflog's fails the record at once
            self._report(SendResult(pending.send_id, topic, -1, -1, fatal))
            return pending.send_id
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
        """Records sent whose result has not come yet (a counter: runs ask it often)."""
        return self._sent - self._reported

    @property
    def fatal_error(self) -> int | None:
        """Why this producer can send nothing more (fenced, or no broker supports
        idempotence), or None."""
        return None if self.idempotence is None else self.idempotence.fatal_error

    def quiet_capacity(self, topic: str, value_size: int) -> int:
        """How many more keyless records of ``value_size`` bytes would only join ``topic``'s
        open batch, leaving what the next ticks do unchanged (no new batch, none over
        batch.size, no partitioner draw): a caller may hand them over later, each stamped with
        the time it was due, and not wake at each one (the simulated producer workload)."""
        if self._flushing:
            return 0
        batch = self._sticky_open_batch(topic)
        if batch is None:
            return 0
        return (self.config.batch_size - batch.size) // (value_size + _RECORD_OVERHEAD)

    def send_keyless(self, topic: str, records: Sequence[tuple[bytes, int]]) -> None:
        """Queue keyless records, each a ``(value, time it was sent)``, in order, exactly as
        one :meth:`send` per record would: the same send ids, timestamps, batches and results.

        Why it exists: a simulated producer sends thousands of records a second, and most
        of them only join the open batch. Those go in together (:meth:`_join_open_batch`);
        each other one (it opens a batch, finds the open one full, waits for metadata or
        fails) goes through :meth:`send`."""
        handed = 0
        while handed < len(records):
            handed += self._join_open_batch(topic, records, handed)
            if handed < len(records):
                value, sent_ms = records[handed]
                self.send(topic, value, now_ms=sent_ms)
                handed += 1

    def _join_open_batch(
        self, topic: str, records: Sequence[tuple[bytes, int]], start: int
    ) -> int:
        """Add ``records[start:]`` to ``topic``'s open batch on the sticky partition, as
        :meth:`send` would add each, up to the first that would do more than join it (no
        batch is open there, or the record does not fit); return how many joined.

        A flush in progress does not stop them: :meth:`send` too adds to the open batch
        then, and the flush sends it at the next tick with them in it."""
        batch = self._sticky_open_batch(topic)
        if batch is None:
            return 0
        room = self.config.batch_size - batch.size
        joined = 0
        for i in range(start, len(records)):
            value, sent_ms = records[i]
            size = len(value) + _RECORD_OVERHEAD  # as _size() counts a record without a key
            if size > room:
                break
            room -= size
            batch.records.append(
                PendingRecord(next(self._ids), topic, None, value, (), sent_ms, sent_ms)
            )
            joined += 1
        batch.size = self.config.batch_size - room
        self._sent += joined
        return joined

    def _sticky_open_batch(self, topic: str) -> ProducerBatch | None:
        """The open batch on ``topic``'s sticky partition, which the next keyless record
        would join, or None if that record would do something else first (wait for metadata
        behind earlier ones, fail, or have the partitioner choose a partition)."""
        if self._unassigned or self.fatal_error is not None:
            return None
        partitions = self.network.partitions(topic)
        current = self._sticky.current(topic)
        if not partitions or current is None or current >= len(partitions):
            return None
        return self._open.get(TopicPartition(topic, current))

    def new_batch_capacity(self, topic: str, value_size: int) -> int:
        """How many keyless records of ``value_size`` bytes a new batch of ``topic`` takes
        when none is open, or 0 if the next record might do more than open one (a batch of
        the topic is open: the record might join it, or find it full and send it; or the
        topic has no metadata yet, or a flush is on). The first record opens the batch (a
        partitioner draw, and linger.ms starts at its time): a caller may hand them over
        later, each stamped with the time it was due, by the first one's time + linger.ms."""
        if self._unassigned or self._flushing or self.fatal_error is not None:
            return 0
        if not self.network.partitions(topic) or any(tp.topic == topic for tp in self._open):
            return 0
        return self.config.batch_size // (value_size + _RECORD_OVERHEAD)

    # -- transactions (a producer with a transactional_id) --------------------------------
    def _txn(self) -> TransactionManager:
        if self.transactions is None:
            raise TransactionStateError("this producer has no transactional_id")
        return self.transactions

    def init_transactions(self) -> None:
        """Ask the transaction coordinator for the producer id and epoch, fencing any older
        instance with the same transactional id; done when ``transaction_idle``."""
        self._txn().init_transactions()

    def begin_transaction(self) -> None:
        self._txn().begin_transaction()

    def send_offsets_to_transaction(
        self, offsets: dict[TopicPartition, int], group_id: str
    ) -> None:
        """Commit ``offsets`` (the next offset to read, per partition) for ``group_id`` as
        part of the transaction: they count only if it commits."""
        self._txn().send_offsets_to_transaction(offsets, group_id)

    def commit_transaction(self) -> None:
        """Commit once every record sent is answered; done when ``transaction_idle``."""
        self.flush()
        self._txn().commit_transaction()

    def abort_transaction(self) -> None:
        """Abort the transaction; done when ``transaction_idle``. Records given to ``send``
        that have not gone out fail at once (never sent); EndTxn waits only for the answers
        of batches already sent.

        reflog simplification: they fail with OPERATION_NOT_ATTEMPTED, as no error code
        says "aborted" (Kafka's producer fails them with TransactionAbortedException)."""
        self._txn().abort_transaction()
        if self.idempotence is not None and self.idempotence.bump_requested:
            # The sequences broke: nothing queued can go under them, and each batch belongs
            # to this transaction; the new epoch numbers the next one from 0.
            self._fail_held(ErrorCode.OPERATION_NOT_ATTEMPTED, keep_numbered=False)
        else:
            self._fail_unsent(ErrorCode.OPERATION_NOT_ATTEMPTED)

    @property
    def transaction_idle(self) -> bool:
        """The last init, commit or abort has its answer (see ``transactions.state``)."""
        return self._txn().is_idle

    # -- the runtime's side -----------------------------------------------------------
    def tick(self, now_ms: int) -> list[ClientAction]:
        self._ticked_ms = now_ms
        self.network.tick(now_ms)
        if self.idempotence is not None:
            self.idempotence.tick(now_ms)
            if self.idempotence.fatal_error is not None:
                self._fail_everything(self.idempotence.fatal_error)
        # A simulated producer ticks every millisecond it sends: skip the steps with
        # nothing to do rather than build their empty lists each time.
        if self._unassigned:
            self._assign_partitions(now_ms)
        if self._held and self._expiry_ms() <= now_ms:
            self._expire_batches(now_ms)
        self._close_batches(now_ms)
        if self._queued:
            self._send_queued(now_ms)
        if self.transactions is not None:
            self.transactions.tick(now_ms, self.pending_count > 0)
        return self.network.take_actions()

    def next_deadline_ms(self) -> int | None:
        # An open batch whose partition has all the requests in flight it may have waits
        # for an answer (which wakes the producer), not for linger.ms.
        deadlines = [
            b.created_ms + self.config.linger_ms
            for tp, b in self._open.items()
            if not self._busy(tp)
        ]
        if self._unassigned:  # all wait the same max.block.ms: the oldest is first
            deadlines.append(self._unassigned[0].created_ms + self.config.max_block_ms)
        if self._held:
            deadlines.append(self._expiry_ms())
        idempotence = self.idempotence
        if self._queued:  # asked after every wake, which has mostly sent every batch
            if idempotence is None:
                deadlines += [
                    q[0].retry_at_ms for tp, q in self._queued.items() if not self._busy(tp)
                ]
            elif idempotence.has_producer_id:  # else the id's answer wakes it
                # A head whose backoff is over was not sent at the last tick because it waits
                # for an answer (an earlier batch's, or the first one's while the leader does
                # not know the producer yet): that answer wakes the producer, no timer need
                # poll for it.
                deadlines += [
                    q[0].retry_at_ms
                    for tp, q in self._queued.items()
                    if not self._busy(tp) and q[0].retry_at_ms > self._ticked_ms
                ]
        if (network := self.network.next_deadline_ms()) is not None:
            deadlines.append(network)
        if idempotence is not None and (sequences := idempotence.next_deadline_ms()) is not None:
            deadlines.append(sequences)
        if (
            self.transactions is not None
            and (txn := self.transactions.next_deadline_ms()) is not None
        ):
            deadlines.append(txn)
        return min(deadlines, default=None)

    # -- internals: records into batches ------------------------------------------------
    def _busy(self, tp: TopicPartition) -> bool:
        """Whether ``tp`` has as many batches in flight as it may."""
        return self._on_wire.get(tp, 0) >= self._max_in_flight

    def _assign_partitions(self, now_ms: int) -> None:
        # Keep, in order, the records that must still wait.
        self._unassigned = [p for p in self._unassigned if not self._assign(p, now_ms)]

    def _assign(self, pending: PendingRecord, now_ms: int) -> bool:
        """Put a record in its partition's batch, or fail it; False while it must wait for
        the topic's metadata."""
        partitions = self.network.partitions(pending.topic)
        if not partitions:
            # Metadata covers only the topics asked for: a topic with none is asked for now
            # (if it was not already), and its records wait for the answer.
            self.network.want_topics({pending.topic}, now_ms)
            error = self._unknown_topic_error(pending, now_ms)
            if error is None:
                return False
            self._report(SendResult(pending.send_id, pending.topic, -1, -1, error))
            return True
        size = _size(pending)  # its share of a batch, for the checks below and in _append
        if pending.partition is not None:
            partition = pending.partition
            if not 0 <= partition < len(partitions):
                error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                self._report(SendResult(pending.send_id, pending.topic, partition, -1, error))
                return True
            tp = TopicPartition(pending.topic, partition)
        elif pending.key is not None:
            tp = TopicPartition(pending.topic, partition_for_key(pending.key, len(partitions)))
        else:
            tp = TopicPartition(
                pending.topic, self._sticky.partition(pending.topic, len(partitions))
            )
            if not self._has_room(tp, size):
                # As Kafka's producer does (KIP-480): a record that would open a new batch
                # moves the partitioner on first, and goes to the next partition instead.
                self._sticky.on_new_batch(pending.topic, len(partitions))
                tp = TopicPartition(
                    pending.topic, self._sticky.partition(pending.topic, len(partitions))
                )
        self._append(tp, pending, size, now_ms)
        return True

    def _unknown_topic_error(self, pending: PendingRecord, now_ms: int) -> int | None:
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

    def _has_room(self, tp: TopicPartition, size: int) -> bool:
        """True if a record of ``size`` (see _size) fits in ``tp``'s open batch. A batch it
        does not fit in is full: it is closed now, to go without waiting for linger.ms (as in
        _append)."""
        batch = self._open.get(tp)
        if batch is None:
            return False
        if batch.size + size > self.config.batch_size:
            self._enqueue(self._open.pop(tp))
            return False
        return True

    def _append(self, tp: TopicPartition, pending: PendingRecord, size: int, now_ms: int) -> None:
        batch = self._open.get(tp)
        if batch is not None and batch.size + size > self.config.batch_size:
            self._enqueue(self._open.pop(tp))
            batch = None
        if batch is None:
            batch = self._open[tp] = ProducerBatch(next(self._batch_ids), tp, now_ms)
            self._held[batch.batch_id] = batch
        batch.records.append(pending)
        batch.size += size

    def _close_batches(self, now_ms: int) -> None:
        for tp, batch in list(self._open.items()):
            if self._busy(tp):
                # As Kafka's accumulator does, a batch keeps filling (up to batch.size) while
                # its partition waits for answers: closing it at linger.ms would only queue
                # small batches behind the ones in flight, and a producer under load would
                # fall further behind with every round trip.
                continue
            if self._flushing or now_ms - batch.created_ms >= self.config.linger_ms:
                self._enqueue(self._open.pop(tp))
        if not self._open and not self._unassigned:
            self._flushing = False

    # -- internals: delivery.timeout.ms --------------------------------------------------
    def _expiry_ms(self) -> int:
        """When the oldest batch held reaches delivery.timeout.ms (some batch is held)."""
        oldest = next(iter(self._held.values()))
        return oldest.created_ms + self.config.delivery_timeout_ms

    def _expire_batches(self, now_ms: int) -> None:
        """Fail every batch created delivery.timeout.ms ago or earlier (Kafka:
        ``RecordAccumulator.expiredBatches`` and ``Sender.getExpiredInflightBatches``)."""
        while self._held and self._expiry_ms() <= now_ms:
            batch = next(iter(self._held.values()))
            if self._open.get(batch.tp) is batch:
                del self._open[batch.tp]
            elif batch.on_wire:
                batch.expired = True  # its answer still settles its sequence numbers
            else:  # queued, first or for a retry
                queue = self._queued[batch.tp]
                queue.remove(batch)
                if not queue:
                    del self._queued[batch.tp]
                if self.idempotence is not None:
                    self.idempotence.give_up(batch)
            self._complete(batch, -1, ErrorCode.REQUEST_TIMED_OUT)

    def _enqueue(self, batch: ProducerBatch) -> None:
        """Queue a closed batch, or a batch to retry, in its place: in send order."""
        queue = self._queued.setdefault(batch.tp, deque())
        at = len(queue)
        while at > 0 and queue[at - 1].batch_id > batch.batch_id:
            at -= 1
        queue.insert(at, batch)

    # -- internals: batches out --------------------------------------------------------
    def _send_queued(self, now_ms: int) -> None:
        """Send what may go: rounds of one batch per partition, one request per leader
        each round, until every partition is empty, waiting or at its in-flight limit."""
        while True:
            by_leader: dict[int, list[ProducerBatch]] = {}
            for tp, queue in self._queued.items():
                head = queue[0]
                if not self._may_send(head, now_ms):
                    continue
                leader = self.network.leader_for(tp.topic, tp.partition)
                if leader is None:
                    continue
                queue.popleft()
                by_leader.setdefault(leader, []).append(head)
            self._queued = {tp: q for tp, q in self._queued.items() if q}
            if not by_leader:
                return
            for leader, batches in sorted(by_leader.items()):
                self._send_produce(leader, batches, now_ms)

    def _may_send(self, head: ProducerBatch, now_ms: int) -> bool:
        if now_ms < head.retry_at_ms or self._busy(head.tp):
            return False
        if self.idempotence is None:
            return True
        if self.transactions is not None and not self.transactions.may_send(head.tp):
            return False  # its partition joins the transaction first
        return self.idempotence.ready(head, self._on_wire.get(head.tp, 0))

    def _send_produce(self, leader: int, batches: list[ProducerBatch], now_ms: int) -> None:
        topics: dict[str, list[PartitionProduceData]] = {}
        for batch in batches:
            if self.idempotence is not None:
                self.idempotence.assign(batch)
            records = build_batch(
                batch.records,
                producer_id=batch.producer.producer_id,
                producer_epoch=batch.producer.epoch,
                base_sequence=batch.base_sequence,
                is_transactional=self.transactions is not None,
            )
            topics.setdefault(batch.tp.topic, []).append(
                PartitionProduceData(index=batch.tp.partition, records=records)
            )
            batch.attempts += 1
            if self.config.acks != 0:
                self._on_wire[batch.tp] = self._on_wire.get(batch.tp, 0) + 1
                batch.on_wire = True
        request = ProduceRequest(
            transactional_id=self.config.transactional_id,
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
        self, batches: list[ProducerBatch], response: Response | None, error: int, now_ms: int
    ) -> None:
        answers: dict[TopicPartition, _Answer] = {}
        if isinstance(response, ProduceResponse):
            for topic in response.responses:
                for p in topic.partition_responses:
                    answers[TopicPartition(topic.name, p.index)] = _Answer(
                        p.error_code, p.base_offset, p.log_start_offset
                    )
        no_answer = _Answer(error or NETWORK_EXCEPTION, -1, -1)
        for batch in batches:
            self._on_wire[batch.tp] -= 1
            batch.on_wire = False
            answer = answers.get(batch.tp, no_answer)
            if batch.expired:
                self._on_expired_answer(batch, answer)
            else:
                self._on_answer(batch, answer, now_ms)

    def _on_answer(self, batch: ProducerBatch, answer: _Answer, now_ms: int) -> None:
        retries = self.config.retries
        if self.idempotence is None:
            decided = verdict(answer.error, batch, None, answer.log_start_offset, retries)
        else:
            decided = self.idempotence.judge(batch, answer.error, answer.log_start_offset, retries)
        if decided is Verdict.ACKNOWLEDGED:
            # Acknowledged by a later batch's answer (see verdict), its offsets are unknown.
            known = answer.error in (ErrorCode.NONE, ErrorCode.DUPLICATE_SEQUENCE_NUMBER)
            self._complete(batch, answer.base_offset if known else -1, ErrorCode.NONE)
        elif decided in (Verdict.RETRY, Verdict.BUMP_EPOCH_AND_RETRY):
            self.retried_batches += 1
            batch.retry_at_ms = now_ms + self.config.retry_backoff_ms
            self._enqueue(batch)
            self.network.request_metadata_update(now_ms)
        elif decided is Verdict.FAILED:
            self._complete(batch, -1, answer.error)
        else:  # FENCED: nothing this producer holds can be written any more
            self._complete(batch, -1, answer.error)
            self._fail_everything(answer.error)

    def _on_expired_answer(self, batch: ProducerBatch, answer: _Answer) -> None:
        """The answer to a batch whose records already failed (delivery.timeout.ms): it is
        not sent again, but an idempotent producer learns whether its numbers were used."""
        if self.idempotence is None:
            return
        retries = self.config.retries
        decided = self.idempotence.judge(batch, answer.error, answer.log_start_offset, retries)
        if decided in (Verdict.RETRY, Verdict.BUMP_EPOCH_AND_RETRY):
            self.idempotence.give_up(batch)
        elif decided is Verdict.FENCED:
            self._fail_everything(answer.error)

    def _fail_everything(self, error: int) -> None:
        """Fail every record not yet answered (the producer is fenced or cannot get an id);
        what is on the wire fails when its answer comes."""
        self._fail_held(error, keep_numbered=False)

    def _fail_unsent(self, error: int) -> None:
        """Fail every record never sent. A batch sent before (numbered, queued to go again)
        stays: its sequence numbers are taken, and the broker may already have it."""
        self._fail_held(error, keep_numbered=True)

    def _fail_held(self, error: int, *, keep_numbered: bool) -> None:
        for queue in self._queued.values():
            for batch in [b for b in queue if not (keep_numbered and b.has_sequence)]:
                queue.remove(batch)
                if batch.has_sequence and self.idempotence is not None:
                    self.idempotence.sequences(batch.tp).failed(batch)
                self._complete(batch, -1, error)
        self._queued = {tp: q for tp, q in self._queued.items() if q}
        for batch in self._open.values():
            self._complete(batch, -1, error)
        self._report(*[SendResult(p.send_id, p.topic, -1, -1, error) for p in self._unassigned])
        self._open, self._unassigned = {}, []

    def _report(self, *results: SendResult) -> None:
        self._results.extend(results)
        self._reported += len(results)

    def _complete(self, batch: ProducerBatch, base_offset: int, error: int) -> None:
        del self._held[batch.batch_id]
        topic, partition = batch.tp
        # The records' offsets follow each other from the batch's base offset, if it is known.
        offsets = itertools.count(base_offset) if base_offset >= 0 else itertools.repeat(-1)
        self._report(
            *[
                SendResult(p.send_id, topic, partition, offset, error)
                for p, offset in zip(batch.records, offsets, strict=False)  # offsets: endless
            ]
        )
