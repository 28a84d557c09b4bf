"""The reference answer: reflog's own log cleaner (LogCleaner.clean) on a real compacted log,
written to a temporary directory one record per segment."""

from __future__ import annotations

import tempfile
from pathlib import Path

from reflog.records import build_batch, iter_batches
from reflog.records.batch import RecordBatch, rebuild_batch
from reflog.storage.cleaner import LogCleaner
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig

__all__ = ["compact", "latest_offsets"]

Record = tuple[int, bytes, bytes | None, int]
FOREVER_MS = 2**62  # a delete.retention.ms no tombstone outlives


def latest_offsets(records: list[Record]) -> dict[bytes, int]:
    # The cleaner's offset map is what compaction keeps when no tombstone is old enough.
    return {key: offset for offset, key, _, _ in compact(records, 0, FOREVER_MS)}


def compact(records: list[Record], now_ms: int, delete_retention_ms: int) -> list[Record]:
    with tempfile.TemporaryDirectory() as tmp:
        config = LogConfig(cleanup_policy="compact", delete_retention_ms=delete_retention_ms)
        log = Log(Path(tmp) / "t-0", config)
        if records:
            log.truncate_fully_and_start_at(records[0][0])
        for offset, key, value, timestamp in records:
            log.append(_batch_ending_at(offset, log.log_end_offset, key, value, timestamp), 0)
            # A segment of its own: the cleaner drops a tombstone by its segment's newest
            # timestamp (so does Kafka), which is then the tombstone's own.
            log.roll(timestamp)
        LogCleaner().clean(log, now_ms, force=True)
        kept = [
            (record.offset, record.key, record.value, record.timestamp)
            for segment in log.segments
            for batch in iter_batches(segment.log_path.read_bytes()[: segment.size])
            for record in batch.records()
        ]
        log.close()
    return kept


def _batch_ending_at(
    offset: int, log_end_offset: int, key: bytes, value: bytes | None, timestamp: int
) -> bytes:
    """One record at ``offset``, in a batch that starts at the log end: across a gap left by
    an earlier compaction the batch spans the missing offsets, as a cleaned batch does."""
    span = offset - log_end_offset + 1
    spanning = RecordBatch(build_batch([(key, value, timestamp)] * span))
    return rebuild_batch(spanning, list(spanning.records())[-1:])
