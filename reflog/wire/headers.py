"""Request and response headers, and the framing around every message.

Every Kafka message travels as ``size:int32`` followed by ``size`` bytes: a
header, then the body. Request header v1 is ``api_key, api_version,
correlation_id, client_id``; v2 (flexible APIs) adds a tagged-field section.
Response header v0 is just ``correlation_id``; v1 (flexible) adds tagged
fields — except ApiVersions, whose response header stays v0 so that a client
can read it before it knows what the broker speaks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from reflog.wire.codec import Reader, Writer
from reflog.wire.errors import FrameTooLargeError

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "RequestHeader",
    "ResponseHeader",
    "check_frame_size",
    "frame_prefix",
]

# Kafka's socket.request.max.bytes default: 100 MiB.
DEFAULT_MAX_REQUEST_BYTES = 104_857_600
_SIZE = struct.Struct(">i")


def check_frame_size(prefix: bytes, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> int:
    """Read a 4-byte size prefix and refuse sizes that are not positive or too large."""
    size: int = _SIZE.unpack(prefix)[0]
    if size <= 0 or size > max_bytes:
        raise FrameTooLargeError(f"frame size {size} outside 1..{max_bytes}")
    return size


def frame_prefix(size: int) -> bytes:
    return _SIZE.pack(size)


@dataclass(frozen=True)
class RequestHeader:
    api_key: int  # an ApiKey, or a number reflog does not know (read off the wire)
    api_version: int
    correlation_id: int
    client_id: str | None = None

    def __post_init__(self) -> None:
        # Held as the plain number it is on the wire, however it was given (an ApiKey
        # from a message class): a header built here and one decoded are then equal,
        # and print alike.
        object.__setattr__(self, "api_key", int(self.api_key))

    @classmethod
    def read(cls, r: Reader, flexible: bool) -> RequestHeader:
        header = cls(r.int16(), r.int16(), r.int32(), r.string(flexible=False))
        if flexible:
            r.skip_tagged_fields()
        return header

    def write(self, w: Writer, flexible: bool) -> None:
        w.int16(self.api_key)
        w.int16(self.api_version)
        w.int32(self.correlation_id)
        w.string(self.client_id, flexible=False)  # client_id is never compact
        if flexible:
            w.empty_tagged_fields()


@dataclass(frozen=True)
class ResponseHeader:
    correlation_id: int

    @classmethod
    def read(cls, r: Reader, flexible: bool) -> ResponseHeader:
        header = cls(r.int32())
        if flexible:
            r.skip_tagged_fields()
        return header

    def write(self, w: Writer, flexible: bool) -> None:
        w.int32(self.correlation_id)
        if flexible:
            w.empty_tagged_fields()
