"""Kafka's sparse indexes: offset -> file position, and timestamp -> offset.

A segment does not index every batch: it adds an entry once at least
``index.interval.bytes`` have been appended since the last one. A lookup finds
the greatest entry at or below the target (a *floor*), and the reader scans
forward from there over batch headers — a few KiB at most.

On disk each entry is fixed-size and big-endian, exactly as Kafka writes them:

* ``.index``:     relative offset (4 bytes), position in the .log (4 bytes)
* ``.timeindex``: timestamp (8 bytes), relative offset (4 bytes)

Offsets are stored relative to the segment's base offset, which is why a
segment can hold at most 2^31 offsets and why entries are only 8 bytes.

reflog simplification: Kafka memory-maps preallocated index files; reflog keeps
the entries in memory for the floor lookup and writes new ones to the file
when the segment is flushed, rolled or closed. The bytes on disk are the same,
and after a crash the indexes are rebuilt from the log anyway.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IndexEntry", "OffsetIndex", "TimeIndex", "TimeIndexEntry"]

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


@dataclass(frozen=True)
class IndexEntry:
    offset: int  # absolute
    position: int


@dataclass(frozen=True)
class TimeIndexEntry:
    timestamp: int
    offset: int  # absolute


class _SparseIndex:
    """An index file of fixed-size big-endian entries, kept in memory once loaded."""

    def __init__(self, path: Path, entry: struct.Struct, max_bytes: int, base_offset: int) -> None:
        self.path = path
        self.base_offset = base_offset
        self._entry = entry
        self.max_entries = max(1, max_bytes // entry.size)
        self._rows: list[tuple[int, int]] | None = None
        self._unwritten = bytearray()

    @property
    def rows(self) -> list[tuple[int, int]]:
        if self._rows is None:  # loaded lazily: most partitions are never read
            data = self.path.read_bytes() if self.path.exists() else b""
            usable = len(data) - len(data) % self._entry.size
            self._rows = [
                self._entry.unpack_from(data, i) for i in range(0, usable, self._entry.size)
            ]
        return self._rows

    def _append_row(self, a: int, b: int) -> None:
        self.rows.append((a, b))
        self._unwritten += self._entry.pack(a, b)

    def _rewrite_rows(self, rows: list[tuple[int, int]]) -> None:
        """Replace the whole file (recovery and truncation), atomically."""
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_bytes(b"".join(self._entry.pack(a, b) for a, b in rows))
        os.replace(tmp, self.path)
        self._rows = list(rows)
        self._unwritten = bytearray()

    def flush(self) -> None:
        if self._unwritten:
            with open(self.path, "ab") as f:
                f.write(self._unwritten)
            self._unwritten = bytearray()

    @property
    def is_full(self) -> bool:
        return len(self.rows) >= self.max_entries

    def unload(self) -> None:
        """Forget the in-memory copy (the file stays): bounds memory across many partitions."""
        self.flush()
        self._rows = None

    def __len__(self) -> int:
        return len(self.rows)


class OffsetIndex(_SparseIndex):
    def __init__(self, path: Path, base_offset: int, max_bytes: int) -> None:
        super().__init__(path, _OFFSET_ENTRY, max_bytes, base_offset)

    def append(self, offset: int, position: int) -> None:
        self._append_row(offset - self.base_offset, position)

    def lookup(self, offset: int) -> IndexEntry:
        """The last entry at or below ``offset``; the segment start if there is none."""
        i = bisect.bisect_right(self.rows, (offset - self.base_offset, 2**31))
        if i == 0:
            return IndexEntry(self.base_offset, 0)
        relative, position = self.rows[i - 1]
        return IndexEntry(self.base_offset + relative, position)

    def entries(self) -> list[IndexEntry]:
        return [IndexEntry(self.base_offset + r, p) for r, p in self.rows]

    def rewrite(self, entries: list[IndexEntry]) -> None:
        self._rewrite_rows([(e.offset - self.base_offset, e.position) for e in entries])


class TimeIndex(_SparseIndex):
    def __init__(self, path: Path, base_offset: int, max_bytes: int) -> None:
        super().__init__(path, _TIME_ENTRY, max_bytes, base_offset)

    def append(self, timestamp: int, offset: int) -> None:
        rows = self.rows
        if rows and timestamp <= rows[-1][0]:
            return  # the time index only grows: it records new maximum timestamps
        self._append_row(timestamp, offset - self.base_offset)

    def lookup(self, timestamp: int) -> TimeIndexEntry | None:
        """The last entry whose timestamp is below ``timestamp`` (where a scan should start)."""
        i = bisect.bisect_left(self.rows, (timestamp, -1))
        if i == 0:
            return None
        ts, relative = self.rows[i - 1]
        return TimeIndexEntry(ts, self.base_offset + relative)

    @property
    def max_timestamp(self) -> int | None:
        return self.rows[-1][0] if self.rows else None

    def entries(self) -> list[TimeIndexEntry]:
        return [TimeIndexEntry(t, self.base_offset + r) for t, r in self.rows]

    def rewrite(self, entries: list[TimeIndexEntry]) -> None:
        self._rewrite_rows([(e.timestamp, e.offset - self.base_offset) for e in entries])
