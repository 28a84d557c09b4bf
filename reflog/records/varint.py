"""Zig-zag variable-length integers, as used inside RecordBatch v2 records.

Kafka borrows the encoding from Protocol Buffers: a signed integer is first
"zig-zagged" so that small negative numbers become small unsigned numbers
(0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), then written seven bits at a time,
least significant group first, with the high bit of each byte set when more
bytes follow. A ``varint`` holds 32 bits (at most 5 bytes), a ``varlong``
64 bits (at most 10 bytes).
"""

from __future__ import annotations

__all__ = [
    "ONE_BYTE_VARINT_VALUES",
    "VarintError",
    "decode_unsigned_varint",
    "decode_varint",
    "decode_varlong",
    "encode_unsigned_varint",
    "encode_varint",
    "encode_varlong",
    "size_of_varint",
    "zigzag_decode",
    "zigzag_encode",
]


class VarintError(ValueError):
    """Raised for a varint that is truncated, too long, or out of range."""


def zigzag_encode(value: int, bits: int) -> int:
    """Map a signed integer of ``bits`` bits to an unsigned one: 0,-1,1,-2 -> 0,1,2,3."""
    limit = 1 << (bits - 1)
    if not -limit <= value < limit:
        raise VarintError(f"{value} does not fit in a signed {bits}-bit integer")
    return ((value << 1) ^ (value >> (bits - 1))) & ((1 << bits) - 1)


def zigzag_decode(value: int) -> int:
    """Inverse of :func:`zigzag_encode`."""
    return (value >> 1) ^ -(value & 1)


# Most varints in a record (lengths, deltas, counts) are below 128 and take one byte:
# those encodings are made once, here, instead of on every call.
_ONE_BYTE = [bytes((i,)) for i in range(0x80)]
# ... and their values, zig-zag decoded once: the decoders look a one-byte varint up, and
# so does RecordBatch.records, which reads several in every record.
ONE_BYTE_VARINT_VALUES = [zigzag_decode(i) for i in range(0x80)]


def encode_unsigned_varint(value: int) -> bytes:
    """Seven bits per byte, low group first, high bit set on every byte but the last."""
    if 0 <= value < 0x80:
        return _ONE_BYTE[value]
    if value < 0:
        raise VarintError(f"unsigned varint cannot hold {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_unsigned_varint(
    buf: bytes | bytearray | memoryview, pos: int = 0, max_bytes: int = 5
) -> tuple[int, int]:
    """Read an unsigned varint at ``pos``; return ``(value, next_pos)``.

    ``max_bytes`` bounds the encoding (5 for 32-bit, 10 for 64-bit values), so
    a stream of 0xFF bytes from the network cannot make us loop or grow an
    unbounded integer.
    """
    if pos < len(buf) and buf[pos] < 0x80:  # one byte: the common case, decided at once
        return buf[pos], pos + 1
    result = 0
    shift = 0
    for i in range(max_bytes):
        if pos + i >= len(buf):
            raise VarintError("varint is truncated")
        byte = buf[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos + i + 1
        shift += 7
    raise VarintError(f"varint is longer than {max_bytes} bytes")


def encode_varint(value: int) -> bytes:
    """A signed 32-bit integer as a zig-zag varint."""
    if -64 <= value < 64:  # one byte: the common case (zig-zag of a small value)
        return _ONE_BYTE[2 * value if value >= 0 else -2 * value - 1]
    return encode_unsigned_varint(zigzag_encode(value, 32))


def encode_varlong(value: int) -> bytes:
    """A signed 64-bit integer as a zig-zag varlong."""
    if -64 <= value < 64:  # one byte, as in encode_varint
        return _ONE_BYTE[2 * value if value >= 0 else -2 * value - 1]
    return encode_unsigned_varint(zigzag_encode(value, 64))


def decode_varint(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Read a zig-zag varint (signed 32-bit); return ``(value, next_pos)``."""
    if pos < len(buf) and (first := buf[pos]) < 0x80:  # one byte (-64..63): the common case
        return ONE_BYTE_VARINT_VALUES[first], pos + 1
    raw, pos = decode_unsigned_varint(buf, pos, max_bytes=5)
    if raw >= 1 << 32:
        raise VarintError("varint does not fit in 32 bits")
    return zigzag_decode(raw), pos


def decode_varlong(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Read a zig-zag varlong (signed 64-bit); return ``(value, next_pos)``."""
    if pos < len(buf) and (first := buf[pos]) < 0x80:  # one byte, as in decode_varint
        return ONE_BYTE_VARINT_VALUES[first], pos + 1
    raw, pos = decode_unsigned_varint(buf, pos, max_bytes=10)
    if raw >= 1 << 64:
        raise VarintError("varlong does not fit in 64 bits")
    return zigzag_decode(raw), pos


def size_of_varint(value: int) -> int:
    """How many bytes :func:`encode_varint` would write for ``value``."""
    return len(encode_varint(value))
