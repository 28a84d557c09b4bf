"""The log validator refuses a produced record set whole, with the exception Kafka raises."""

from __future__ import annotations

import struct

import pytest

from reflog.records import build_batch
from reflog.records.batch import RecordBatch
from reflog.records.crc import crc32c
from reflog.records.errors import CorruptRecordError
from reflog.storage.log_validator import (
    InvalidRecordError,
    RecordBatchTooLargeError,
    RecordTooLargeError,
    UnsupportedMessageFormatError,
    validate_records,
)

ONE = build_batch([(b"k", b"v", 1)])


def check(
    records: bytes,
    version: int = 9,
    max_bytes: int = 1 << 20,
    compacted: bool = False,
    segment_bytes: int = 1 << 30,
) -> list[RecordBatch]:
    return validate_records(
        records,
        produce_version=version,
        max_message_bytes=max_bytes,
        segment_bytes=segment_bytes,
        compacted=compacted,
    )


def resealed(batch: bytes, offset: int, count: int) -> bytes:
    """``batch`` claiming ``count`` records at ``offset`` (lastOffsetDelta or recordCount),
    with its CRC made right again: only the validator's own checks can refuse it."""
    changed = bytearray(batch)
    struct.pack_into(">i", changed, offset, count)
    struct.pack_into(">I", changed, 17, crc32c(memoryview(changed)[21:]))
    return bytes(changed)


def test_good_batches_come_back_as_the_views_to_append() -> None:
    two = build_batch([(b"a", b"1", 1), (b"b", b"2", 2)])
    assert [b.record_count for b in check(ONE + two)] == [1, 2]


def test_an_empty_set_or_a_batch_cut_short_is_corrupt() -> None:
    for records in (b"", ONE[:-3]):
        with pytest.raises(CorruptRecordError):
            check(records)


def test_a_bad_crc_is_corrupt() -> None:
    damaged = bytearray(ONE)
    damaged[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError):
        check(bytes(damaged))


def test_old_message_formats_are_unsupported() -> None:
    with pytest.raises(UnsupportedMessageFormatError):
        check(ONE, version=2)  # Produce v2 carries message sets v0/v1
    magic_1 = bytearray(ONE)
    magic_1[16] = 1
    with pytest.raises(UnsupportedMessageFormatError):
        check(bytes(magic_1))


def test_a_batch_over_message_max_bytes_is_too_large() -> None:
    with pytest.raises(RecordTooLargeError):
        check(ONE, max_bytes=len(ONE) - 1)
    assert check(ONE, max_bytes=len(ONE))


def test_a_record_set_over_segment_bytes_is_too_large_for_any_segment() -> None:
    two = ONE + build_batch([(b"b", b"2", 2)])
    with pytest.raises(RecordBatchTooLargeError):
        check(two, segment_bytes=len(two) - 1)  # each batch fits, the set does not
    assert check(two, segment_bytes=len(two))


def test_a_batch_whose_offsets_are_not_its_records_is_invalid() -> None:
    for lying in (resealed(ONE, 23, 2**31 - 1), resealed(ONE, 57, 0)):
        with pytest.raises(InvalidRecordError):
            check(lying)


def test_a_compacted_topic_refuses_a_record_without_a_key() -> None:
    keyless = build_batch([(None, b"v", 1)])
    assert check(keyless)
    with pytest.raises(InvalidRecordError):
        check(keyless, compacted=True)
