"""Making a rolled segment durable, on the thread that rolled it or on one of its own.

A segment takes no more writes once its log rolls, and Kafka then flushes it in the
background: ``UnifiedLog.roll`` schedules a ``flush-log`` task on the broker's scheduler
instead of waiting for the fsync on the thread that appends the next batch. An fsync of a
full segment (a gigabyte by default) takes from a fraction of a second to many seconds, and
reflog's broker is one event loop: waiting there would stop every partition, every client
and every follower of that broker for as long.

* :class:`InlineFlusher` fsyncs at once. The simulation uses it: its clock does not move
  while a disk works, and its power cut (:meth:`Log.crash`) must know exactly what an fsync
  made durable.
* :class:`BackgroundFlusher` hands the segment's file to a thread of its own. A broker
  process uses it.

Either way the segment's index rows, kept in memory, are written to their files on the
rolling thread; as before, only the log file is fsynced (reflog recovers every segment after a
crash and rebuilds the indexes).
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Protocol

from reflog.storage.segment import LogSegment

__all__ = ["BackgroundFlusher", "InlineFlusher", "SegmentFlusher"]


class SegmentFlusher(Protocol):
    def flush_rolled(self, segment: LogSegment) -> None:
        """``segment`` was just rolled: make what it holds durable."""

    def close(self) -> None:
        """Return once every flush asked for so far is done."""


class InlineFlusher:
    def flush_rolled(self, segment: LogSegment) -> None:
        segment.flush()

    def close(self) -> None:
        pass


class BackgroundFlusher:
    """One thread that fsyncs rolled segments' files, oldest roll first.

    The thread opens each file by its path when its turn comes, so a segment that retention
    or a truncation deleted meanwhile is simply skipped, and nothing the event loop closes is
    touched from here. An fsync that fails means the disk is failing: its error is raised on
    the rolling thread at every roll after it, and at :meth:`close`, so no partition of the
    broker rolls again. reflog simplification: Kafka takes the log directory offline instead.

    reflog simplification: the segment's ``flushed_size`` stays where it was, so a later
    :meth:`Log.flush` (``flush.messages``, a clean shutdown) fsyncs it once more, cheaply,
    rather than asking this thread what it has done.
    """

    def __init__(self) -> None:
        self._paths: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def flush_rolled(self, segment: LogSegment) -> None:
        self._raise_error()
        segment.index.flush()
        segment.time_index.flush()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="log-flusher", daemon=True)
            self._thread.start()
        self._paths.put(segment.log_path)

    def close(self) -> None:
        if self._thread is not None:
            self._paths.put(None)
            self._thread.join()
            self._thread = None
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error  # kept: the disk does not get better by being reported

    def _run(self) -> None:
        while (path := self._paths.get()) is not None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # deleted before its turn: nothing left to keep
                continue
            except OSError as error:
                self._error = error
                continue
            try:
                os.fsync(fd)
            except OSError as error:
                self._error = error
            finally:
                os.close(fd)
