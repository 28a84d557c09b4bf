"""The frame assembler gives back exactly the frames that were sent, however the stream
is cut into reads, small frames and large ones alike, and refuses bad sizes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reflog.net.framing import FrameAssembler
from reflog.wire.errors import WireDecodeError

SCRATCH = 64


def feed(assembler: FrameAssembler, stream: bytes, cuts: list[int]) -> list[bytes]:
    """Read ``stream`` as the kernel would (at most what get_buffer offers, in pieces of
    the given sizes) and take every frame as soon as it is complete."""
    frames: list[bytes] = []
    position, i = 0, 0
    while position < len(stream):
        buffer = assembler.get_buffer()
        assert len(buffer) > 0, "a full assembler must be emptied before reading again"
        n = min(len(buffer), len(stream) - position, cuts[i % len(cuts)])
        i += 1
        buffer[:n] = stream[position : position + n]
        assembler.buffer_updated(n)
        position += n
        while (frame := assembler.next_frame()) is not None:
            frames.append(bytes(frame))
    return frames


@given(
    st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=20),
    st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=10),
)
def test_frames_come_out_whole_and_in_order_however_the_reads_cut_them(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(struct.pack(">i", len(p)) + p for p in payloads)
    assembler = FrameAssembler(max_frame_bytes=1_000, scratch_bytes=SCRATCH)
    assert feed(assembler, stream, cuts) == payloads
    assert not assembler.buffered


def test_a_frame_larger_than_the_scratch_buffer_is_received_into_its_own() -> None:
    assembler = FrameAssembler(max_frame_bytes=10_000, scratch_bytes=SCRATCH)
    payload = bytes(range(256)) * 20
    stream = struct.pack(">i", len(payload)) + payload
    feed(assembler, stream[:SCRATCH], [SCRATCH])
    # Once its size is known the rest goes straight into the frame's buffer.
    assert len(assembler.get_buffer()) == len(payload) - (SCRATCH - 4)
    assert feed(assembler, stream[SCRATCH:], [1_000]) == [payload]


def frames_of(assembler: FrameAssembler, payloads: list[bytes]) -> list[bytearray | memoryview]:
    """Send ``payloads`` one read at a time and take the frames themselves, not copies."""
    frames = []
    for payload in payloads:
        stream = struct.pack(">i", len(payload)) + payload
        while stream:
            buffer = assembler.get_buffer()
            n = min(len(buffer), len(stream))
            buffer[:n], stream = stream[:n], stream[n:]
            del buffer  # as the event loop drops its view once the read is done
            assembler.buffer_updated(n)
            frame = assembler.next_frame()
            if frame is not None:
                frames.append(frame)
    return frames


def test_a_large_frame_buffer_is_used_again_once_no_view_of_the_last_is_left() -> None:
    assembler = FrameAssembler(max_frame_bytes=10_000, scratch_bytes=SCRATCH)
    (first,) = frames_of(assembler, [b"a" * 1_000])
    assert isinstance(first, memoryview)
    buffer = first.obj
    del first  # the request is done with
    (second,) = frames_of(assembler, [b"b" * 900])
    assert isinstance(second, memoryview)
    assert second.obj is buffer
    assert bytes(second) == b"b" * 900


def test_large_frames_still_viewed_keep_their_bytes() -> None:
    assembler = FrameAssembler(max_frame_bytes=10_000, scratch_bytes=SCRATCH)
    payloads = [bytes([i]) * (900 - 50 * i) for i in range(6)]  # each fits the last buffer
    kept = frames_of(assembler, payloads)  # as if every request's records were kept
    assert [bytes(frame) for frame in kept] == payloads


@pytest.mark.parametrize("size", [0, -5, 1_001])
def test_a_size_out_of_bounds_is_refused_before_anything_is_allocated(size: int) -> None:
    assembler = FrameAssembler(max_frame_bytes=1_000, scratch_bytes=SCRATCH)
    assembler.get_buffer()[:4] = struct.pack(">i", size)
    assembler.buffer_updated(4)
    with pytest.raises(WireDecodeError):
        assembler.next_frame()
