"""The proxy over real sockets, against a scripted upstream that records every byte it gets:
requests arrive unaltered (decoded, unknown, or bad), responses come back unaltered except the
broker addresses, and faults drop or delay what they name."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import pytest

from reflog.inspect import Faults, Inspector, WireEvent, proxy
from reflog.wire.apis import decode_response
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse, MetadataResponseBroker

from .test_conversation import PRODUCE, request_frame, response_frame

Answer = Callable[[bytes], bytes | None]


class ScriptedBroker:
    """Records each request frame; answers with ``answer(frame)`` (None: no answer)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.received: list[bytes] = []
        self.address: tuple[str, int] = ("", 0)

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = server.sockets[0].getsockname()[:2]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                frame = await read_frame(reader)
                self.received.append(frame)
                answer = self.answer(frame)
                if answer is not None:
                    writer.write(struct.pack(">i", len(answer)) + answer)
                    await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def correlation_id(frame: bytes) -> int:
    return int(struct.unpack_from(">i", frame, 4)[0])


async def through_inspector(
    frames: list[bytes],
    answer: Answer,
    replies: int,
    faults: Faults | None = None,
    *,
    arrive: int = 0,
) -> tuple[ScriptedBroker, Inspector, list[WireEvent], list[bytes]]:
    broker = ScriptedBroker(answer)
    await broker.start()
    events: list[WireEvent] = []
    inspector = Inspector(("127.0.0.1", 0), broker.address, events.append, faults=faults)
    host, port = await inspector.start()
    reader, writer = await asyncio.open_connection(host, port)
    for frame in frames:
        writer.write(struct.pack(">i", len(frame)) + frame)
    await writer.drain()
    got = [await asyncio.wait_for(read_frame(reader), 5) for _ in range(replies)]
    # Frames not answered may still be on their way to the broker.
    await until(lambda: len(broker.received) >= arrive)
    writer.close()
    await inspector.close()
    return broker, inspector, events, got


def test_requests_reach_the_broker_byte_for_byte_known_unknown_or_bad() -> None:
    metadata = request_frame(MetadataRequest(topics=None), 4, correlation_id=1)
    unknown = struct.pack(">hhih", 71, 0, 2, -1) + b"\x00\x07opaque"
    bad = request_frame(PRODUCE, 7, correlation_id=3)[:-5]
    raw_answer = struct.pack(">i", 2) + b"\x00\x00telemetry"

    def answer(frame: bytes) -> bytes | None:
        if correlation_id(frame) == 2:
            return raw_answer
        return None

    async def scenario() -> None:
        frames = [metadata, unknown, bad]
        broker, _, events, got = await through_inspector(frames, answer, 1, arrive=3)
        assert broker.received == [metadata, unknown, bad]
        assert got == [raw_answer]
        requests = [e for e in events if e.direction == "request"]
        assert [(e.api, e.decoded) for e in requests] == [
            ("Metadata", True),
            ("GetTelemetrySubscriptions", False),
            ("Produce", False),
        ]
        assert requests[2].problem.startswith("bad frame")

    asyncio.run(scenario())


def test_metadata_answers_point_clients_at_the_inspector_for_every_broker() -> None:
    request = request_frame(MetadataRequest(topics=None), 4, correlation_id=1)
    elsewhere = ("127.0.0.1", 1)  # a second broker, never dialled in this test
    routes: dict[str, tuple[str, int]] = {}

    def answer(frame: bytes) -> bytes:
        metadata = MetadataResponse(
            brokers=[
                MetadataResponseBroker(node_id=1, host=routes["self"][0], port=routes["self"][1]),
                MetadataResponseBroker(node_id=2, host=elsewhere[0], port=elsewhere[1]),
            ]
        )
        return response_frame(metadata, 3, 4, correlation_id(frame))

    async def scenario() -> None:
        broker = ScriptedBroker(answer)
        await broker.start()
        routes["self"] = broker.address
        events: list[WireEvent] = []
        inspector = Inspector(("127.0.0.1", 0), broker.address, events.append)
        host, port = await inspector.start()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(struct.pack(">i", len(request)) + request)
        _, body = decode_response(3, 4, await asyncio.wait_for(read_frame(reader), 5))
        assert isinstance(body, MetadataResponse)
        addresses = {b.node_id: (b.host, b.port) for b in body.brokers}
        assert addresses[1] == (host, port)  # the bootstrap listener stands for the upstream
        assert addresses[2] == inspector.routes[elsewhere] != elsewhere  # its own listener
        [response] = [e for e in events if e.direction == "response"]
        assert response.fault.startswith("rewrote") and "127.0.0.1:1 →" in response.fault
        writer.close()
        await inspector.close()

    asyncio.run(scenario())


def test_a_dropped_request_never_reaches_the_broker_and_the_next_one_does() -> None:
    first = request_frame(MetadataRequest(topics=None), 4, correlation_id=1)
    second = request_frame(MetadataRequest(topics=None), 4, correlation_id=2)

    def answer(frame: bytes) -> bytes:
        return response_frame(MetadataResponse(), 3, 4, correlation_id(frame))

    async def scenario() -> None:
        faults = Faults(drop={3: 1})
        broker, _, events, got = await through_inspector([first, second], answer, 1, faults)
        assert broker.received == [second]
        assert [correlation_id(b"\x00\x00\x00\x00" + g) for g in got] == [2]
        assert [(e.correlation_id, e.fault) for e in events if e.direction == "request"] == [
            (1, "dropped"),
            (2, ""),
        ]

    asyncio.run(scenario())


def test_a_delayed_request_is_answered_no_sooner_than_the_delay() -> None:
    request = request_frame(MetadataRequest(topics=None), 4, correlation_id=1)

    def answer(frame: bytes) -> bytes:
        return response_frame(MetadataResponse(), 3, 4, correlation_id(frame))

    async def scenario() -> None:
        faults = Faults(delay_ms=200)
        _, _, events, _ = await through_inspector([request], answer, 1, faults)
        request_event, response_event = events
        assert request_event.fault == "delayed 200 ms"
        assert response_event.rtt_ms is not None and response_event.rtt_ms >= 200

    asyncio.run(scenario())


def test_a_frame_size_out_of_bounds_is_reported_and_the_connection_closed() -> None:
    async def scenario() -> None:
        broker = ScriptedBroker(lambda frame: None)
        await broker.start()
        events: list[WireEvent] = []
        inspector = Inspector(("127.0.0.1", 0), broker.address, events.append, max_frame_bytes=1000)
        host, port = await inspector.start()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(struct.pack(">i", 1_000_000) + b"x" * 10)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the inspector
        assert broker.received == []
        [event] = events
        assert "outside 1..1000" in event.problem
        await inspector.close()

    asyncio.run(scenario())


def test_a_broker_that_cannot_be_reached_is_reported_and_the_client_let_go() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        gone = server.sockets[0].getsockname()[:2]
        server.close()
        await server.wait_closed()  # nothing listens there now
        events: list[WireEvent] = []
        inspector = Inspector(("127.0.0.1", 0), gone, events.append)
        host, port = await inspector.start()
        reader, writer = await asyncio.open_connection(host, port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        [event] = events
        assert event.problem.startswith(f"cannot reach the broker at {gone[0]}:{gone[1]}")
        writer.close()
        await inspector.close()

    asyncio.run(scenario())


def test_requests_left_unanswered_past_the_bound_close_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(proxy, "MAX_IN_FLIGHT", 3)
    frames = [request_frame(MetadataRequest(topics=None), 4, correlation_id=i) for i in range(5)]

    async def scenario() -> None:
        broker = ScriptedBroker(lambda frame: None)  # never answers
        await broker.start()
        events: list[WireEvent] = []
        inspector = Inspector(("127.0.0.1", 0), broker.address, events.append)
        host, port = await inspector.start()
        reader, writer = await asyncio.open_connection(host, port)
        for frame in frames:
            writer.write(struct.pack(">i", len(frame)) + frame)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        await until(lambda: len(broker.received) == 3)
        assert "more than 3 requests unanswered" in events[-1].problem
        writer.close()
        await inspector.close()

    asyncio.run(scenario())
