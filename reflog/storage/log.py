"""One partition's log: an ordered list of segments on disk (Kafka's ``UnifiedLog``, simplified).

Only the newest segment — the *active* one — is written to; it is *rolled*
(closed, and a new one started at the next offset) when it reaches
``segment.bytes``, grows older than ``segment.ms``, or fills an index. Old
segments are immutable, which is what makes retention cheap: deleting old
data is deleting whole files, and the log start offset moves to the base
offset of the oldest segment left.

Recovery: a log that was closed cleanly leaves a marker file and is trusted on
open. Without the marker (a crash) every segment is scanned and validated,
indexes are rebuilt, and a torn or corrupt tail is cut off.

The log also keeps its partition's producer state (Kafka's ``UnifiedLog`` owns the
``ProducerStateManager`` the same way): every appended batch of an idempotent producer
updates it, a snapshot of it is written at each roll and at a clean shutdown
(``.snapshot`` files named by offset, like the segments), and recovery and truncation
rebuild it from the latest snapshot at or below the log end plus the batches after it.

reflog simplifications: the active segment is never deleted by retention, and
all segments are recovered after a crash (Kafka keeps a recovery-point
checkpoint and recovers only what came after it). A partition no idempotent producer
ever wrote to has no snapshot files.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from reflog.records.batch import RecordBatch, iter_batches
from reflog.storage import producer_snapshot as snapshots
from reflog.storage.file_cache import FileCache
from reflog.storage.flusher import InlineFlusher, SegmentFlusher
from reflog.storage.log_config import LogConfig
from reflog.storage.partition_log import (
    AppendInfo,
    OffsetOutOfRangeError,
    ReadInfo,
    TimestampOffset,
)
from reflog.storage.producer_state import (
    BatchMetadata,
    ProducerStateEntry,
    ProducerStateManager,
    last_sequence,
)
from reflog.storage.retention import SegmentInfo, segments_to_delete
from reflog.storage.segment import LogSegment
from reflog.storage.txn_index import TransactionIndex, marker_coordinator_epoch

__all__ = ["CLEAN_SHUTDOWN_FILE", "Log"]

CLEAN_SHUTDOWN_FILE = ".clean_shutdown"
_PREFIX = struct.Struct(">qii")  # baseOffset, batchLength, partitionLeaderEpoch
_LOG_START_FILE = "log-start-offset"


class Log:
    def __init__(
        self,
        directory: Path,
        config: LogConfig | None = None,
        now_ms: int = 0,
        files: FileCache | None = None,
        flusher: SegmentFlusher | None = None,
    ) -> None:
        self.directory = directory
        self.config = config or LogConfig()
        # Open segment files are borrowed from a cache shared by the broker's logs.
        self.files = files or FileCache()
        self.flusher = flusher or InlineFlusher()
        directory.mkdir(parents=True, exist_ok=True)
        clean = (directory / CLEAN_SHUTDOWN_FILE).exists()
        # A cleaning cut short by a crash: unfinished output goes, finished output is swapped in.
        for unfinished in directory.glob("*.log.cleaned"):
            unfinished.unlink()
        for finished in sorted(directory.glob("*.log.swap")):
            os.replace(finished, finished.with_suffix(""))
            clean = False  # rebuild the indexes of the swapped-in segment
        self.recovered_truncated_bytes = 0
        self.segments: list[LogSegment] = []
        for path in sorted(directory.glob("*.log")):
            if not path.stem.isdigit():
                continue
            segment = LogSegment(directory, int(path.stem), self.config, now_ms, self.files)
            if clean:
                segment.load()
                self.segments.append(segment)
                continue
            expected = self.segments[-1].next_offset if self.segments else segment.base_offset
            if segment.base_offset != expected or (
                self.segments and self.recovered_truncated_bytes
            ):
                # Anything after damage is not trusted: as Kafka's recovery does, the
                # segments that follow a truncated one are deleted.
                self.recovered_truncated_bytes += segment.size
                segment.delete()
                continue
            self.recovered_truncated_bytes += segment.recover()
            self.segments.append(segment)
        for stray in directory.glob("*.index.tmp"):
            stray.unlink()
        (directory / CLEAN_SHUTDOWN_FILE).unlink(missing_ok=True)
        if not self.segments:
            self.segments.append(LogSegment(directory, 0, self.config, now_ms, self.files))
        self._log_start_offset = max(self.segments[0].base_offset, self._read_log_start())
        self._unflushed = 0
        self.producer_state = ProducerStateManager()
        self._snapshots = snapshots.snapshot_offsets(directory)  # offsets, oldest first
        if self._snapshots or not clean:
            # A clean shutdown of a log with producers leaves a snapshot at its end; with
            # none, it never had any, and there is nothing to read.
            self._load_producer_state()
        self.transactions = TransactionIndex(directory)
        self._load_transactions()

    # -- PartitionLog -----------------------------------------------------------------
    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.active.next_offset

    @property
    def active(self) -> LogSegment:
        return self.segments[-1]

    @property
    def size_in_bytes(self) -> int:
        return sum(s.size for s in self.segments)

    def append(
        self,
        batch: RecordBatch | bytes | bytearray | memoryview,
        leader_epoch: int,
        now_ms: int = 0,
    ) -> AppendInfo:
        # A broker has already parsed and validated the batch: it hands over its view, so
        # the header is not parsed a second time on the produce path.
        view = batch if isinstance(batch, RecordBatch) else RecordBatch(batch)
        size = view.size_in_bytes
        active = self.active
        base_offset = active.next_offset
        last_offset = base_offset + view.last_offset_delta
        if active.should_roll(size, last_offset, now_ms):
            active = self.roll(now_ms)  # starts at the same next offset
        max_timestamp = view.max_timestamp
        # The broker's part of the header: baseOffset and partitionLeaderEpoch. Neither is
        # covered by the CRC, so the producer's checksum stays valid; the rest of the
        # batch is written as it came (os.writev: no copy of the records).
        prefix = _PREFIX.pack(base_offset, view.batch_length, leader_epoch)
        active.append(
            [prefix, view.buffer[_PREFIX.size :]],
            size,
            base_offset,
            last_offset,
            max_timestamp,
            now_ms,
        )
        if view.is_transactional:
            self.transactions.on_append(view, base_offset, active.base_offset)
        if view.is_control:  # a transaction marker: written by the coordinator, no sequence
            self.producer_state.marker(
                view.producer_id, view.producer_epoch, marker_coordinator_epoch(view)
            )
        elif view.producer_id >= 0:  # an idempotent producer's batch: remember it
            self.producer_state.update(
                view.producer_id,
                view.producer_epoch,
                BatchMetadata(
                    view.base_sequence,
                    last_sequence(view.base_sequence, view.last_offset_delta),
                    base_offset,
                    last_offset,
                    max_timestamp,
                ),
            )
        self._unflushed += 1
        if self.config.flush_messages is not None and self._unflushed >= self.config.flush_messages:
            self.flush()
        return AppendInfo(base_offset, last_offset, max_timestamp, size)

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadInfo:
        start, end = self.log_start_offset, self.log_end_offset  # a read changes neither
        if offset < start or offset > end:
            raise OffsetOutOfRangeError(offset, start, end)
        if offset == end:  # a reader that has everything: no file to scan
            return ReadInfo(None, start, end)
        for segment in self._segments_from(offset):
            records = segment.read(offset, max_bytes, max_offset)
            if records is not None:
                return ReadInfo(records, start, end)
        return ReadInfo(None, start, end)

    def offset_for_timestamp(self, timestamp: int) -> TimestampOffset | None:
        for segment in self.segments:
            hit = segment.offset_for_timestamp(timestamp)
            if hit is not None:
                offset, found = hit
                return TimestampOffset(found, max(offset, self.log_start_offset))
        return None

    def flush(self) -> None:
        for segment in self.segments:
            if segment.flushed_size < segment.size:
                segment.flush()
        self._unflushed = 0

    def close(self) -> None:
        """A clean shutdown: flush, snapshot the producer state, close, and leave the
        marker that skips recovery."""
        self.flush()
        self.take_producer_snapshot()
        for segment in self.segments:
            segment.close()
        (self.directory / CLEAN_SHUTDOWN_FILE).touch()

    # -- segments ---------------------------------------------------------------------
    def _segments_from(self, offset: int) -> list[LogSegment]:
        """Segments that may hold ``offset`` or later, oldest first."""
        first = 0
        for i, segment in enumerate(self.segments):
            if segment.base_offset <= offset:
                first = i
        return self.segments[first:]

    def roll(self, now_ms: int) -> LogSegment:
        """Close the active segment to writes and start a new one at the log end offset."""
        if self.active.size == 0:
            return self.active
        self.flusher.flush_rolled(self.active)  # Kafka flushes a segment when it stops being active
        self.take_producer_snapshot()  # named like the new segment: the state as it starts
        segment = LogSegment(self.directory, self.log_end_offset, self.config, now_ms, self.files)
        self.segments.append(segment)
        return segment

    def replace_segment(self, old: LogSegment, swap: Path) -> LogSegment:
        """Put a cleaned segment (written to ``swap``) in place of ``old``."""
        i = self.segments.index(old)
        old.close()
        os.replace(swap, old.log_path)
        segment = LogSegment(
            self.directory, old.base_offset, self.config, old.created_ms, self.files
        )
        segment.recover()  # rebuilds its indexes from the cleaned bytes
        self.segments[i] = segment
        return segment

    def truncate_to(self, offset: int) -> None:
        """Drop every record at or above ``offset`` (replication needs it on a leader change)."""
        while len(self.segments) > 1 and self.active.base_offset >= offset:
            self.segments.pop().delete()
        self.active.truncate_to(offset)
        # The producer state may hold batches that are gone: rebuild it (Kafka's
        # truncateAndReload), from a snapshot no later than the new end.
        self._load_producer_state()
        self._load_transactions()

    def truncate_fully_and_start_at(self, offset: int, now_ms: int = 0) -> None:
        """Drop every segment and continue from ``offset``: a follower so far behind that
        its leader's log now starts past its end (Kafka's truncateFullyAndStartAt)."""
        for segment in self.segments:
            segment.delete()
        self.segments = [LogSegment(self.directory, offset, self.config, now_ms, self.files)]
        self._log_start_offset = offset
        self._write_log_start()
        snapshots.delete_snapshots(self.directory, self._snapshots)
        self._snapshots = []
        self.producer_state.clear()
        self.transactions.clear_files()

    def delete_old_segments(self, now_ms: int, high_watermark: int | None = None) -> list[int]:
        """Retention: delete whole segments past ``retention.ms`` or over ``retention.bytes``.

        Returns the base offsets deleted. The log start offset moves to the oldest
        segment left, and a fetch below it gets OFFSET_OUT_OF_RANGE. Given a
        ``high_watermark``, only segments wholly below it may go, as in Kafka: records
        not yet replicated are never deleted from under a follower.
        """
        if not self.config.delete:
            return []
        infos = [SegmentInfo(s.base_offset, s.size, s.max_timestamp) for s in self.segments]
        doomed = segments_to_delete(
            infos, now_ms, self.config.retention_ms, self.config.retention_bytes
        )
        if high_watermark is not None:
            # Segment i ends where segment i + 1 begins; keep any that reach the HW.
            doomed = [
                base
                for i, base in enumerate(doomed)
                if self.segments[i + 1].base_offset <= high_watermark
            ]
        for _ in doomed:
            self.segments.pop(0).delete()
        if doomed:
            self._move_log_start(self.segments[0].base_offset)
        return doomed

    def maybe_increment_log_start_offset(self, offset: int) -> bool:
        """DeleteRecords (and a follower copying its leader's): nothing below ``offset`` may
        be read any more; the segments wholly below it are deleted. True if it moved."""
        offset = min(offset, self.log_end_offset)
        if offset <= self._log_start_offset:
            return False
        while len(self.segments) > 1 and self.segments[1].base_offset <= offset:
            self.segments.pop(0).delete()
        self._move_log_start(offset)
        return True

    def _move_log_start(self, offset: int) -> None:
        self._log_start_offset = max(self._log_start_offset, offset)
        self._write_log_start()
        # Snapshots of the deleted segments go with them. The producers stay: as in
        # Kafka since KIP-360, only producer.id.expiration.ms forgets a producer.
        gone = [o for o in self._snapshots if o < self._log_start_offset]
        snapshots.delete_snapshots(self.directory, gone)
        self._snapshots = self._snapshots[len(gone) :]

    def reconfigure(self, config: LogConfig) -> None:
        """A topic config changed while the broker runs: the log and its segments follow it
        from the next append, roll, retention or cleaning pass on."""
        self.config = config
        for segment in self.segments:
            segment.config = config

    # -- producer state ---------------------------------------------------------------
    def take_producer_snapshot(self) -> None:
        """Write the producer state as of the log end (once a partition has producers)."""
        end = self.log_end_offset
        if not self.producer_state and not self._snapshots:
            return
        snapshots.write_snapshot(self.directory, end, self.producer_state.producers)
        if not self._snapshots or self._snapshots[-1] < end:
            self._snapshots.append(end)

    def remove_expired_producers(self, now_ms: int, expiration_ms: int) -> list[int]:
        """producer.id.expiration.ms: forget producers idle that long; their ids."""
        return self.producer_state.remove_expired(now_ms, expiration_ms)

    def _load_producer_state(self) -> None:
        """Rebuild the producer state: the latest readable snapshot at or below the log
        end, then every batch after it (all of them when there is no snapshot). Snapshots
        past the end (of records a truncation removed) or below the start are deleted."""
        end, start = self.log_end_offset, self.log_start_offset
        stale = [o for o in self._snapshots if o > end or o < start]
        snapshots.delete_snapshots(self.directory, stale)
        self._snapshots = [o for o in self._snapshots if start <= o <= end]
        producers: dict[int, ProducerStateEntry] = {}
        replay_from = start
        while self._snapshots:
            try:
                producers = snapshots.read_snapshot(self.directory, self._snapshots[-1])
            except (snapshots.CorruptSnapshotError, OSError):
                snapshots.delete_snapshots(self.directory, [self._snapshots.pop()])
                continue
            replay_from = self._snapshots[-1]
            break
        self.producer_state.producers = producers
        for segment in self._segments_from(replay_from):
            for header, producer_id, epoch, first_seq in segment.producer_batches(replay_from):
                if first_seq < 0:  # a transaction marker
                    self.producer_state.marker(producer_id, epoch)
                    continue
                batch = BatchMetadata(
                    first_seq,
                    last_sequence(first_seq, header.last_offset - header.base_offset),
                    header.base_offset,
                    header.last_offset,
                    header.max_timestamp,
                )
                self.producer_state.update(producer_id, epoch, batch)

    def _load_transactions(self) -> None:
        """Rebuild the open and aborted transactions by reading the log again (see
        :mod:`reflog.storage.txn_index`); nothing to read if none was ever written."""
        if not self.transactions.ever_used:
            return
        self.transactions.clear_files()
        for segment in self.segments:
            offset = segment.base_offset
            while offset < segment.next_offset:
                raw = segment.read(offset, 1 << 20)
                if raw is None:
                    break
                for batch in iter_batches(raw.read()):
                    self.transactions.on_append(batch, batch.base_offset, segment.base_offset)
                    offset = batch.base_offset + batch.last_offset_delta + 1

    # -- the log start offset survives restarts ---------------------------------------
    def _read_log_start(self) -> int:
        path = self.directory / _LOG_START_FILE
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return 0

    def _write_log_start(self) -> None:
        tmp = self.directory / (_LOG_START_FILE + ".tmp")
        tmp.write_text(f"{self._log_start_offset}\n")
        os.replace(tmp, self.directory / _LOG_START_FILE)

    # -- the simulation's crash model -------------------------------------------------
    def crash(self) -> None:
        """What a power cut does: bytes not yet fsynced are gone; no clean-shutdown marker."""
        for segment in self.segments:
            os.truncate(segment.log_path, segment.flushed_size)
            segment.close()
