"""The log cleaner: compaction for ``cleanup.policy=compact`` (Kafka's ``LogCleaner``).

A compacted topic keeps, for every key, at least its latest value. The cleaner
works on the segments that are no longer active. It first reads the *dirty*
part — everything written since the last cleaning — into an offset map
(key → latest offset), then rewrites every cleanable segment keeping only
records that are still the latest for their key. Offsets never change: a
compacted log has gaps, and a consumer that fetches from a removed offset just
gets the next record. (Retention, not compaction, moves the log start offset:
only retention makes a slow consumer fall off the log.)

A tombstone (a record whose value is null) deletes its key. It is itself
removed once it is older than ``delete.retention.ms``, so that consumers had
time to see the deletion. Cleaning starts only when the dirty part is at least
``min.cleanable.dirty.ratio`` of the cleanable log.

Crash safety, as in Kafka: a cleaned segment is written to ``.cleaned``,
flushed, renamed to ``.swap``, and only then replaces the original. On open, a
``.cleaned`` file (a clean cut short) is deleted and a ``.swap`` file (a clean
that finished writing) completes its swap — so a crash at any point loses
nothing.

Transactions, as in Kafka: the cleaner stops at the last stable offset (an open
transaction may still abort, so its records must not count as any key's latest
value); below it, a committed transaction's records are compacted like any
others, and an aborted transaction's records are removed (no ``read_committed``
consumer ever returns them, and a ``read_uncommitted`` one may skip them).

reflog simplifications: each segment is rewritten on its own (Kafka also
merges small segments); a batch whose records were all removed is kept
as an empty batch header so offsets stay contiguous batch to batch; and a
transaction's COMMIT or ABORT marker is kept (Kafka removes it once no record of
its transaction is left and ``delete.retention.ms`` has passed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reflog.records.batch import RecordBatch, iter_batches, rebuild_batch
from reflog.storage.log import Log
from reflog.storage.segment import LogSegment

__all__ = ["CHECKPOINT_FILE", "CleanResult", "LogCleaner"]

CHECKPOINT_FILE = "cleaner-offset-checkpoint"


@dataclass(frozen=True)
class CleanResult:
    segments: int
    bytes_before: int
    bytes_after: int
    records_before: int
    records_after: int
    tombstones_removed: int
    first_dirty_offset: int  # where the next cleaning starts reading


class LogCleaner:
    def first_dirty_offset(self, log: Log) -> int:
        try:
            value = int((log.directory / CHECKPOINT_FILE).read_text().strip())
        except (OSError, ValueError):
            value = 0
        return max(value, log.log_start_offset)

    def cleanable_segments(self, log: Log, high_watermark: int | None = None) -> list[LogSegment]:
        """Never the active segment, and only segments wholly below the last stable offset
        and, in a replicated log, the high watermark (an uncommitted newer value must not
        erase a committed one: truncation or an abort could take the newer one away)."""
        end = log.transactions.first_unstable_offset(log.log_end_offset)  # the LSO
        if high_watermark is not None:
            end = min(end, high_watermark)
        return [s for s in log.segments[:-1] if s.next_offset <= end]

    def dirty_ratio(self, log: Log, high_watermark: int | None = None) -> float:
        cleanable = self.cleanable_segments(log, high_watermark)
        total = sum(s.size for s in cleanable)
        if total == 0:
            return 0.0
        first_dirty = self.first_dirty_offset(log)
        dirty = sum(s.size for s in cleanable if s.next_offset > first_dirty)
        return dirty / total

    def clean(
        self, log: Log, now_ms: int, *, force: bool = False, high_watermark: int | None = None
    ) -> CleanResult | None:
        """Compact ``log`` if its dirty ratio calls for it (or ``force``); None if not."""
        if not log.config.compact:
            return None
        cleanable = self.cleanable_segments(log, high_watermark)
        if not cleanable or (
            not force
            and self.dirty_ratio(log, high_watermark) < log.config.min_cleanable_dirty_ratio
        ):
            return None
        first_dirty = self.first_dirty_offset(log)
        aborted = _aborted_ranges(log)
        latest: dict[bytes, int] = {}
        for segment in cleanable:
            if segment.next_offset <= first_dirty:
                continue
            for batch in self._batches(segment):
                if batch.is_control or _is_aborted(batch, aborted):
                    continue  # never the newer value of a key
                for record in batch.records():
                    if record.key is not None and record.offset >= first_dirty:
                        latest[record.key] = record.offset
        delete_horizon = now_ms - log.config.delete_retention_ms
        before = after = records_before = records_after = tombstones = 0
        for segment in cleanable:
            before += segment.size
            out = bytearray()
            for batch in self._batches(segment):
                keep = []
                aborted_batch = _is_aborted(batch, aborted)
                for record in batch.records():
                    records_before += 1
                    if batch.is_control:
                        keep.append(record)  # a marker stays (see the module's docstring)
                        continue
                    if aborted_batch:
                        continue  # an aborted transaction's record: never to be read
                    if (
                        record.key is not None
                        and latest.get(record.key, record.offset) > record.offset
                    ):
                        continue  # a newer value of this key exists
                    if record.value is None and segment.max_timestamp < delete_horizon:
                        tombstones += 1
                        continue  # an old tombstone: its deletion has been seen long enough
                    keep.append(record)
                records_after += len(keep)
                out += rebuild_batch(batch, keep)
            after += len(out)
            self._swap_in(log, segment, bytes(out))
        end = cleanable[-1].next_offset
        self._write_checkpoint(log.directory, end)
        return CleanResult(
            len(cleanable), before, after, records_before, records_after, tombstones, end
        )

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _batches(segment: LogSegment) -> list[RecordBatch]:
        data = segment.log_path.read_bytes()[: segment.size]
        return list(iter_batches(data, allow_partial_tail=False))

    @staticmethod
    def _swap_in(log: Log, old: LogSegment, data: bytes) -> None:
        cleaned = old.log_path.with_name(old.log_path.name + ".cleaned")
        with open(cleaned, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        swap = old.log_path.with_name(old.log_path.name + ".swap")
        os.replace(cleaned, swap)  # from here on, a crash completes the swap on open
        log.replace_segment(old, swap)

    @staticmethod
    def _write_checkpoint(directory: Path, offset: int) -> None:
        tmp = directory / (CHECKPOINT_FILE + ".tmp")
        tmp.write_text(f"{offset}\n")
        os.replace(tmp, directory / CHECKPOINT_FILE)


def _aborted_ranges(log: Log) -> dict[int, list[tuple[int, int]]]:
    """producer id -> the offset ranges of its aborted transactions in ``log``."""
    ranges: dict[int, list[tuple[int, int]]] = {}
    for txn in log.transactions.aborted:
        ranges.setdefault(txn.producer_id, []).append((txn.first_offset, txn.last_offset))
    return ranges


def _is_aborted(batch: RecordBatch, aborted: dict[int, list[tuple[int, int]]]) -> bool:
    """Whether ``batch`` holds records of a transaction that was aborted."""
    if not batch.is_transactional or batch.is_control:
        return False
    return any(
        first <= batch.base_offset <= last for first, last in aborted.get(batch.producer_id, ())
    )
