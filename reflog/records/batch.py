"""RecordBatch v2 (magic 2): the unit Kafka writes to disk and sends on the wire.

A batch is a 61-byte big-endian header followed by its records::

    baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8
    crc u32 | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64
    maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32
    recordCount i32 | records...

``batchLength`` counts the bytes after itself. The CRC-32C covers everything
from ``attributes`` to the end, so a broker may rewrite ``baseOffset`` and
``partitionLeaderEpoch`` without recomputing it: that is exactly what a leader
does when it assigns offsets on append.

:class:`RecordBatch` is a *view*: it unpacks the 61-byte header once and decodes
records only when :meth:`RecordBatch.records` is called, so the produce path
validates a batch without touching its records.

reflog simplification: compressed batches are recognised (the codec bits are
read) but not decompressed; every client here sends uncompressed batches by
default.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol, cast

from reflog.records.crc import crc32c
from reflog.records.errors import CorruptRecordError, UnsupportedCompressionError
from reflog.records.varint import (
    ONE_BYTE_VARINT_VALUES,
    VarintError,
    decode_varint,
    decode_varlong,
    encode_varint,
    encode_varlong,
)

__all__ = [
    "BATCH_OVERHEAD",
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "NO_PRODUCER_EPOCH",
    "NO_PRODUCER_ID",
    "NO_SEQUENCE",
    "Header",
    "NewRecord",
    "Record",
    "RecordBatch",
    "RecordToWrite",
    "build_batch",
    "iter_batches",
    "rebuild_batch",
    "set_base_offset",
]

# baseOffset (8) + batchLength (4): what precedes the length-counted part.
LOG_OVERHEAD = 12
HEADER_SIZE = 61
# Bytes in the header that batchLength counts.
BATCH_OVERHEAD = HEADER_SIZE - LOG_OVERHEAD

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1

_HEADER = struct.Struct(">qiibIhiqqqhii")
_CRC_START = 21  # offset of `attributes`, where the CRC's coverage begins
_CRC_FIELD = struct.Struct(">I")
_BASE_OFFSET = struct.Struct(">q")
_BATCH_LENGTH = struct.Struct(">i")

_COMPRESSION_MASK = 0x07
_TIMESTAMP_TYPE_BIT = 0x08
_TRANSACTIONAL_BIT = 0x10
_CONTROL_BIT = 0x20


@dataclass(frozen=True)
class Header:
    """A record header: a string key and an optional byte value."""

    key: str
    value: bytes | None


class Record(NamedTuple):
    """One decoded record with its absolute offset and timestamp.

    A NamedTuple rather than a frozen dataclass: one is built for every record a consumer
    or the cleaner reads, and building a frozen dataclass costs about three times as much."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()


class RecordBatch:
    """A read-only view over one RecordBatch v2 held in ``buf``.

    The header is unpacked once, into the attributes below (``Final``: a view never
    changes them), because the produce path reads most of them for every batch.
    """

    __slots__ = (
        "attributes",
        "base_offset",
        "base_sequence",
        "base_timestamp",
        "batch_length",
        "buffer",
        "crc",
        "last_offset_delta",
        "magic",
        "max_timestamp",
        "partition_leader_epoch",
        "producer_epoch",
        "producer_id",
        "record_count",
        "size_in_bytes",
    )

    # -- header fields, in wire order -------------------------------------------------
    base_offset: Final[int]
    batch_length: Final[int]
    partition_leader_epoch: Final[int]
    magic: Final[int]
    crc: Final[int]
    attributes: Final[int]
    last_offset_delta: Final[int]
    base_timestamp: Final[int]
    max_timestamp: Final[int]
    producer_id: Final[int]
    producer_epoch: Final[int]
    base_sequence: Final[int]
    record_count: Final[int]

    buffer: Final[memoryview]
    size_in_bytes: Final[int]  # the whole batch: LOG_OVERHEAD + batchLength

    def __init__(self, buf: bytes | bytearray | memoryview) -> None:
        if len(buf) < HEADER_SIZE:
            raise CorruptRecordError(f"batch of {len(buf)} bytes is shorter than its header")
        self.buffer = memoryview(buf)
        (
            self.base_offset,
            self.batch_length,
            self.partition_leader_epoch,
            self.magic,
            self.crc,
            self.attributes,
            self.last_offset_delta,
            self.base_timestamp,
            self.max_timestamp,
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            self.record_count,
        ) = _HEADER.unpack_from(buf, 0)
        self.size_in_bytes = LOG_OVERHEAD + self.batch_length
        if self.magic != 2:
            raise CorruptRecordError(f"unsupported record batch magic {self.magic}")
        if self.size_in_bytes != len(buf):
            raise CorruptRecordError(
                f"batchLength {self.batch_length} does not match the {len(buf)} bytes given"
            )

    # -- derived ----------------------------------------------------------------------
    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    @property
    def compression(self) -> int:
        return self.attributes & _COMPRESSION_MASK

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & _TRANSACTIONAL_BIT)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & _CONTROL_BIT)

    @property
    def timestamp_type(self) -> int:
        """0 = CreateTime (set by the producer), 1 = LogAppendTime (set by the broker)."""
        return 1 if self.attributes & _TIMESTAMP_TYPE_BIT else 0

    def compute_crc(self) -> int:
        return crc32c(self.buffer[_CRC_START:])

    def is_valid(self) -> bool:
        return self.compute_crc() == self.crc

    def validate(self) -> None:
        """Check what a broker checks before appending; raise CorruptRecordError if not."""
        if self.batch_length < BATCH_OVERHEAD:
            raise CorruptRecordError(f"batchLength {self.batch_length} is below the minimum")
        if self.record_count < 0 or self.last_offset_delta < 0:
            raise CorruptRecordError("negative record count or last offset delta")
        if self.compute_crc() != self.crc:
            raise CorruptRecordError(
                f"CRC mismatch: stored {self.crc:#010x}, computed {self.compute_crc():#010x}"
            )

    def records(self) -> Iterator[Record]:
        """Decode the records (only now: the view itself never does).

        Each record is ``length attributes timestampDelta offsetDelta key value headers``,
        all varints but the attributes byte; ``length`` counts the bytes after itself."""
        if self.compression != 0:
            raise UnsupportedCompressionError(
                f"compression codec {self.compression} is not supported by reflog"
            )
        # A consumer reads every record through here, so the loop is written for speed: the
        # batch is copied to bytes once (indexing and slicing bytes is quicker than a
        # memoryview), and a varint of one byte, as most are in a record (lengths, deltas and
        # counts under 64), is looked up in a table rather than decoded by a call.
        data = self.buffer.tobytes()
        one_byte = ONE_BYTE_VARINT_VALUES
        pos = HEADER_SIZE
        base_offset, base_timestamp = self.base_offset, self.base_timestamp
        try:
            for _ in range(self.record_count):
                # Fast path, the mirror of _encode_record's: a record with a null key, no
                # headers and only one-byte varints (a short value, small deltas), as in a
                # producer's small batches, is read from its first six bytes: length,
                # attributes, timestampDelta, offsetDelta, key length (1 is -1: null), value
                # length. A one-byte varint of n >= 0 is the byte 2n, so such a record's
                # length byte is its value length's + 12 (the value and six one-byte fields).
                head = data[pos : pos + 6]
                if len(head) == 6:
                    length, _attributes, ts, off, key_length, value_length = head
                    value_end = pos + 6 + value_length // 2
                    if (
                        length < 0x80
                        and length == value_length + 12
                        and not value_length & 1
                        and key_length == 1
                        and ts < 0x80
                        and off < 0x80
                        and value_end < len(data)
                        and data[value_end] == 0  # no headers
                    ):
                        yield Record(
                            base_offset + one_byte[off],
                            base_timestamp + one_byte[ts],
                            None,
                            data[pos + 6 : value_end],
                            (),
                        )
                        pos = value_end + 1
                        continue
                b = data[pos]
                length, pos = (one_byte[b], pos + 1) if b < 0x80 else decode_varint(data, pos)
                end = pos + length
                if length < 0 or end > len(data):
                    raise CorruptRecordError(f"record length {length} runs past the batch")
                pos += 1  # record attributes: unused by the v2 format
                b = data[pos]
                timestamp_delta, pos = (
                    (one_byte[b], pos + 1) if b < 0x80 else decode_varlong(data, pos)
                )
                b = data[pos]
                offset_delta, pos = (one_byte[b], pos + 1) if b < 0x80 else decode_varint(data, pos)
                b = data[pos]
                key_length, pos = (one_byte[b], pos + 1) if b < 0x80 else decode_varint(data, pos)
                key, pos = _bytes_field(data, pos, key_length, end)
                b = data[pos]
                value_length, pos = (one_byte[b], pos + 1) if b < 0x80 else decode_varint(data, pos)
                value, pos = _bytes_field(data, pos, value_length, end)
                b = data[pos]
                header_count, pos = (one_byte[b], pos + 1) if b < 0x80 else decode_varint(data, pos)
                if header_count < 0:
                    raise CorruptRecordError("negative header count")
                headers: tuple[Header, ...] = ()  # most records have none: one empty tuple
                if header_count:
                    headers, pos = _decode_headers(data, pos, end, header_count)
                if pos != end:
                    raise CorruptRecordError("record length does not match its contents")
                # offset, timestamp, key, value, headers (positional: one per record read)
                yield Record(
                    base_offset + offset_delta,
                    base_timestamp + timestamp_delta,
                    key,
                    value,
                    headers,
                )
        except (VarintError, IndexError) as exc:
            raise CorruptRecordError(f"malformed record: {exc}") from exc
        if pos != len(data):
            raise CorruptRecordError(f"{len(data) - pos} stray bytes after the last record")

    def __repr__(self) -> str:
        return (
            f"RecordBatch(base_offset={self.base_offset}, records={self.record_count}, "
            f"size={self.size_in_bytes}, producer_id={self.producer_id})"
        )


def _decode_headers(data: bytes, pos: int, end: int, count: int) -> tuple[tuple[Header, ...], int]:
    headers = []
    for _ in range(count):
        raw_key, pos = _decode_bytes(data, pos, end)
        header_value, pos = _decode_bytes(data, pos, end)
        if raw_key is None:
            raise CorruptRecordError("record header with a null key")
        headers.append(Header(raw_key.decode("utf-8", errors="replace"), header_value))
    return tuple(headers), pos


def _decode_bytes(data: bytes, pos: int, end: int) -> tuple[bytes | None, int]:
    length, pos = decode_varint(data, pos)
    return _bytes_field(data, pos, length, end)


def _bytes_field(data: bytes, pos: int, length: int, end: int) -> tuple[bytes | None, int]:
    """The ``length`` bytes at ``pos`` (a key, a value: null if ``length`` is negative) of a
    record ending at ``end``, and the position after them."""
    if length < 0:
        return None, pos
    if pos + length > end:
        raise CorruptRecordError(f"field of {length} bytes runs past its record")
    return data[pos : pos + length], pos + length


def _encode_bytes(data: bytes | None) -> bytes:
    if data is None:
        return encode_varint(-1)
    return encode_varint(len(data)) + data


@dataclass(frozen=True)
class NewRecord:
    """A record to be written: what a producer supplies before offsets exist."""

    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: tuple[Header, ...] = ()


class RecordToWrite(Protocol):
    """What :func:`build_batch` reads of a record: a :class:`NewRecord`, or a client's own
    pending record with these attributes (a producer's, which need not be copied first)."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def headers(self) -> Sequence[Header]: ...


def build_batch(
    records: Sequence[RecordToWrite] | Sequence[tuple[bytes | None, bytes | None, int]],
    *,
    base_offset: int = 0,
    partition_leader_epoch: int = -1,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_transactional: bool = False,
    is_control: bool = False,
) -> bytes:
    """Encode records (or ``(key, value, timestamp)`` tuples) as one uncompressed batch."""
    if not records:
        raise ValueError("a record batch needs at least one record")
    pending = _to_write(records)
    base_timestamp = max_timestamp = pending[0].timestamp
    body = bytearray()
    for delta, rec in enumerate(pending):
        body += _encode_record(
            rec.key, rec.value, rec.headers, rec.timestamp - base_timestamp, delta
        )
        if rec.timestamp > max_timestamp:
            max_timestamp = rec.timestamp
    return _assemble(
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
        attributes=(_TRANSACTIONAL_BIT if is_transactional else 0)
        | (_CONTROL_BIT if is_control else 0),
        last_offset_delta=len(pending) - 1,
        base_timestamp=base_timestamp,
        max_timestamp=max_timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        record_count=len(pending),
        body=body,
    )


def _to_write(
    records: Sequence[RecordToWrite] | Sequence[tuple[bytes | None, bytes | None, int]],
) -> Sequence[RecordToWrite]:
    """Plain ``(key, value, timestamp)`` tuples as NewRecords; any other records as they are
    (a NamedTuple such as :class:`Record` is a tuple too, of other fields: hence ``type``).
    A batch is given as one kind or the other, so its first record decides for all: a
    producer's records are then used as they are, with no look at each one."""
    if type(records[0]) is tuple:
        tuples = cast(Sequence[tuple[bytes | None, bytes | None, int]], records)
        return [NewRecord(key, value, timestamp) for key, value, timestamp in tuples]
    return cast(Sequence[RecordToWrite], records)


def rebuild_batch(original: RecordBatch, keep: Sequence[Record]) -> bytes:
    """The same batch with only ``keep`` left in it: what the log cleaner writes.

    Offsets and timestamps are preserved (a compacted log has gaps, never
    renumbered records), and so are the batch's base and last offset, even when
    no record is left: the empty batch keeps the log's offsets contiguous.
    """
    body = bytearray()
    for rec in keep:
        body += _encode_record(
            rec.key,
            rec.value,
            rec.headers,
            rec.timestamp - original.base_timestamp,
            rec.offset - original.base_offset,
        )
    return _assemble(
        base_offset=original.base_offset,
        partition_leader_epoch=original.partition_leader_epoch,
        attributes=original.attributes,
        last_offset_delta=original.last_offset_delta,
        base_timestamp=original.base_timestamp,
        max_timestamp=original.max_timestamp,
        producer_id=original.producer_id,
        producer_epoch=original.producer_epoch,
        base_sequence=original.base_sequence,
        record_count=len(keep),
        body=body,
    )


def _encode_record(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[Header],
    timestamp_delta: int,
    offset_delta: int,
) -> bytes:
    if (
        key is None
        and value is not None
        and len(value) < 58
        and not headers
        and 0 <= timestamp_delta < 64
        and 0 <= offset_delta < 64
    ):
        # Fast path for the usual record of a producer's small batch (no key or headers, a
        # short value, small deltas): every varint in it is one byte, the zig-zag 2n of a
        # value n >= 0 (-1, a null key, is 1), so its bytes are written in one go: the
        # same bytes as the general path below, which costs several calls per record.
        length = 6 + len(value)  # the five one-byte fields before the value, one after
        prefix = (2 * length, 0, 2 * timestamp_delta, 2 * offset_delta, 1, 2 * len(value))
        return bytes(prefix) + value + b"\x00"
    parts = [
        b"\x00",  # attributes
        encode_varlong(timestamp_delta),
        encode_varint(offset_delta),
        _encode_bytes(key),
        _encode_bytes(value),
        encode_varint(len(headers)),
    ]
    for record_header in headers:
        parts.append(_encode_bytes(record_header.key.encode("utf-8")))
        parts.append(_encode_bytes(record_header.value))
    inner = b"".join(parts)
    return encode_varint(len(inner)) + inner


def _assemble(
    *,
    base_offset: int,
    partition_leader_epoch: int,
    attributes: int,
    last_offset_delta: int,
    base_timestamp: int,
    max_timestamp: int,
    producer_id: int,
    producer_epoch: int,
    base_sequence: int,
    record_count: int,
    body: bytes | bytearray,
) -> bytes:
    header = _HEADER.pack(
        base_offset,
        BATCH_OVERHEAD + len(body),
        partition_leader_epoch,
        2,
        0,  # crc, filled in below
        attributes,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        record_count,
    )
    batch = bytearray(header) + body
    _CRC_FIELD.pack_into(batch, 17, crc32c(memoryview(batch)[_CRC_START:]))
    return bytes(batch)


def set_base_offset(batch: bytearray | memoryview, base_offset: int) -> None:
    """Rewrite ``baseOffset`` in place; the CRC does not cover it, so it stays valid."""
    _BASE_OFFSET.pack_into(batch, 0, base_offset)


def iter_batches(
    buf: bytes | bytearray | memoryview, *, allow_partial_tail: bool = True
) -> Iterator[RecordBatch]:
    """Split concatenated batches. A Fetch response may end in a partial batch
    (the broker cut at ``max_bytes``); it is skipped when ``allow_partial_tail``."""
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        if len(view) - pos < LOG_OVERHEAD:
            break
        (batch_length,) = _BATCH_LENGTH.unpack_from(view, pos + 8)
        if batch_length < BATCH_OVERHEAD:
            raise CorruptRecordError(f"batchLength {batch_length} at byte {pos} is too small")
        end = pos + LOG_OVERHEAD + batch_length
        if end > len(view):
            break
        yield RecordBatch(view[pos:end])
        pos = end
    if pos < len(view) and not allow_partial_tail:
        raise CorruptRecordError(f"{len(view) - pos} trailing bytes are not a whole batch")
