"""Reading and writing Kafka's primitive types, with every length bounded.

Kafka's protocol guide defines the primitives: big-endian fixed-width
integers; STRING/BYTES with an int16/int32 length (-1 = null); ARRAY with an
int32 count; and, in "flexible" versions (KIP-482), ``COMPACT_`` variants whose
length is an unsigned varint holding length+1 (0 = null), plus a trailing
tagged-field section on every struct.

The :class:`Reader` never trusts a length: a length that runs past the frame
raises :class:`WireDecodeError` before anything is allocated, so a hostile
frame cannot make the broker allocate more than the frame it already holds.
The :class:`Writer` produces *chunks*: bytes, plus :class:`FileSlice` objects
that the network runtime sends with ``os.sendfile``.
"""

from __future__ import annotations

import struct
import uuid

from reflog.records.file_slice import FileSlice
from reflog.records.varint import VarintError, decode_unsigned_varint, encode_unsigned_varint
from reflog.wire.errors import WireDecodeError

__all__ = ["Chunk", "Reader", "Writer", "chunks_size", "chunks_to_bytes"]

Chunk = bytes | FileSlice

_I8 = struct.Struct(">b")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_F64 = struct.Struct(">d")


class Reader:
    """Sequential, bounds-checked reads over one received frame."""

    __slots__ = ("_buf", "borrow_records", "pos")

    def __init__(
        self, buf: bytes | bytearray | memoryview, pos: int = 0, *, borrow_records: bool = False
    ) -> None:
        self._buf = memoryview(buf)
        self.pos = pos
        # Record sets come back as views of ``buf`` instead of copies: only for a caller
        # that owns ``buf`` for as long as the records are used (the network server).
        self.borrow_records = borrow_records

    @property
    def remaining(self) -> int:
        return len(self._buf) - self.pos

    def _take(self, n: int) -> memoryview:
        pos = self.pos
        end = pos + n
        if n < 0 or end > len(self._buf):
            raise WireDecodeError(
                f"needed {n} bytes at position {pos}, frame has {self.remaining} left"
            )
        self.pos = end
        return self._buf[pos:end]

    def _unpack(self, fmt: struct.Struct) -> int:
        pos = self.pos
        end = pos + fmt.size
        if end > len(self._buf):
            self._take(fmt.size)  # raises with the details
        self.pos = end
        value: int = fmt.unpack_from(self._buf, pos)[0]
        return value

    def int8(self) -> int:
        return self._unpack(_I8)

    def int16(self) -> int:
        return self._unpack(_I16)

    def int32(self) -> int:
        return self._unpack(_I32)

    def int64(self) -> int:
        return self._unpack(_I64)

    def uint32(self) -> int:
        return self._unpack(_U32)

    def float64(self) -> float:
        return float(_F64.unpack_from(self._take(8))[0])

    def boolean(self) -> bool:
        return self.int8() != 0

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(self._take(16)))

    def unsigned_varint(self) -> int:
        try:
            value, self.pos = decode_unsigned_varint(self._buf, self.pos)
        except VarintError as exc:
            raise WireDecodeError(str(exc)) from exc
        return value

    def _length(self, flexible: bool, wide: bool) -> int:
        """A length prefix: -1 means null; compact lengths are stored plus one."""
        if flexible:
            return self.unsigned_varint() - 1
        return self.int32() if wide else self.int16()

    def string(self, flexible: bool) -> str | None:
        n = self._length(flexible, wide=False)
        if n < 0:
            return None
        try:
            return str(self._take(n), "utf-8")
        except UnicodeDecodeError as exc:
            raise WireDecodeError(f"string is not UTF-8: {exc}") from exc

    def bytes_(self, flexible: bool) -> memoryview | None:
        n = self._length(flexible, wide=True)
        if n < 0:
            return None
        return self._take(n)

    def array_length(self, flexible: bool) -> int:
        n = self._length(flexible, wide=True)
        # Every element takes at least one byte: a count beyond what is left is a lie.
        if n > self.remaining:
            raise WireDecodeError(f"array of {n} elements in {self.remaining} bytes")
        return n

    def skip_tagged_fields(self) -> None:
        """Skip a tagged-field section; reflog reads no tagged fields (all are optional)."""
        for _ in range(self.unsigned_varint()):
            self.unsigned_varint()  # tag
            self._take(self.unsigned_varint())


class Writer:
    """Accumulates an encoded message as a list of chunks."""

    __slots__ = ("_buf", "_chunks")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._chunks: list[Chunk] = []

    def int8(self, v: int) -> None:
        self._buf += _I8.pack(v)

    def int16(self, v: int) -> None:
        self._buf += _I16.pack(v)

    def int32(self, v: int) -> None:
        self._buf += _I32.pack(v)

    def int64(self, v: int) -> None:
        self._buf += _I64.pack(v)

    def uint32(self, v: int) -> None:
        self._buf += _U32.pack(v)

    def float64(self, v: float) -> None:
        self._buf += _F64.pack(v)

    def boolean(self, v: bool) -> None:
        self._buf.append(1 if v else 0)

    def uuid(self, v: uuid.UUID) -> None:
        self._buf += v.bytes

    def unsigned_varint(self, v: int) -> None:
        self._buf += encode_unsigned_varint(v)

    def _length(self, n: int, flexible: bool, wide: bool) -> None:
        if flexible:
            self.unsigned_varint(n + 1)
        elif wide:
            self.int32(n)
        else:
            self.int16(n)

    def string(self, v: str | None, flexible: bool) -> None:
        if v is None:
            self._length(-1, flexible, wide=False)
            return
        data = v.encode("utf-8")
        self._length(len(data), flexible, wide=False)
        self._buf += data

    def bytes_(self, v: bytes | bytearray | memoryview | FileSlice | None, flexible: bool) -> None:
        if v is None:
            self._length(-1, flexible, wide=True)
        elif isinstance(v, FileSlice):
            self._length(v.length, flexible, wide=True)
            self._flush()
            self._chunks.append(v)
        else:
            self._length(len(v), flexible, wide=True)
            self._buf += v

    def array_length(self, n: int | None, flexible: bool) -> None:
        self._length(-1 if n is None else n, flexible, wide=True)

    def empty_tagged_fields(self) -> None:
        self._buf.append(0)

    def raw(self, data: bytes) -> None:
        self._buf += data

    def _flush(self) -> None:
        if self._buf:
            self._chunks.append(bytes(self._buf))
            self._buf = bytearray()

    def chunks(self) -> list[Chunk]:
        self._flush()
        return list(self._chunks)


def chunks_size(chunks: list[Chunk]) -> int:
    return sum(c.length if isinstance(c, FileSlice) else len(c) for c in chunks)


def chunks_to_bytes(chunks: list[Chunk]) -> bytes:
    """Materialise chunks (reads file slices): for the simulation and for tests."""
    return b"".join(c.read() if isinstance(c, FileSlice) else c for c in chunks)
