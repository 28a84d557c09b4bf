"""One broker (or controller) per data directory, as Kafka's ``.lock`` file ensures.

Two processes appending to the same partition files would interleave their batches and
corrupt both logs. So a process takes an exclusive lock on ``<dir>/.lock`` before it
opens anything there and holds it until it exits, and a second one fails at once. The
operating system drops the lock when the process ends, however it ends: a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK_FILE", "DataDirLock", "DataDirLockedError"]

LOCK_FILE = ".lock"


class DataDirLockedError(Exception):
    """Another process (or another broker in this one) holds the directory's lock."""


class DataDirLock:
    """``with DataDirLock(path):`` holds ``path``'s lock for the block."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`DataDirLockedError` at once if it is taken."""
        if self._fd is not None:
            return
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # flock, not lockf: a second lock from the same process conflicts too.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirLockedError(
                f"Failed to acquire lock on file {LOCK_FILE} in {self.directory}. "
                "A Kafka instance in another process or thread is using this directory."
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file is what releases the lock
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
