"""The narrow interface between a broker and the log of one partition.

The broker needs only this: append a validated batch and learn its offsets,
read a byte slice starting at an offset, find an offset by timestamp, and the
two boundaries of the log. Anything that satisfies :class:`PartitionLog` can
back a broker; :class:`~reflog.storage.log.Log` is Kafka's segmented log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from reflog.records.batch import RecordBatch
from reflog.records.file_slice import FileSlice

__all__ = ["AppendInfo", "OffsetOutOfRangeError", "PartitionLog", "ReadInfo", "TimestampOffset"]


class OffsetOutOfRangeError(LookupError):
    """A read below the log start or above the log end (Kafka: OFFSET_OUT_OF_RANGE)."""

    def __init__(self, offset: int, log_start_offset: int, log_end_offset: int) -> None:
        super().__init__(
            f"offset {offset} is outside the log [{log_start_offset}, {log_end_offset}]"
        )
        self.offset = offset
        self.log_start_offset = log_start_offset
        self.log_end_offset = log_end_offset


class AppendInfo(NamedTuple):
    """Where an appended batch landed (a tuple: one is made for every batch appended)."""

    base_offset: int
    last_offset: int
    max_timestamp: int
    size_in_bytes: int


@dataclass(frozen=True)
class ReadInfo:
    """The answer to a read: whole batches as a file slice (None when there is nothing)."""

    records: FileSlice | None
    log_start_offset: int
    log_end_offset: int

    @property
    def size_in_bytes(self) -> int:
        return 0 if self.records is None else self.records.length


@dataclass(frozen=True)
class TimestampOffset:
    timestamp: int
    offset: int


class PartitionLog(Protocol):
    @property
    def log_start_offset(self) -> int: ...

    @property
    def log_end_offset(self) -> int:
        """The offset the next appended record will get (Kafka's LEO)."""
        ...

    def append(
        self,
        batch: RecordBatch | bytes | bytearray | memoryview,
        leader_epoch: int,
        now_ms: int = 0,
    ) -> AppendInfo:
        """Assign offsets from the log end to a validated batch (its bytes, or the view
        the validation parsed) and write it."""
        ...

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadInfo:
        """Whole batches from the one holding ``offset``, up to ``max_bytes`` but at
        least one batch (KIP-74), stopping before ``max_offset`` if given."""
        ...

    def offset_for_timestamp(self, timestamp: int) -> TimestampOffset | None:
        """The first record whose timestamp is at least ``timestamp``."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
