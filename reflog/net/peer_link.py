"""One outbound connection from a node to another, in Kafka's framing.

Controllers use it to send each other Raft messages (one-way) and brokers to
ask controllers things (request/response, matched by correlation id, so the
answers may come back in any order). The connection is opened on first use and
again after it breaks; a one-way message that finds no connection is dropped,
which Raft, built for lossy networks, shrugs off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from reflog.net.framing import Frame, FrameAssembler
from reflog.wire.apis import CONTROLLER_API_TABLE, Api, decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.headers import DEFAULT_MAX_REQUEST_BYTES, RequestHeader, frame_prefix
from reflog.wire.schema import Request, Response

__all__ = ["PeerLink"]

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S = 0.05


Answer = Callable[[Response | Exception], None]


@dataclass
class _Pending:
    """A request sent and not answered yet."""

    api_key: int
    version: int
    on_answer: Answer
    timer: asyncio.TimerHandle
    # The connection it went out on; None while it waits for a connection being made.
    connection: _LinkProtocol | None


class PeerLink:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        apis: dict[int, Api] = CONTROLLER_API_TABLE,
        max_frame_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.apis = apis
        self.max_frame_bytes = max_frame_bytes
        self._connection: _LinkProtocol | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._waiting: dict[int, _Pending] = {}  # by correlation id
        self._ids = itertools.count(1)
        self._next_attempt = 0.0
        self._backlog: list[bytes] = []  # frames queued while connecting

    # -- sending ------------------------------------------------------------------------
    def send(self, body: Request) -> None:
        """Send a one-way message; dropped if the peer cannot be reached right now."""
        self._write(self._frame(body, next(self._ids)))

    async def call(self, body: Request, timeout_s: float) -> Response:
        """Send a request and wait for its response (ConnectionError or TimeoutError if not)."""
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def answered(result: Response | Exception) -> None:
            if future.done():
                return
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

        self.request(body, timeout_s, answered)
        return await future

    def request(self, body: Request, timeout_s: float, on_answer: Answer) -> None:
        """Send a request; ``on_answer`` gets the response, or a ConnectionError or
        TimeoutError, exactly once.

        It is called from the read callback that completed the response, with no turn of
        the event loop in between (no task, no future): a follower's next fetch leaves as
        soon as the answer to its last one is in."""
        correlation_id = next(self._ids)
        frame = self._frame(body, correlation_id)  # a body that cannot be encoded raises here

        def expire() -> None:
            pending = self._waiting.pop(correlation_id, None)
            if pending is not None:
                self._answer(pending, TimeoutError(f"no answer from {self.host}:{self.port}"))

        timer = asyncio.get_running_loop().call_later(timeout_s, expire)
        connection = self._write(frame)
        self._waiting[correlation_id] = _Pending(
            body.API_KEY, body.MAX_VERSION, on_answer, timer, connection
        )

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(BaseException):
                await self._connecting
        self._backlog.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._fail(lambda pending: True, ConnectionError("link closed"))

    # -- the connection -----------------------------------------------------------------
    def _frame(self, body: Request, correlation_id: int) -> bytes:
        # The newest version we have: peers are reflog nodes of the same build (a follower's
        # Fetch needs v9+ to carry its leader epoch).
        header = RequestHeader(body.API_KEY, body.MAX_VERSION, correlation_id, self.client_id)
        data = chunks_to_bytes(encode_request(header, body))
        return frame_prefix(len(data)) + data

    def _write(self, frame: bytes) -> _LinkProtocol | None:
        """Send now, or queue for the connection being made; the connection it went on."""
        if self._connection is not None and self._connection.write(frame):
            return self._connection
        loop = asyncio.get_running_loop()
        if self._connecting is None and loop.time() >= self._next_attempt:
            self._backlog.append(frame)
            self._connecting = asyncio.create_task(self._connect())
        elif self._connecting is not None:
            self._backlog.append(frame)
        # else: within the reconnect backoff; the message is lost like a dropped packet,
        # and a request waits for its timeout
        return None

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                lambda: _LinkProtocol(self), self.host, self.port
            )
        except OSError as exc:
            log.debug("cannot reach %s:%d: %s", self.host, self.port, exc)
            self._next_attempt = loop.time() + RECONNECT_BACKOFF_S
            self._backlog.clear()
            self._fail(
                lambda pending: pending.connection is None,
                ConnectionError(f"cannot reach {self.host}:{self.port}"),
            )
            return
        finally:
            self._connecting = None
        self._connection = connection
        for pending in self._waiting.values():
            if pending.connection is None:
                pending.connection = connection
        for frame in self._backlog:
            connection.write(frame)
        self._backlog.clear()

    def _on_frame(self, frame: Frame) -> None:
        """One response frame: straight to whoever waits for it."""
        correlation_id = int.from_bytes(frame[:4], "big", signed=True)
        pending = self._waiting.pop(correlation_id, None)
        if pending is None:
            return  # its caller gave up already
        try:
            _, body = decode_response(pending.api_key, pending.version, frame, self.apis)
        except WireDecodeError:
            self._answer(pending, ConnectionError(f"malformed answer from {self.host}"))
            raise
        self._answer(pending, body)

    def _on_lost(self, connection: _LinkProtocol, reason: str) -> None:
        """A connection ended: what went out on it will not be answered."""
        log.debug("connection to %s:%d ended: %s", self.host, self.port, reason)
        if self._connection is connection:
            self._connection = None
        self._fail(
            lambda pending: pending.connection is connection,
            ConnectionError(f"connection to {self.host}:{self.port} lost"),
        )

    def _fail(self, which: Callable[[_Pending], bool], error: Exception) -> None:
        failed = [cid for cid, pending in self._waiting.items() if which(pending)]
        for cid in failed:
            pending = self._waiting.pop(cid, None)
            if pending is not None:  # an earlier answer's callback may have taken it
                self._answer(pending, error)

    def _answer(self, pending: _Pending, result: Response | Exception) -> None:
        pending.timer.cancel()
        try:
            pending.on_answer(result)
        except Exception:
            # One caller's bug must not cost the others their answers.
            log.exception("a callback for an answer from %s:%d failed", self.host, self.port)


class _LinkProtocol(asyncio.BufferedProtocol):
    """One connection of a link: reads the peer's response frames and hands each to the
    link as it completes."""

    def __init__(self, link: PeerLink) -> None:
        self.link = link
        self.frames = FrameAssembler(link.max_frame_bytes)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def write(self, frame: bytes) -> bool:
        """Send a frame on this connection; False if it is closing."""
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(frame)
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()  # connection_lost fails what still waits

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.frames.get_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        self.frames.buffer_updated(nbytes)
        try:
            while (frame := self.frames.next_frame()) is not None:
                self.link._on_frame(frame)
                if self.transport is None or self.transport.is_closing():
                    return
        except WireDecodeError as exc:
            log.warning("closing the connection to %s: %s", self.link.host, exc)
            self.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._on_lost(self, str(exc) if exc else "closed")
