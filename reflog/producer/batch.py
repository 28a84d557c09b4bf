"""What the producer holds before the broker answers: pending records and their batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from reflog.records.batch import NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, Header
from reflog.topic_partition import TopicPartition

__all__ = ["NO_PRODUCER_ID_AND_EPOCH", "PendingRecord", "ProducerBatch", "ProducerIdAndEpoch"]


class ProducerIdAndEpoch(NamedTuple):
    """Who wrote a batch, for the broker's duplicate check (Kafka: ``ProducerIdAndEpoch``)."""

    producer_id: int
    epoch: int


NO_PRODUCER_ID_AND_EPOCH = ProducerIdAndEpoch(NO_PRODUCER_ID, NO_PRODUCER_EPOCH)


@dataclass
class PendingRecord:
    send_id: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    timestamp: int  # named as build_batch reads it: a batch is built from these directly
    created_ms: int
    partition: int | None = None  # chosen by the application, else by the partitioner


@dataclass
class ProducerBatch:
    """Records for one partition, sent (and retried) together (Kafka: ``ProducerBatch``).

    An idempotent producer stamps the batch with its producer id, epoch and base sequence
    when the batch is first sent; a retry keeps them, so the broker can tell it is one."""

    batch_id: int  # the producer's count of batches: send order within a partition
    tp: TopicPartition
    created_ms: int
    records: list[PendingRecord] = field(default_factory=list)
    size: int = 0
    attempts: int = 0
    retry_at_ms: int = 0
    producer: ProducerIdAndEpoch = NO_PRODUCER_ID_AND_EPOCH
    base_sequence: int = NO_SEQUENCE
    sequence_reset: bool = False  # renumbered under a new epoch after it was first sent
    on_wire: bool = False  # sent, its answer not yet back
    # delivery.timeout.ms passed while it was on the wire: its records have failed, and its
    # answer, when it comes, only settles its sequence numbers.
    expired: bool = False

    @property
    def record_count(self) -> int:
        return len(self.records)

    @property
    def has_sequence(self) -> bool:
        return self.base_sequence != NO_SEQUENCE
