"""The idempotent producer's bookkeeping: its producer id and epoch, and per partition the
sequence numbers of its batches (Kafka: the idempotent half of ``TransactionManager``).

Before its first batch, the producer asks a broker for a producer id and epoch
(InitProducerId). Every batch then carries (producer id, epoch, base sequence), where the
sequence counts this producer's records in the partition from 0 under each epoch. The
partition leader remembers the last five batches of each producer, so it answers a retry
of a batch it already wrote with the original offsets instead of writing it twice, and
refuses a batch that would leave a gap (OUT_OF_ORDER_SEQUENCE_NUMBER).

Per partition the producer keeps the next sequence to hand out, the last sequence the
broker acknowledged, and its *unresolved* batches: sequenced, with no final answer yet,
in send order. Three rules keep the records in order however often they are retried:

* a retried batch goes out only when it is the first unresolved batch of its partition;
* a new batch goes out only under the current producer id and epoch;
* sequences are renumbered (under a new epoch) only while none of the partition's
  batches is on the wire, so no answer can come back for a number that moved.

When the broker has lost track of the producer (UNKNOWN_PRODUCER_ID, or a gap right after
the last acknowledged batch), or a batch fails for good and leaves a hole in the
sequence, the producer bumps its epoch and renumbers the partition's unresolved batches
from 0, as Kafka's producer does since KIP-360.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from reflog.client.network import NETWORK_EXCEPTION, ClientNetwork
from reflog.producer.batch import NO_PRODUCER_ID_AND_EPOCH, ProducerBatch, ProducerIdAndEpoch
from reflog.records.batch import NO_SEQUENCE
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.schema import Response

__all__ = [
    "MAX_PRODUCER_EPOCH",
    "RETRIABLE",
    "IdempotenceManager",
    "PartitionSequences",
    "Verdict",
    "increment_sequence",
    "verdict",
]

MAX_PRODUCER_EPOCH = 32_767  # an int16 on the wire; past it the producer needs a new id
_MAX_SEQUENCE = 2_147_483_647

# Errors after which a produce may simply be sent again (Kafka: RetriableException).
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
# InitProducerId goes to any broker, which asks the controller's block of ids: these say
# "not now" (the broker has no block yet, or lost its connection).
_INIT_RETRIABLE = RETRIABLE | {
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.NOT_COORDINATOR,
    ErrorCode.BROKER_NOT_AVAILABLE,
}
# reflog simplification: an idempotent producer's transaction timeout is never used (it
# has no transactions); Kafka sends transaction.timeout.ms, whose default this is.
_TRANSACTION_TIMEOUT_MS = 60_000


def increment_sequence(sequence: int, increment: int) -> int:
    """``sequence + increment``, wrapping to 0 past the int32 maximum, as Kafka's
    ``DefaultRecordBatch.incrementSequence`` does (and the broker expects)."""
    if sequence > _MAX_SEQUENCE - increment:
        return increment - (_MAX_SEQUENCE - sequence) - 1
    return sequence + increment


class Verdict(Enum):
    """What an answer to a batch means for it (Kafka: ``Sender.completeBatch``)."""

    ACKNOWLEDGED = "acknowledged"  # in the log (a recognised duplicate too)
    RETRY = "retry"  # send it again, unchanged
    BUMP_EPOCH_AND_RETRY = "bump epoch and retry"  # the broker lost our state: renumber
    FAILED = "failed"  # it fails; the application hears the error
    FENCED = "fenced"  # a newer epoch of our producer id exists: every batch fails


def verdict(
    error: int,
    batch: ProducerBatch,
    sequences: PartitionSequences | None,
    log_start_offset: int,
    retries: int,
) -> Verdict:
    """The one table of what an answer means; ``sequences`` is None without idempotence
    (Kafka: ``Sender.canRetry`` and ``TransactionManager.canRetry``)."""
    if error in (ErrorCode.NONE, ErrorCode.DUPLICATE_SEQUENCE_NUMBER):
        return Verdict.ACKNOWLEDGED
    if sequences is not None and sequences.is_behind_acknowledged(batch):
        # A later batch of ours, under the same epoch, is acknowledged: a leader appends a
        # producer's batches only in sequence order, so this one is in the log (and below
        # the high watermark) too. Only its answer was lost; its retry may be too old for
        # the broker's last five batches to recognise, and would be refused as out of order.
        return Verdict.ACKNOWLEDGED
    if error in (ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED):
        return Verdict.FENCED
    if batch.attempts > retries:
        return Verdict.FAILED
    if sequences is not None and error == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER:
        if not sequences.is_next(batch):
            # An earlier batch of ours has no answer yet: once it is written, this one
            # follows it. Not an error, just too early.
            return Verdict.RETRY
        # Everything before it is acknowledged, yet the broker expects another number:
        # it lost batches it acknowledged (an unclean election, an acks=1 leader change).
        return Verdict.BUMP_EPOCH_AND_RETRY
    if sequences is not None and error == ErrorCode.UNKNOWN_PRODUCER_ID:
        if log_start_offset == -1 or batch.sequence_reset:
            # Not known yet where the log starts (the partition is moving), or the batch
            # already has the new numbering: wait for the state to settle.
            return Verdict.RETRY
        # The broker has no state for us (expired, or the log start passed our batches).
        return Verdict.BUMP_EPOCH_AND_RETRY
    if error in RETRIABLE:
        return Verdict.RETRY
    return Verdict.FAILED


@dataclass
class PartitionSequences:
    """One partition's sequence numbers (Kafka: ``TxnPartitionEntry``)."""

    producer: ProducerIdAndEpoch = NO_PRODUCER_ID_AND_EPOCH  # what its numbers count under
    next_sequence: int = 0
    last_acked_sequence: int = NO_SEQUENCE
    unresolved: list[ProducerBatch] = field(default_factory=list)  # in send order
    restart_requested: bool = False  # renumber under the new epoch when nothing is on the wire
    known_to_leader: bool = False  # a batch under the current producer id was acknowledged

    def assign(self, batch: ProducerBatch) -> None:
        """Stamp a batch sent for the first time with the next numbers."""
        batch.producer = self.producer
        batch.base_sequence = self.next_sequence
        self.next_sequence = increment_sequence(self.next_sequence, batch.record_count)
        self.unresolved.append(batch)

    def is_next(self, batch: ProducerBatch) -> bool:
        """Whether ``batch`` comes right after the last acknowledged one."""
        return batch.base_sequence == increment_sequence(self.last_acked_sequence, 1)

    def is_behind_acknowledged(self, batch: ProducerBatch) -> bool:
        """Whether a later batch than ``batch`` was acknowledged under its epoch."""
        last = increment_sequence(batch.base_sequence, batch.record_count - 1)
        return batch.producer == self.producer and last <= self.last_acked_sequence

    def acknowledged(self, batch: ProducerBatch) -> None:
        self.unresolved.remove(batch)
        if batch.producer == self.producer:
            last = increment_sequence(batch.base_sequence, batch.record_count - 1)
            self.last_acked_sequence = max(self.last_acked_sequence, last)
        if batch.producer.producer_id == self.producer.producer_id:
            self.known_to_leader = True

    def failed(self, batch: ProducerBatch) -> None:
        self.unresolved.remove(batch)

    def restart(self, producer: ProducerIdAndEpoch) -> None:
        """Number the unresolved batches again from 0 under ``producer`` (Kafka:
        ``startSequencesAtBeginning``). Safe only when none of them is on the wire."""
        if producer.producer_id != self.producer.producer_id:
            self.known_to_leader = False
        self.producer = producer
        self.next_sequence = 0
        self.last_acked_sequence = NO_SEQUENCE
        self.restart_requested = False
        for batch in self.unresolved:
            batch.producer = producer
            batch.base_sequence = self.next_sequence
            batch.sequence_reset = True
            self.next_sequence = increment_sequence(self.next_sequence, batch.record_count)


class IdempotenceManager:
    """The producer id and epoch, and every partition's sequences."""

    def __init__(self, network: ClientNetwork, retry_backoff_ms: int) -> None:
        self.network = network
        self.retry_backoff_ms = retry_backoff_ms
        self.producer = NO_PRODUCER_ID_AND_EPOCH
        self.partitions: dict[TopicPartition, PartitionSequences] = {}
        self.fatal_error: int | None = None  # the producer can send nothing more
        self._init_due_ms: int | None = 0  # when to ask for an id (None: asked, or have one)
        self.epoch_bumps = 0  # how often the producer bumped its own epoch
        self.transactional = False  # the coordinator owns the epoch (see _bump_epoch)
        # A transactional producer's sequences broke: the transaction must abort, then the
        # coordinator bump the epoch (reflog.producer.transactions does both).
        self.bump_requested = False

    @property
    def has_producer_id(self) -> bool:
        return self.producer != NO_PRODUCER_ID_AND_EPOCH

    def sequences(self, tp: TopicPartition) -> PartitionSequences:
        found = self.partitions.get(tp)
        if found is None:
            found = self.partitions[tp] = PartitionSequences()
        return found

    # -- the producer id ---------------------------------------------------------------
    def producer_id_from_coordinator(self) -> None:
        """A transactional producer's id comes from its transaction coordinator
        (:mod:`reflog.producer.transactions`), not from an InitProducerId of its own."""
        self._init_due_ms = None
        self.transactional = True

    def restart_transactional(self, producer: ProducerIdAndEpoch) -> None:
        """The id and epoch the transaction coordinator gave: every partition's numbers
        start again at 0 under it."""
        self.producer = producer
        self.bump_requested = False

    def tick(self, now_ms: int) -> None:
        """Ask for a producer id when one is needed and the backoff has passed."""
        if self._init_due_ms is None or now_ms < self._init_due_ms or self.fatal_error:
            return
        self._init_due_ms = None
        request = InitProducerIdRequest(
            transactional_id=None, transaction_timeout_ms=_TRANSACTION_TIMEOUT_MS
        )
        self.network.request(self.network.any_node(), request, now_ms, self._on_init)

    def next_deadline_ms(self) -> int | None:
        return None if self.fatal_error else self._init_due_ms

    def _on_init(self, response: Response | None, error: int) -> None:
        if isinstance(response, InitProducerIdResponse):
            error = response.error_code
        if error == ErrorCode.NONE and isinstance(response, InitProducerIdResponse):
            self.producer = ProducerIdAndEpoch(response.producer_id, response.producer_epoch)
        elif error in _INIT_RETRIABLE:
            self._init_due_ms = self.network.now_ms + self.retry_backoff_ms
        else:  # UNSUPPORTED_VERSION (a broker without idempotence), an authorization error
            self.fatal_error = error or ErrorCode.UNKNOWN_SERVER_ERROR

    # -- sending -----------------------------------------------------------------------
    def ready(self, head: ProducerBatch, on_wire: int) -> bool:
        """Whether ``head``, the first queued batch of its partition, may go now; with
        ``on_wire`` of the partition's batches awaiting an answer."""
        if not self.has_producer_id:
            return False
        sequences = self.sequences(head.tp)
        stale = sequences.producer != self.producer
        if stale and on_wire == 0 and (sequences.restart_requested or not sequences.unresolved):
            # Nothing of the partition is on the wire, and its unresolved batches (if any)
            # are known unwritten: number them (and what follows) from 0 under the new epoch.
            sequences.restart(self.producer)
        if sequences.restart_requested:
            return False  # to be renumbered once the answers still on their way are back
        if head.has_sequence:  # a retry: order is kept by sending only the first in line
            return sequences.unresolved[0] is head
        if not sequences.known_to_leader and on_wire > 0:
            # The leader takes any first sequence from a producer it does not know (KIP-360),
            # so a second batch must not overtake the first there. Kafka relies on TCP for
            # this: answers on one connection come in order, and a lost request means a
            # broken connection that fails every later one too. reflog's simulated links
            # can lose one message and deliver the next, so until the partition has
            # acknowledged a batch of this producer id, one batch at a time.
            return False
        # A new batch waits while older batches still count under an older epoch: a new
        # epoch starting at 0 must not overtake them.
        return sequences.producer == self.producer

    def assign(self, batch: ProducerBatch) -> None:
        """Give a batch leaving for the first time its producer id, epoch and sequence."""
        if not batch.has_sequence:
            self.sequences(batch.tp).assign(batch)

    # -- answers -----------------------------------------------------------------------
    def judge(
        self, batch: ProducerBatch, error: int, log_start_offset: int, retries: int
    ) -> Verdict:
        """What an answer means for ``batch``; the partition's numbers follow from it."""
        sequences = self.sequences(batch.tp)
        decided = verdict(error, batch, sequences, log_start_offset, retries)
        if self.transactional and decided is Verdict.BUMP_EPOCH_AND_RETRY:
            # In a transaction the batch fails and the transaction aborts: sent again
            # after the bump, it would land in the next transaction (Kafka: KIP-360).
            decided = Verdict.FAILED
        if decided is Verdict.ACKNOWLEDGED:
            sequences.acknowledged(batch)
        elif decided is Verdict.BUMP_EPOCH_AND_RETRY:
            self.request_restart(batch.tp)
        elif decided is Verdict.FAILED:
            self.give_up(batch)
        elif decided is Verdict.FENCED:
            self.fatal_error = error
        return decided

    def give_up(self, batch: ProducerBatch) -> None:
        """``batch`` will not be sent again (it failed for good, or delivery.timeout.ms
        passed). If it had numbers, they leave a hole in the sequence: the batches after it
        cannot be written under theirs, so they are renumbered under a new epoch (KIP-360)."""
        if batch.has_sequence:
            self.sequences(batch.tp).failed(batch)
            self.request_restart(batch.tp)

    def request_restart(self, tp: TopicPartition) -> None:
        """Renumber ``tp`` from 0 under a new epoch, once none of its batches is on the wire."""
        sequences = self.sequences(tp)
        sequences.restart_requested = True
        if sequences.producer == self.producer:  # not yet bumped for this partition
            self._bump_epoch()

    def _bump_epoch(self) -> None:
        """A new epoch, or a new producer id when the epoch would overflow (Kafka:
        ``bumpIdempotentProducerEpoch``). Every partition's numbers become stale: each
        restarts at 0 once its older batches are resolved."""
        if self.transactional:
            # Only the transaction coordinator may bump a transactional producer's epoch
            # (its markers carry the epoch it knows): the transaction aborts, then the
            # producer asks the coordinator for the bump (KIP-360).
            self.bump_requested = True
            return
        self.epoch_bumps += 1
        producer_id, epoch = self.producer
        if epoch >= MAX_PRODUCER_EPOCH:
            self.producer = NO_PRODUCER_ID_AND_EPOCH
            self._init_due_ms = self.network.now_ms
        else:
            self.producer = ProducerIdAndEpoch(producer_id, epoch + 1)
