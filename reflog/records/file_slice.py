"""A byte range of an open file: what a zero-copy read hands to the network.

The storage layer answers a fetch with a slice instead of bytes. The network
runtime sends it with ``os.sendfile`` (the kernel copies page cache to socket,
no record byte enters Python); the simulation, which has no sockets, reads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO

__all__ = ["FileSlice"]


@dataclass(frozen=True)
class FileSlice:
    """``length`` bytes of ``file`` starting at ``position``."""

    file: IO[bytes]
    position: int
    length: int

    def read(self) -> bytes:
        """Copy the bytes into Python (the simulation's path, never the broker's)."""
        data = os.pread(self.file.fileno(), self.length, self.position)
        if len(data) != self.length:
            raise OSError(f"short read: wanted {self.length} bytes, file gave {len(data)}")
        return data

    def __repr__(self) -> str:
        return f"FileSlice(position={self.position}, length={self.length})"
