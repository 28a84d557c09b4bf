"""Cutting a byte stream into Kafka's size-prefixed frames, with few copies and few reads.

Bytes are received (``recv_into``) into a scratch buffer, where a small frame usually
arrives whole in one read, its size prefix with it; it is then copied out into a buffer
of its own. A frame larger than the scratch buffer gets its own buffer as soon as its
size is known, and the rest of it is received straight into that buffer (a megabyte
Produce is not copied twice). A size outside ``1..max_frame_bytes`` is refused before
anything is allocated for it.

That large buffer is used again for the next large frame once no view of the last one is
alive (the request it held is done with): a producer's megabyte requests then land in
memory that is already mapped and warm in the cache, and no megabyte is zeroed per
request, which the produce benchmark shows as a few percent. A view that outlives its
request (a record kept somewhere) keeps its bytes: the next frame then gets a new buffer.
"""

from __future__ import annotations

from reflog.wire.headers import check_frame_size

__all__ = ["Frame", "FrameAssembler"]

SCRATCH_BYTES = 64 * 1024

Frame = bytearray | memoryview  # a small frame's copy, or a view of a large frame's buffer


class FrameAssembler:
    def __init__(self, max_frame_bytes: int, scratch_bytes: int = SCRATCH_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._scratch = bytearray(scratch_bytes)
        self._have = 0  # bytes waiting in the scratch buffer
        self._large: memoryview | None = None  # a large frame being received in place
        self._spare: bytearray | None = None  # the last large frame's buffer, to reuse
        self._got = 0

    def get_buffer(self) -> memoryview:
        """Where the next read should land (never empty unless :attr:`full`)."""
        if self._large is not None:
            return self._large[self._got :]
        return memoryview(self._scratch)[self._have :]

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were read into the buffer :meth:`get_buffer` gave."""
        if self._large is not None:
            self._got += nbytes
        else:
            self._have += nbytes

    @property
    def full(self) -> bool:
        """Nothing more can be read until a frame is taken with :meth:`next_frame`."""
        return self._large is None and self._have == len(self._scratch)

    @property
    def buffered(self) -> bool:
        """Bytes of a frame not yet taken are waiting."""
        return self._have > 0 or self._large is not None

    def next_frame(self) -> Frame | None:
        """The next complete frame, in a buffer of its own, or None if none is complete yet.

        Raises :class:`~reflog.wire.errors.WireDecodeError` for a size out of bounds."""
        if self._large is not None:
            if self._got < len(self._large):
                return None
            frame, self._large = self._large, None
            return frame
        if self._have < 4:
            return None
        size = check_frame_size(bytes(self._scratch[:4]), self.max_frame_bytes)
        end = 4 + size
        if end <= self._have:
            small = self._scratch[4:end]  # a copy
            self._scratch[: self._have - end] = self._scratch[end : self._have]
            self._have -= end
            return small
        if end > len(self._scratch):
            self._large = self._large_buffer(size)
            self._got = self._have - 4
            self._large[: self._got] = self._scratch[4 : self._have]
            self._have = 0
        return None

    def _large_buffer(self, size: int) -> memoryview:
        spare = self._spare
        # Not much larger than needed, so one huge frame does not pin its memory for good.
        if spare is None or not size <= len(spare) <= 2 * size or _viewed(spare):
            spare = self._spare = bytearray(size)
        return memoryview(spare)[:size]


def _viewed(buffer: bytearray) -> bool:
    """Whether a memoryview of ``buffer`` is alive. CPython refuses to resize a bytearray
    while views of it exist (PEP 3118), so a resize that is undone at once tells."""
    try:
        buffer.append(0)
    except BufferError:
        return True
    buffer.pop()
    return False
