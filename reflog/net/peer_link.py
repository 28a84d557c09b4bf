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

from reflog.wire.apis import CONTROLLER_API_TABLE, Api, decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.headers import (
    DEFAULT_MAX_REQUEST_BYTES,
    RequestHeader,
    check_frame_size,
    frame_prefix,
)
from reflog.wire.schema import Request, Response

__all__ = ["PeerLink"]

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S = 0.05


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
        self._writer: asyncio.StreamWriter | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._waiting: dict[int, tuple[int, int, asyncio.Future[Response]]] = {}
        self._ids = itertools.count(1)
        self._next_attempt = 0.0
        self._backlog: list[bytes] = []  # frames queued while connecting

    # -- sending ------------------------------------------------------------------------
    def send(self, body: Request) -> None:
        """Send a one-way message; dropped if the peer cannot be reached right now."""
        self._write(self._frame(body, next(self._ids)))

    async def call(self, body: Request, timeout_s: float) -> Response:
        """Send a request and wait for its response (ConnectionError or TimeoutError if not)."""
        return await self.request(body, timeout_s)

    def request(self, body: Request, timeout_s: float) -> asyncio.Future[Response]:
        """Send a request; the future gets the response, or ConnectionError/TimeoutError.

        No task per request: a follower's fetches go through here one after another, and
        each task would cost a turn of the event loop on the replication path."""
        loop = asyncio.get_running_loop()
        correlation_id = next(self._ids)
        future: asyncio.Future[Response] = loop.create_future()
        self._waiting[correlation_id] = (body.API_KEY, body.MAX_VERSION, future)

        def expire() -> None:
            if not future.done():
                future.set_exception(TimeoutError(f"no answer from {self.host}:{self.port}"))

        timer = loop.call_later(timeout_s, expire)

        def done(_: asyncio.Future[Response]) -> None:
            timer.cancel()
            self._waiting.pop(correlation_id, None)

        future.add_done_callback(done)
        self._write(self._frame(body, correlation_id))
        return future

    async def close(self) -> None:
        for task in (self._connecting, self._reader_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._drop_connection()

    # -- the connection -----------------------------------------------------------------
    def _frame(self, body: Request, correlation_id: int) -> bytes:
        # The newest version we have: peers are reflog nodes of the same build (a follower's
        # Fetch needs v9+ to carry its leader epoch).
        header = RequestHeader(body.API_KEY, body.MAX_VERSION, correlation_id, self.client_id)
        data = chunks_to_bytes(encode_request(header, body))
        return frame_prefix(len(data)) + data

    def _write(self, frame: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(frame)
            return
        loop = asyncio.get_running_loop()
        if self._connecting is None and loop.time() >= self._next_attempt:
            self._backlog.append(frame)
            self._connecting = asyncio.create_task(self._connect())
        elif self._connecting is not None:
            self._backlog.append(frame)
        # else: within the reconnect backoff; the message is lost like a dropped packet

    async def _connect(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            log.debug("cannot reach %s:%d: %s", self.host, self.port, exc)
            self._next_attempt = asyncio.get_running_loop().time() + RECONNECT_BACKOFF_S
            self._backlog.clear()
            self._fail_waiting(ConnectionError(f"cannot reach {self.host}:{self.port}"))
            return
        finally:
            self._connecting = None
        self._writer = writer
        for frame in self._backlog:
            writer.write(frame)
        self._backlog.clear()
        self._reader_task = asyncio.create_task(self._read_responses(reader))

    async def _read_responses(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                size = check_frame_size(await reader.readexactly(4), self.max_frame_bytes)
                frame = await reader.readexactly(size)
                correlation_id = int.from_bytes(frame[:4], "big", signed=True)
                waiting = self._waiting.get(correlation_id)
                if waiting is None:
                    continue  # its caller gave up already
                api_key, version, future = waiting
                _, body = decode_response(api_key, version, frame, self.apis)
                if not future.done():
                    future.set_result(body)
        except (ConnectionError, asyncio.IncompleteReadError, WireDecodeError) as exc:
            log.debug("connection to %s:%d ended: %s", self.host, self.port, exc)
        finally:
            self._drop_connection()
            self._fail_waiting(ConnectionError(f"connection to {self.host}:{self.port} lost"))

    def _drop_connection(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._writer = None

    def _fail_waiting(self, error: Exception) -> None:
        for _, _, future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
