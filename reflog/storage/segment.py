"""A log segment: one ``.log`` file of batches and its ``.index`` and ``.timeindex``.

Files are named by the segment's base offset, zero-padded to 20 digits, as in
Kafka (``00000000000000000042.log``). Appends go to the end of the active
segment; every ``index.interval.bytes`` the segment records where the
appended batch starts (offset index) and the largest timestamp so far (time
index). A read turns an offset into a file position: floor lookup in the
index, then a forward scan over batch headers, then a slice of whole batches.

The headers of the batches written since the last index entry (the stretch the
sparse index does not cover yet) are also kept in memory. Followers and caught-up
consumers read exactly there, at the log end, and with small batches the scan
would otherwise read dozens of headers from the file for every fetch.
"""

from __future__ import annotations

import bisect
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from reflog.records.batch import HEADER_SIZE, LOG_OVERHEAD, RecordBatch
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice
from reflog.storage.file_cache import FileCache
from reflog.storage.index import IndexEntry, OffsetIndex, TimeIndex, TimeIndexEntry
from reflog.storage.log_config import LogConfig

__all__ = ["BatchHeader", "LogSegment", "segment_file_name"]

# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp: the header fields a scan needs.
_SCAN_HEADER = struct.Struct(">qiibIhiqq")
# producerId, producerEpoch, baseSequence: where an idempotent batch says who sent it.
_PRODUCER_FIELDS = struct.Struct(">qhi")
_PRODUCER_FIELDS_AT = 43
_MAX_RELATIVE_OFFSET = 2**31 - 1


def _position(header: BatchHeader) -> int:
    return header.position


def _last_offset(header: BatchHeader) -> int:
    return header.last_offset


def segment_file_name(base_offset: int, suffix: str) -> str:
    return f"{base_offset:020d}{suffix}"


class BatchHeader(NamedTuple):
    """Where a batch sits in its segment (a tuple: one is made per append)."""

    base_offset: int
    last_offset: int
    position: int
    size: int
    max_timestamp: int


class LogSegment:
    def __init__(
        self,
        directory: Path,
        base_offset: int,
        config: LogConfig,
        created_ms: int,
        files: FileCache,
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.config = config
        self.created_ms = created_ms
        self.log_path = directory / segment_file_name(base_offset, ".log")
        self.index = OffsetIndex(
            directory / segment_file_name(base_offset, ".index"),
            base_offset,
            config.segment_index_bytes,
        )
        self.time_index = TimeIndex(
            directory / segment_file_name(base_offset, ".timeindex"),
            base_offset,
            config.segment_index_bytes,
        )
        self._files = files
        self.log_path.touch()
        self.size = self.log_path.stat().st_size
        self.next_offset = base_offset
        self.max_timestamp = -1
        self._bytes_since_index = 0
        # Headers of the batches from the last index entry's position to the end.
        self._tail: list[BatchHeader] = []
        self.flushed_size = self.size  # what an fsync has made durable

    def _fd(self) -> int:
        return self._files.open(self.log_path).fileno()

    # -- writing ----------------------------------------------------------------------
    def append(
        self,
        batch: list[bytes | memoryview],
        size: int,
        base_offset: int,
        last_offset: int,
        max_timestamp: int,
        now_ms: int,
    ) -> int:
        """Write a batch of ``size`` bytes (given in parts) whose offsets are assigned;
        return its position."""
        position = self.size
        if position == 0:
            self.created_ms = now_ms  # segment.ms counts from the first append
        written = os.writev(self._fd(), batch)
        if written != size:
            raise OSError(f"short write: {written} of {size} bytes")
        self.size += written
        self.next_offset = last_offset + 1
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
        header = BatchHeader(base_offset, last_offset, position, written, max_timestamp)
        if self._bytes_since_index >= self.config.index_interval_bytes or position == 0:
            self.index.append(base_offset if position else self.base_offset, position)
            self.time_index.append(self.max_timestamp, last_offset)
            self._bytes_since_index = 0
            self._tail = []
        self._tail.append(header)
        self._bytes_since_index += written
        return position

    def should_roll(self, batch_size: int, last_offset: int, now_ms: int) -> bool:
        if self.size == 0:
            return False
        return (
            self.size + batch_size > self.config.segment_bytes
            or now_ms - self.created_ms >= self.config.segment_ms
            or self.index.is_full
            or self.time_index.is_full
            # The indexes hold offsets relative to the segment's base in 4 bytes.
            or last_offset - self.base_offset > _MAX_RELATIVE_OFFSET
        )

    def flush(self) -> None:
        os.fsync(self._fd())
        self.flushed_size = self.size
        self.index.flush()
        self.time_index.flush()

    # -- reading ----------------------------------------------------------------------
    def _header_at(self, position: int) -> BatchHeader | None:
        raw = os.pread(self._fd(), _SCAN_HEADER.size, position)
        if len(raw) < _SCAN_HEADER.size:
            return None
        base, length, _, _, _, _, last_delta, _, max_ts = _SCAN_HEADER.unpack(raw)
        return BatchHeader(base, base + last_delta, position, LOG_OVERHEAD + length, max_ts)

    @property
    def unindexed_headers(self) -> tuple[BatchHeader, ...]:
        """The headers kept in memory: the batches written since the last index entry.

        reflog's shortcut, not Kafka's (Kafka scans the file from the index floor)."""
        return tuple(self._tail)

    def _scan(self, position: int) -> Iterator[BatchHeader]:
        """Batch headers from ``position`` (a batch start) to the end of the segment: read
        from the file, except in the tail, whose headers are in memory."""
        while position < self.size:
            tail = self._tail
            if tail and position >= tail[0].position:
                yield from tail[bisect.bisect_left(tail, position, key=_position) :]
                return
            header = self._header_at(position)
            if header is None:
                return
            yield header
            position += header.size

    def batches_from(self, position: int = 0) -> list[BatchHeader]:
        """Batch headers from ``position`` to the end (a scan over headers, not records)."""
        return list(self._scan(position))

    def _scan_from_offset(self, offset: int) -> Iterator[BatchHeader]:
        """Headers from the batch holding ``offset`` (floor lookup in the index, then scan)."""
        tail = self._tail
        if tail and offset >= tail[0].base_offset:
            yield from tail[bisect.bisect_left(tail, offset, key=_last_offset) :]
            return
        headers = self._scan(self.index.lookup(offset).position)
        for header in headers:
            if header.last_offset >= offset:
                yield header
                yield from headers
                return

    def producer_batches(self, offset: int) -> Iterator[tuple[BatchHeader, int, int, int]]:
        """``(header, producer id, producer epoch, base sequence)`` of each batch from the
        one holding ``offset`` that an idempotent producer wrote: what rebuilding the
        producer state reads (a few header bytes per batch, no records)."""
        for header in self._scan_from_offset(offset):
            raw = os.pread(self._fd(), _PRODUCER_FIELDS.size, header.position + _PRODUCER_FIELDS_AT)
            producer_id, epoch, base_sequence = _PRODUCER_FIELDS.unpack(raw)
            if producer_id >= 0:
                yield header, producer_id, epoch, base_sequence

    def find_batch(self, offset: int) -> BatchHeader | None:
        """The first batch whose last offset is at or above ``offset``."""
        return next(self._scan_from_offset(offset), None)

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> FileSlice | None:
        """Whole batches from the one holding ``offset``: at least one, then up to ``max_bytes``."""
        start = None
        length = 0
        for header in self._scan_from_offset(offset):
            if max_offset is not None and header.base_offset >= max_offset:
                break
            if length and length + header.size > max_bytes:
                break
            if start is None:
                start = header.position
            length += header.size
        if start is None:
            return None
        return FileSlice(self._files.open(self.log_path), start, length)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """``(offset, timestamp)`` of the first record at or after ``timestamp``."""
        if self.max_timestamp < timestamp:
            return None
        start = self.time_index.lookup(timestamp)
        position = self.index.lookup(start.offset).position if start else 0
        for header in self.batches_from(position):
            if header.max_timestamp < timestamp:
                continue
            raw = os.pread(self._fd(), header.size, header.position)
            for record in RecordBatch(raw).records():
                if record.timestamp >= timestamp:
                    return record.offset, record.timestamp
        return None

    # -- recovery and truncation ------------------------------------------------------
    def recover(self) -> int:
        """Validate every batch, rebuild both indexes, cut a torn or corrupt tail.

        Returns how many bytes were truncated. After a crash the tail of the active
        segment may hold half a batch, or a batch whose bytes never all reached the disk;
        its CRC tells. Nothing after the first bad batch is trusted.
        """
        fd = self._fd()
        file_size = os.fstat(fd).st_size
        position = 0
        entries: list[IndexEntry] = []
        time_entries: list[TimeIndexEntry] = []
        tail: list[BatchHeader] = []
        since_index = 0
        max_timestamp = -1
        next_offset = self.base_offset
        while position + HEADER_SIZE <= file_size:
            header = self._header_at(position)
            if header is None or header.size < HEADER_SIZE or position + header.size > file_size:
                break
            if header.base_offset != next_offset:
                # The CRC does not cover baseOffset, so check it against the previous batch.
                # reflog simplification: offsets are contiguous until compaction exists.
                break
            try:
                batch = RecordBatch(os.pread(fd, header.size, position))
                batch.validate()
            except CorruptRecordError:
                break
            if since_index >= self.config.index_interval_bytes or position == 0:
                entries.append(
                    IndexEntry(header.base_offset if position else self.base_offset, position)
                )
                if header.max_timestamp > max_timestamp:
                    time_entries.append(
                        TimeIndexEntry(max(header.max_timestamp, max_timestamp), header.last_offset)
                    )
                since_index = 0
                tail = []
            tail.append(header)
            since_index += header.size
            max_timestamp = max(max_timestamp, header.max_timestamp)
            next_offset = header.last_offset + 1
            position += header.size
        truncated = file_size - position
        if truncated:
            os.ftruncate(fd, position)
        self.index.rewrite(entries)
        self.time_index.rewrite(time_entries)
        self.size = self.flushed_size = position
        self.next_offset = next_offset
        self.max_timestamp = max_timestamp
        self._bytes_since_index = since_index
        self._tail = tail
        return truncated

    def load(self) -> None:
        """Open a segment that was shut down cleanly: trust its indexes, find its end."""
        headers = self.batches_from(self.index.lookup(2**62).position)
        self._tail = headers  # exactly the batches after the last index entry
        if headers:
            self.next_offset = headers[-1].last_offset + 1
        self.max_timestamp = max(
            [h.max_timestamp for h in headers] + [self.time_index.max_timestamp or -1]
        )
        self._bytes_since_index = sum(h.size for h in headers)

    def truncate_to(self, offset: int) -> None:
        """Remove every batch holding offsets at or above ``offset``."""
        header = self.find_batch(offset)
        if header is None:
            return
        # Batches are atomic: as in Kafka, a batch that holds ``offset`` goes entirely.
        cut = header.position
        os.ftruncate(self._fd(), cut)
        self.size = min(self.size, cut)
        self.flushed_size = min(self.flushed_size, cut)
        self.recover()

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        self.index.flush()
        self.time_index.flush()
        self._files.forget(self.log_path)

    def delete(self) -> None:
        self.close()
        for path in (self.log_path, self.index.path, self.time_index.path):
            path.unlink(missing_ok=True)
