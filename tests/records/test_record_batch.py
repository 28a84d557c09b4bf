"""RecordBatch v2: round trips, CRC-32C, lazy decoding, and agreement with kafka-python."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from reflog.records import (
    HEADER_SIZE,
    CorruptRecordError,
    Header,
    NewRecord,
    RecordBatch,
    build_batch,
    iter_batches,
    set_base_offset,
)

optional_bytes = st.none() | st.binary(max_size=64)
headers = st.lists(st.builds(Header, st.text(max_size=8), optional_bytes), max_size=3).map(tuple)
records = st.lists(
    st.builds(
        NewRecord,
        optional_bytes,
        optional_bytes,
        st.integers(min_value=0, max_value=2**41),
        headers,
    ),
    min_size=1,
    max_size=20,
)


@given(records, st.integers(min_value=0, max_value=2**40))
def test_batch_round_trips_keys_values_timestamps_and_headers(
    new: list[NewRecord], base_offset: int
) -> None:
    batch = RecordBatch(build_batch(new, base_offset=base_offset))
    batch.validate()
    decoded = list(batch.records())
    assert [(r.key, r.value, r.timestamp, r.headers) for r in decoded] == [
        (n.key, n.value, n.timestamp, n.headers) for n in new
    ]
    assert [r.offset for r in decoded] == list(range(base_offset, base_offset + len(new)))
    assert batch.record_count == len(new)
    assert batch.last_offset == base_offset + len(new) - 1
    assert batch.max_timestamp == max(n.timestamp for n in new)


def test_rewriting_base_offset_keeps_the_crc_valid() -> None:
    data = bytearray(build_batch([(b"k", b"v", 1)]))
    set_base_offset(data, 12345)
    batch = RecordBatch(data)
    batch.validate()
    assert next(batch.records()).offset == 12345


def test_a_flipped_bit_in_a_record_fails_the_crc() -> None:
    data = bytearray(build_batch([(b"key", b"value", 1)]))
    data[-3] ^= 0x01
    with pytest.raises(CorruptRecordError, match="CRC"):
        RecordBatch(data).validate()


def test_view_reads_header_without_decoding_records() -> None:
    data = bytearray(build_batch([(b"k", b"v", 1), (b"k2", b"v2", 2)]))
    data[HEADER_SIZE:] = b"\xff" * (len(data) - HEADER_SIZE)  # records now garbage
    batch = RecordBatch(data)
    assert batch.record_count == 2  # header still readable
    with pytest.raises(CorruptRecordError):
        list(batch.records())


def test_length_field_must_match_buffer() -> None:
    data = build_batch([(b"k", b"v", 1)])
    with pytest.raises(CorruptRecordError):
        RecordBatch(data + b"\x00")
    with pytest.raises(CorruptRecordError):
        RecordBatch(data[:40])


def test_iter_batches_skips_a_partial_trailing_batch_as_fetch_responses_allow() -> None:
    one = build_batch([(b"a", b"1", 1)])
    two = build_batch([(b"b", b"2", 2)], base_offset=1)
    buf = one + two + two[:30]
    assert [b.base_offset for b in iter_batches(buf)] == [0, 1]
    with pytest.raises(CorruptRecordError):
        list(iter_batches(buf, allow_partial_tail=False))


def kafka_python_builder() -> DefaultRecordBatchBuilder:
    """kafka-python's builder of an uncompressed batch without a producer id."""
    return DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=10**7,
    )


@given(records)
def test_reflog_decodes_batches_built_by_kafka_python(new: list[NewRecord]) -> None:
    builder = kafka_python_builder()
    for i, r in enumerate(new):
        builder.append(
            i,
            timestamp=r.timestamp,
            key=r.key,
            value=r.value,
            headers=[(h.key, h.value) for h in r.headers],
        )
    batch = RecordBatch(bytes(builder.build()))
    batch.validate()
    assert [(r.key, r.value, r.timestamp, r.headers) for r in batch.records()] == [
        (n.key, n.value, n.timestamp, n.headers) for n in new
    ]


@given(records)
def test_kafka_python_decodes_batches_built_by_reflog(new: list[NewRecord]) -> None:
    theirs = DefaultRecordBatch(build_batch(new, base_offset=7))
    assert theirs.validate_crc()
    assert [(r.offset, r.key, r.value, r.timestamp) for r in theirs] == [
        (7 + i, n.key, n.value, n.timestamp) for i, n in enumerate(new)
    ]


# Values and timestamp deltas on either side of the encoder's fast-path limits (values under
# 58 bytes, deltas under 64); up to 80 records, so offset deltas cross 64 too.
small_keyless = st.lists(
    st.tuples(
        st.none() | st.binary(max_size=8) | st.binary(min_size=55, max_size=60),
        st.integers(min_value=0, max_value=3) | st.integers(min_value=60, max_value=67),
    ),
    min_size=1,
    max_size=80,
)


@given(small_keyless)
@example([(b"value", 1)] * 70)  # offset deltas past 63
def test_small_keyless_records_are_written_and_read_as_kafka_python_does(
    values_and_deltas: list[tuple[bytes | None, int]],
) -> None:
    # Short values, small deltas, no key: the encoder's and decoder's fast paths, and just
    # past their limits (values of 58 bytes and more, deltas of 64 and more, null values)
    # their general paths.
    new = [NewRecord(None, value, 1_000 + delta) for value, delta in values_and_deltas]
    builder = kafka_python_builder()
    for i, r in enumerate(new):
        builder.append(i, timestamp=r.timestamp, key=None, value=r.value, headers=[])
    # From the CRC on (before it, kafka-python writes a partition leader epoch of 0, reflog
    # -1: the leader sets it on append).
    theirs = bytes(builder.build())
    assert build_batch(new)[17:] == theirs[17:]
    # ...and reflog reads them back (the decoder's fast path, and past its limits the
    # general one) as they were written.
    assert [tuple(r) for r in RecordBatch(theirs).records()] == [
        (i, r.timestamp, None, r.value, ()) for i, r in enumerate(new)
    ]
