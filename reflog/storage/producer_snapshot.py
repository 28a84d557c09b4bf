"""Producer-state snapshots: the producer table of a partition as of an offset, on disk.

Kafka writes one at every segment roll, named like the new segment
(``00000000000000001000.snapshot``: the table as it stood when the log ended at offset
1000), and one at a clean shutdown. On recovery the partition loads the latest snapshot
at or below its log end and replays only the batches after it, instead of the whole
log. A snapshot is written to a temporary file, fsynced, then renamed, so a crash leaves
either the whole snapshot or none.

Layout (big-endian): version INT16, crc UINT32 (CRC-32C of everything after it),
producer count INT32, then per producer: producer id INT64, epoch INT16, batch count
INT8, then per batch: first sequence INT32, last sequence INT32, first offset INT64,
last offset INT64, timestamp INT64.

reflog simplification: reflog's own layout, not Kafka's; it keeps all five cached
batches of each producer where Kafka's keeps the last one (and no transaction state).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from reflog.records.crc import crc32c
from reflog.storage.producer_state import (
    MAX_CACHED_BATCHES,
    BatchMetadata,
    ProducerStateEntry,
)

__all__ = [
    "SNAPSHOT_SUFFIX",
    "CorruptSnapshotError",
    "decode_snapshot",
    "delete_snapshots",
    "encode_snapshot",
    "read_snapshot",
    "snapshot_offsets",
    "write_snapshot",
]

SNAPSHOT_SUFFIX = ".snapshot"
_VERSION = 1
_HEAD = struct.Struct(">hI")
_COUNT = struct.Struct(">i")
_PRODUCER = struct.Struct(">qhb")
_BATCH = struct.Struct(">iiqqq")


class CorruptSnapshotError(ValueError):
    """A snapshot file that is cut short, fails its CRC, or is of an unknown version."""


def snapshot_path(directory: Path, offset: int) -> Path:
    return directory / f"{offset:020d}{SNAPSHOT_SUFFIX}"


def encode_snapshot(producers: dict[int, ProducerStateEntry]) -> bytes:
    body = bytearray(_COUNT.pack(len(producers)))
    for pid, entry in sorted(producers.items()):
        body += _PRODUCER.pack(pid, entry.producer_epoch, len(entry.batches))
        for b in entry.batches:
            body += _BATCH.pack(b.first_seq, b.last_seq, b.first_offset, b.last_offset, b.timestamp)
    return _HEAD.pack(_VERSION, crc32c(body)) + bytes(body)


def decode_snapshot(data: bytes) -> dict[int, ProducerStateEntry]:
    """The producer table a snapshot holds; raises :class:`CorruptSnapshotError`."""
    try:
        version, crc = _HEAD.unpack_from(data, 0)
        body = memoryview(data)[_HEAD.size :]
        if version != _VERSION:
            raise CorruptSnapshotError(f"unknown producer snapshot version {version}")
        if crc32c(body) != crc:
            raise CorruptSnapshotError("producer snapshot CRC mismatch")
        (count,) = _COUNT.unpack_from(body, 0)
        position = _COUNT.size
        producers: dict[int, ProducerStateEntry] = {}
        for _ in range(count):
            pid, epoch, n = _PRODUCER.unpack_from(body, position)
            position += _PRODUCER.size
            if not 0 <= n <= MAX_CACHED_BATCHES:
                raise CorruptSnapshotError(f"{n} batches for producer {pid}")
            entry = producers[pid] = ProducerStateEntry(pid, epoch)
            for _ in range(n):
                entry.batches.append(BatchMetadata(*_BATCH.unpack_from(body, position)))
                position += _BATCH.size
    except struct.error as exc:
        raise CorruptSnapshotError(f"producer snapshot cut short: {exc}") from exc
    if position != len(body):
        raise CorruptSnapshotError(f"{len(body) - position} bytes after the producer snapshot")
    return producers


def write_snapshot(directory: Path, offset: int, producers: dict[int, ProducerStateEntry]) -> None:
    path = snapshot_path(directory, offset)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(encode_snapshot(producers))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_snapshot(directory: Path, offset: int) -> dict[int, ProducerStateEntry]:
    return decode_snapshot(snapshot_path(directory, offset).read_bytes())


def snapshot_offsets(directory: Path) -> list[int]:
    """The offsets of the snapshots in ``directory``, oldest first (stray temporary
    files of a snapshot cut short by a crash are removed)."""
    for stray in directory.glob(f"*{SNAPSHOT_SUFFIX}.tmp"):
        stray.unlink()
    return sorted(
        int(p.name.removesuffix(SNAPSHOT_SUFFIX))
        for p in directory.glob(f"*{SNAPSHOT_SUFFIX}")
        if p.name.removesuffix(SNAPSHOT_SUFFIX).isdigit()
    )


def delete_snapshots(directory: Path, offsets: list[int]) -> None:
    for offset in offsets:
        snapshot_path(directory, offset).unlink(missing_ok=True)
