"""The simplest real partition log: one append-only file of batches.

Good enough to serve real clients, and honest about what it lacks: there are
no segments, so nothing can be deleted or compacted, and the "index" is an
in-memory list of batch positions rebuilt by scanning the file on open. The
storage-engine chapter replaces it with Kafka's segmented log.

Recovery: on open, the file is scanned batch by batch; the first batch that is
torn (cut short by a crash) or fails its CRC ends the log, and the file is
truncated there, as Kafka does to the active segment after an unclean
shutdown.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from reflog.records.batch import LOG_OVERHEAD, RecordBatch
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice
from reflog.storage.partition_log import (
    AppendInfo,
    OffsetOutOfRangeError,
    ReadInfo,
    TimestampOffset,
)

__all__ = ["SimpleLog"]

_BASE_OFFSET_AND_LENGTH = struct.Struct(">qi")
_PARTITION_LEADER_EPOCH = struct.Struct(">i")
LOG_FILE_NAME = "00000000000000000000.log"


@dataclass(frozen=True)
class _BatchEntry:
    base_offset: int
    last_offset: int
    position: int
    size: int
    max_timestamp: int


class SimpleLog:
    """One partition's log in ``directory``: a single ``.log`` file of batches."""

    def __init__(self, directory: Path, *, flush_messages: int | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / LOG_FILE_NAME
        # Unbuffered and O_APPEND: every write lands at the end, and seeks done by
        # a sendfile on the same file object cannot move where the next append goes.
        self._file = open(self.path, "a+b", buffering=0)  # noqa: SIM115
        self._entries: list[_BatchEntry] = []
        self._last_offsets: list[int] = []  # parallel to _entries, for bisect
        self._size = 0
        self._log_end_offset = 0
        self._unflushed = 0
        # Kafka's flush.messages: fsync after this many appended batches (None: leave
        # it to the page cache, Kafka's default).
        self._flush_messages = flush_messages
        self.recovered_truncated_bytes = self._recover()

    # -- recovery ---------------------------------------------------------------------
    def _recover(self) -> int:
        fd = self._file.fileno()
        file_size = os.fstat(fd).st_size
        position = 0
        while position + LOG_OVERHEAD <= file_size:
            _, batch_length = _BASE_OFFSET_AND_LENGTH.unpack(os.pread(fd, LOG_OVERHEAD, position))
            size = LOG_OVERHEAD + batch_length
            if batch_length <= 0 or position + size > file_size:
                break
            try:
                batch = RecordBatch(os.pread(fd, size, position))
                batch.validate()
            except CorruptRecordError:
                break
            self._add_entry(batch, position)
            position += size
        if position < file_size:
            os.ftruncate(fd, position)
        self._size = position
        return file_size - position

    def _add_entry(self, batch: RecordBatch, position: int) -> None:
        entry = _BatchEntry(
            batch.base_offset, batch.last_offset, position, batch.size_in_bytes, batch.max_timestamp
        )
        self._entries.append(entry)
        self._last_offsets.append(entry.last_offset)
        self._log_end_offset = entry.last_offset + 1

    # -- PartitionLog -----------------------------------------------------------------
    @property
    def log_start_offset(self) -> int:
        return self._entries[0].base_offset if self._entries else self._log_end_offset

    @property
    def log_end_offset(self) -> int:
        return self._log_end_offset

    @property
    def size_in_bytes(self) -> int:
        return self._size

    def append(
        self, batch: bytes | bytearray | memoryview, leader_epoch: int, now_ms: int = 0
    ) -> AppendInfo:
        data = bytearray(batch)
        view = RecordBatch(data)
        base_offset = self._log_end_offset
        # Neither field is covered by the CRC, so the producer's checksum stays valid.
        _BASE_OFFSET_AND_LENGTH.pack_into(data, 0, base_offset, view.batch_length)
        _PARTITION_LEADER_EPOCH.pack_into(data, 12, leader_epoch)
        position = self._size
        written = os.write(self._file.fileno(), data)
        if written != len(data):
            raise OSError(f"short write: {written} of {len(data)} bytes")
        self._size += len(data)
        entry = _BatchEntry(
            base_offset,
            base_offset + view.last_offset_delta,
            position,
            len(data),
            view.max_timestamp,
        )
        self._entries.append(entry)
        self._last_offsets.append(entry.last_offset)
        self._log_end_offset = entry.last_offset + 1
        self._unflushed += 1
        if self._flush_messages is not None and self._unflushed >= self._flush_messages:
            self.flush()
        return AppendInfo(base_offset, entry.last_offset, entry.max_timestamp, len(data))

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadInfo:
        if offset < self.log_start_offset or offset > self._log_end_offset:
            raise OffsetOutOfRangeError(offset, self.log_start_offset, self._log_end_offset)
        first = bisect.bisect_left(self._last_offsets, offset)
        end = first
        total = 0
        while end < len(self._entries):
            entry = self._entries[end]
            if max_offset is not None and entry.base_offset >= max_offset:
                break
            if total and total + entry.size > max_bytes:
                break
            total += entry.size  # the first batch always goes, however large (KIP-74)
            end += 1
        records = None
        if end > first:
            records = FileSlice(self._file, self._entries[first].position, total)
        return ReadInfo(records, self.log_start_offset, self._log_end_offset)

    def offset_for_timestamp(self, timestamp: int) -> TimestampOffset | None:
        for entry in self._entries:
            if entry.max_timestamp < timestamp:
                continue
            raw = os.pread(self._file.fileno(), entry.size, entry.position)
            for record in RecordBatch(raw).records():
                if record.timestamp >= timestamp:
                    return TimestampOffset(record.timestamp, record.offset)
        return None

    def flush(self) -> None:
        os.fsync(self._file.fileno())
        self._unflushed = 0

    def close(self) -> None:
        self._file.close()
