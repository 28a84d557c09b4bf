"""The checks a leader makes on a produced record set before it appends any of it.

After Kafka's ``LogValidator``, with the checks Kafka's ``UnifiedLog`` makes just
before calling it (``analyzeAndValidateRecords``): every batch is a RecordBatch v2
(magic 2), whole, no larger than ``message.max.bytes``, with a CRC-32C that holds,
and takes exactly the offsets of the records it holds; a compacted topic takes no
record without a key; an idempotent producer's batch (one with a producer id) has a
sequence number and comes alone (Kafka refuses more than one batch in any Produce v3+;
reflog, only where a second batch would have to be deduplicated with the first). Then,
as ``UnifiedLog.append`` checks after the validator, the record set as a whole is no
larger than the partition's ``segment.bytes``: a segment must be able to hold it. A
record set that fails one check is refused whole.

As in Kafka, a failure is an exception, and the broker turns it into the error code
of the partition's answer: :class:`~reflog.records.errors.CorruptRecordError`
(CORRUPT_MESSAGE), :class:`RecordTooLargeError` (MESSAGE_TOO_LARGE),
:class:`RecordBatchTooLargeError` (RECORD_LIST_TOO_LARGE), :class:`InvalidRecordError`
(INVALID_RECORD), :class:`UnsupportedMessageFormatError` (UNSUPPORTED_FOR_MESSAGE_FORMAT).

reflog simplification: batches are checked, not each record, and nothing is
decompressed or converted (Kafka decodes every record, and may recompress or change
the message format); records are decoded only to look for keys on a compacted topic.
"""

from __future__ import annotations

from reflog.records.batch import RecordBatch, iter_batches
from reflog.records.errors import CorruptRecordError

__all__ = [
    "InvalidRecordError",
    "RecordBatchTooLargeError",
    "RecordTooLargeError",
    "RecordValidationError",
    "UnsupportedMessageFormatError",
    "validate_records",
]

MAGIC_OFFSET = 16  # where a batch header keeps its magic byte (after offset, length, epoch)
MAGIC = 2  # RecordBatch v2, the only format reflog stores
FIRST_PRODUCE_VERSION_WITH_V2 = 3  # Produce v0..v2 carry the older message sets


class RecordValidationError(ValueError):
    """A produced record set the log must not take."""


class UnsupportedMessageFormatError(RecordValidationError):
    """Not RecordBatch v2 (Kafka: UnsupportedForMessageFormatException)."""


class RecordTooLargeError(RecordValidationError):
    """A batch over ``message.max.bytes`` (Kafka: RecordTooLargeException)."""


class RecordBatchTooLargeError(RecordValidationError):
    """A record set over the partition's ``segment.bytes`` (Kafka:
    RecordBatchTooLargeException): no segment could hold it."""


class InvalidRecordError(RecordValidationError):
    """A batch whose offsets are not its records, or a compacted topic's record without a
    key (Kafka: InvalidRecordException)."""


def validate_records(
    records: bytes | memoryview,
    *,
    produce_version: int,
    max_message_bytes: int,
    segment_bytes: int,
    compacted: bool,
) -> list[RecordBatch]:
    """The batches of ``records``, each checked; raises on the first that fails."""
    if len(records) == 0:
        raise CorruptRecordError("empty record set")
    if produce_version < FIRST_PRODUCE_VERSION_WITH_V2 or (
        len(records) > MAGIC_OFFSET and records[MAGIC_OFFSET] != MAGIC
    ):
        raise UnsupportedMessageFormatError("reflog stores only RecordBatch v2 (magic 2)")
    # A batch cut short is corrupt: a producer never sends part of one.
    batches = list(iter_batches(records, allow_partial_tail=False))
    if compacted and any(r.key is None for b in batches for r in b.records()):
        raise InvalidRecordError("a compacted topic needs a key on every record")
    for batch in batches:
        _validate_batch(batch, max_message_bytes)
    if len(batches) > 1 and any(b.producer_id >= 0 for b in batches):
        raise InvalidRecordError("an idempotent producer sends one batch per partition")
    # Kafka's UnifiedLog.append: a segment never holds less than a whole append, so a record
    # set larger than segment.bytes is refused rather than written over a segment's size.
    # Only a leader checks: a follower copies what its leader took under the same topic
    # config, so this check is what keeps every replica's segments within segment.bytes.
    if len(records) > segment_bytes:
        raise RecordBatchTooLargeError(
            f"record set of {len(records)} bytes is above segment.bytes ({segment_bytes})"
        )
    return batches


def _validate_batch(batch: RecordBatch, max_message_bytes: int) -> None:
    if batch.size_in_bytes > max_message_bytes:
        raise RecordTooLargeError(
            f"batch of {batch.size_in_bytes} bytes is above message.max.bytes"
        )
    batch.validate()  # the CRC-32C over everything after it
    # Kafka's LogValidator.validateBatch: the offsets a batch takes must be its records,
    # or a hostile batch could claim two billion offsets with one record.
    if batch.record_count <= 0 or batch.last_offset_delta + 1 != batch.record_count:
        raise InvalidRecordError(
            f"inconsistent batch: {batch.record_count} records but an offset "
            f"range of {batch.last_offset_delta + 1}"
        )
    if batch.producer_id >= 0 and batch.base_sequence < 0:
        raise InvalidRecordError(
            f"producer {batch.producer_id} sent a batch without a sequence number"
        )
