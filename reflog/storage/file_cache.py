"""A bounded set of open segment files: Kafka's "too many open files", handled.

Every partition has at least one segment, and a broker may host tens of
thousands of partitions; keeping every ``.log`` open would exhaust file
descriptors. Segments therefore borrow their file from this LRU cache, which
keeps at most ``max_open`` files open and closes the least recently used.

A file that a pending fetch still refers to (a :class:`FileSlice` waiting to
be sent) is not closed under it: it is parked and closed once nothing else
refers to it.

reflog simplification: "refers to" is judged by CPython's reference count.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import IO

__all__ = ["FileCache"]

# References to an evicted file that are ours alone: the local variable and
# getrefcount's own argument.
_OUR_REFERENCES = 2


class FileCache:
    def __init__(self, max_open: int = 512) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.max_open = max_open
        self._files: OrderedDict[Path, IO[bytes]] = OrderedDict()
        self._parked: list[IO[bytes]] = []
        self.opens = 0

    def open(self, path: Path) -> IO[bytes]:
        """The open file for ``path`` (unbuffered, append mode), opening it if needed."""
        f = self._files.get(path)
        if f is not None:
            self._files.move_to_end(path)
            return f
        # O_APPEND: writes always land at the end, whatever a sendfile did to the offset.
        f = open(path, "a+b", buffering=0)  # noqa: SIM115
        self.opens += 1
        self._files[path] = f
        while len(self._files) > self.max_open:
            self._parked.append(self._files.popitem(last=False)[1])  # no local keeps it alive
        self._sweep()
        return f

    def forget(self, path: Path) -> None:
        """Close ``path``'s file (the segment is being deleted or closed)."""
        if path in self._files:
            self._parked.append(self._files.pop(path))
            self._sweep()

    def close_all(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
        for f in self._parked:
            f.close()
        self._parked.clear()

    @property
    def open_count(self) -> int:
        return len(self._files) + len(self._parked)

    def _sweep(self) -> None:
        still_used = []
        for f in self._parked:
            if sys.getrefcount(f) > _OUR_REFERENCES + 1:  # +1: the _parked list
                still_used.append(f)
            else:
                f.close()
        self._parked = still_used
