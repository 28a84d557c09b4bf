"""A partition's idempotent producers: per producer id, its epoch and its last 5 batches.

After Kafka's ``ProducerStateManager`` and ``ProducerAppendInfo``. An idempotent
producer numbers the records it sends to each partition: every batch carries the
producer id, the producer epoch and the sequence number of its first record. The
partition remembers, per producer, the epoch and the sequence ranges and offsets of
the last :data:`MAX_CACHED_BATCHES` batches (a producer has at most five requests in
flight per partition), and the leader checks each new batch against them
(:meth:`ProducerStateManager.check_leader_append`), before appending it:

* the same epoch and the same sequence range as a cached batch: a **retry** of a batch
  already in the log. It is not appended again; the producer gets the original offsets
  back, as a success (Kafka answers so; DUPLICATE_SEQUENCE_NUMBER is what older brokers
  sent);
* the same epoch and the next sequence number: in order, appended;
* the same epoch and any other sequence: OUT_OF_ORDER_SEQUENCE_NUMBER (a gap, or a retry
  older than the five batches remembered);
* an older epoch: INVALID_PRODUCER_EPOCH (a zombie producer, fenced);
* a newer epoch: the producer bumped it (KIP-360); it must start again at sequence 0;
* a producer id the partition does not know: appended, whatever its sequence. Kafka
  does so since 2.5 (KIP-360): the producer's batches may all be gone to retention,
  and refusing it (UNKNOWN_PRODUCER_ID, as Kafka 2.4 and older answered) would strand it.

Every appended batch, on the leader and on its followers alike, goes through
:meth:`ProducerStateManager.update`, so a follower holds the same table as its leader
and deduplicates the leader's retries when it becomes leader itself. The table is pure
data: :mod:`reflog.storage.producer_snapshot` writes it to disk, and the partition's
:class:`~reflog.storage.log.Log` rebuilds it on recovery and truncation.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from reflog.wire.errors import ErrorCode

__all__ = [
    "MAX_CACHED_BATCHES",
    "BatchMetadata",
    "InvalidProducerEpochError",
    "OutOfOrderSequenceError",
    "ProducerStateEntry",
    "ProducerStateError",
    "ProducerStateManager",
    "last_sequence",
]

# Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: max.in.flight.requests.per.connection.
MAX_CACHED_BATCHES = 5
_MAX_SEQUENCE = 2**31 - 1


def last_sequence(base_sequence: int, last_offset_delta: int) -> int:
    """The sequence number of a batch's last record: sequences wrap to 0 after 2**31 - 1."""
    if base_sequence > _MAX_SEQUENCE - last_offset_delta:
        return last_offset_delta - (_MAX_SEQUENCE - base_sequence) - 1
    return base_sequence + last_offset_delta


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == _MAX_SEQUENCE)


class BatchMetadata(NamedTuple):
    """One appended batch of a producer: its sequence range, its offsets, its time."""

    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int  # the batch's max timestamp


@dataclass
class ProducerStateEntry:
    """What a partition knows of one producer: its epoch and its latest batches."""

    producer_id: int
    producer_epoch: int
    batches: deque[BatchMetadata] = field(default_factory=lambda: deque(maxlen=MAX_CACHED_BATCHES))
    # The epoch of the transaction coordinator whose marker came last: a marker from an
    # older one (a coordinator that lost its partition and does not know yet) is refused.
    coordinator_epoch: int = -1

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_timestamp(self) -> int:
        """The max timestamp of its latest batch: what ``producer.id.expiration.ms``
        counts from (as in Kafka, the producer's record time)."""
        return self.batches[-1].timestamp if self.batches else -1

    def find_duplicate(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.producer_epoch:
            return None
        for batch in self.batches:
            if batch.first_seq == first_seq and batch.last_seq == last_seq:
                return batch
        return None


class ProducerStateError(ValueError):
    """A batch the leader must refuse; ``error_code`` is the partition's answer."""

    error_code: int = ErrorCode.UNKNOWN_SERVER_ERROR


class OutOfOrderSequenceError(ProducerStateError):
    error_code = ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


class InvalidProducerEpochError(ProducerStateError):
    error_code = ErrorCode.INVALID_PRODUCER_EPOCH


class ProducerStateManager:
    """The producer table of one partition (Kafka's ``ProducerStateManager``)."""

    def __init__(self) -> None:
        self.producers: dict[int, ProducerStateEntry] = {}

    # -- the leader's check -----------------------------------------------------------
    def check_leader_append(
        self, producer_id: int, epoch: int, first_seq: int, last_seq: int
    ) -> BatchMetadata | None:
        """Check a produced batch before it is appended: the original batch if it is a
        retry of one still remembered (do not append it again), None if it may be
        appended; raises :class:`ProducerStateError` if it must be refused."""
        entry = self.producers.get(producer_id)
        if entry is None:
            return None  # a producer new to this partition: any sequence (see above)
        if epoch == entry.producer_epoch and _in_sequence(entry.last_seq, first_seq):
            return None  # the next batch, as nearly always: no need to look for a retry
        duplicate = entry.find_duplicate(epoch, first_seq, last_seq)
        if duplicate is not None:
            return duplicate
        if epoch < entry.producer_epoch:
            raise InvalidProducerEpochError(
                f"producer {producer_id} has epoch {epoch}, older than its epoch "
                f"{entry.producer_epoch} here: a newer incarnation fenced it"
            )
        if epoch > entry.producer_epoch:
            if first_seq != 0:
                raise OutOfOrderSequenceError(
                    f"producer {producer_id} started epoch {epoch} at sequence {first_seq}, not 0"
                )
        elif not _in_sequence(entry.last_seq, first_seq):
            raise OutOfOrderSequenceError(
                f"producer {producer_id} sent sequence {first_seq}; the next one here is "
                f"{entry.last_seq + 1}"
            )
        return None

    # -- every append, leader or follower ----------------------------------------------
    def update(self, producer_id: int, epoch: int, batch: BatchMetadata) -> None:
        """Remember an appended batch. No check: a follower takes what its leader took
        (Kafka's REPLICATION origin), and a leader has checked already."""
        entry = self.producers.get(producer_id)
        if entry is None:
            entry = self.producers[producer_id] = ProducerStateEntry(producer_id, epoch)
        elif entry.producer_epoch != epoch:
            # A new epoch starts a new sequence: what the old epoch sent cannot be retried.
            entry.producer_epoch = epoch
            entry.batches.clear()
        entry.batches.append(batch)

    def marker(self, producer_id: int, epoch: int, coordinator_epoch: int = -1) -> None:
        """A COMMIT or ABORT marker of the producer's transaction: it carries no sequence,
        but a newer epoch (the coordinator fenced the producer) fences the old one here too.

        reflog simplification: the coordinator epoch is not in the producer snapshot; after
        a restart a partition knows it again from the markers it replays or receives."""
        entry = self.producers.get(producer_id)
        if entry is None:
            entry = self.producers[producer_id] = ProducerStateEntry(producer_id, epoch)
        elif epoch > entry.producer_epoch:
            entry.producer_epoch = epoch
            entry.batches.clear()
        entry.coordinator_epoch = max(entry.coordinator_epoch, coordinator_epoch)

    # -- expiration ---------------------------------------------------------------------
    def remove_expired(self, now_ms: int, expiration_ms: int) -> list[int]:
        """Forget producers idle for ``producer.id.expiration.ms``; their ids, sorted."""
        expired = sorted(
            pid
            for pid, entry in self.producers.items()
            if now_ms - entry.last_timestamp >= expiration_ms
        )
        for pid in expired:
            del self.producers[pid]
        return expired

    def clear(self) -> None:
        self.producers.clear()

    def __len__(self) -> int:
        return len(self.producers)
