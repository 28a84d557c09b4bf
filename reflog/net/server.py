"""Serve a :class:`~reflog.broker.Broker` core to real Kafka clients over TCP.

The runtime's whole job: read size-prefixed frames, decode them, hand them to
the core with the time, and write back whatever the core answers — record
slices with ``os.sendfile`` (through ``loop.sendfile``), so record bytes go
from the page cache to the socket without entering Python.

As in Kafka, a connection is *muted* while one of its requests is in flight:
its next frame is read only after the current request completed. That keeps
responses in request order, even when a long-poll Fetch waits for data.
Bad input costs only the connection that sent it.

Reading is done by an :class:`asyncio.BufferedProtocol`: the kernel copies each
frame straight into a buffer of its own (``recv_into``), and the records of a
Produce are decoded as views of that buffer, so the bytes a producer sends are
copied once into Python memory and once into the page cache, as a plain
socket-to-file copy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reflog.broker import Action, Broker, Forward, Respond, SendToBroker, ToController
from reflog.records.file_slice import FileSlice
from reflog.wire.apis import decode_request, encode_response
from reflog.wire.codec import chunks_size
from reflog.wire.errors import UnsupportedApiError, WireDecodeError
from reflog.wire.headers import RequestHeader, check_frame_size, frame_prefix

__all__ = ["BrokerServer"]

log = logging.getLogger(__name__)

_API_VERSIONS = 18


def now_ms() -> int:
    # Wall-clock milliseconds, as Kafka compares record timestamps with it.
    return int(time.time() * 1000)


@dataclass
class _Connection:
    conn_id: int
    peer: str
    protocol: _RequestProtocol
    writer: asyncio.StreamWriter
    # Set when the request in flight has completed, so the next frame may be read.
    request_done: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: asyncio.Queue[Respond | None] = field(default_factory=asyncio.Queue)
    closed: bool = False
    writing: bool = False  # the writer task is sending a response

    def finish_request(self) -> None:
        """The request in flight is answered: unmute, and read the next frame."""
        self.request_done.set()
        if not self.closed:
            self.protocol.unmute()


class _RequestProtocol(asyncio.streams.FlowControlMixin, asyncio.BufferedProtocol):
    """Reads size-prefixed frames into buffers of their own and hands each to the server.

    ``get_buffer`` always offers exactly what is missing of the current prefix or frame,
    so no byte of a following request is read early; after a frame the transport is
    paused (muted) until the request completes. Writing goes through a StreamWriter,
    whose drain() this protocol's flow control serves.
    """

    def __init__(self, server: BrokerServer) -> None:
        super().__init__()
        self.server = server
        self.max_bytes = server.broker.config.socket_request_max_bytes
        self.connection: _Connection | None = None
        self.transport: asyncio.Transport | None = None
        self._prefix = bytearray(4)
        self._frame: bytearray | None = None
        self._got = 0
        self._muted = False
        self._writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        loop = asyncio.get_running_loop()
        writer = asyncio.StreamWriter(transport, self, None, loop)
        self.connection = self.server._accept(self, writer)

    def get_buffer(self, sizehint: int) -> memoryview:
        target = self._prefix if self._frame is None else self._frame
        return memoryview(target)[self._got :]

    def buffer_updated(self, nbytes: int) -> None:
        c = self.connection
        assert c is not None
        self._got += nbytes
        if self._frame is None:
            if self._got < 4:
                return
            try:
                size = check_frame_size(bytes(self._prefix), self.max_bytes)
            except WireDecodeError as exc:
                self.server._close(c, str(exc))
                return
            self._frame, self._got = bytearray(size), 0
            if size > 0:
                return
        if self._got < len(self._frame):
            return
        frame, self._frame, self._got = self._frame, None, 0
        self._muted = True
        assert self.transport is not None
        self.transport.pause_reading()
        c.request_done.clear()
        self.server._dispatch(c, frame)

    def unmute(self) -> None:
        if self._writing_paused:
            return  # a client slow to read its answers: wait until they drain
        if self._muted and self.transport is not None and not self.transport.is_closing():
            self._muted = False
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._writing_paused = True

    def resume_writing(self) -> None:
        super().resume_writing()
        self._writing_paused = False
        c = self.connection
        if c is not None and c.request_done.is_set():
            self.unmute()

    def eof_received(self) -> bool:
        return False  # the client is done sending: close

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.connection is not None:
            self.server._close(self.connection, None)


class BrokerServer:
    """An asyncio TCP server around one broker core (127.0.0.1 unless told otherwise)."""

    def __init__(
        self, broker: Broker, host: str = "127.0.0.1", port: int = 9092, *, zero_copy: bool = True
    ) -> None:
        self.broker = broker
        # False sends record slices the ordinary way (read into Python, then write), to
        # compare with sendfile; only the zero-copy notebook turns it off.
        self.zero_copy = zero_copy
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[int, _Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self.requests_handled = 0
        # In a cluster: takes what goes to other nodes (reflog.net.cluster_broker).
        self.on_cluster_action: Callable[[Forward | SendToBroker | ToController], None] | None = (
            None
        )

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, serve: bool = True) -> int:
        """Bind and (unless ``serve`` is False) start listening; return the bound port
        (useful with port 0). A broker joining a cluster binds first, to register its
        port, and serves once the controller has let it in (:meth:`serve`)."""
        # A large reader limit: the transport is paused only past 2 × limit buffered bytes,
        # so 64 KiB produce batches stream in without a pause/resume per request.
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _RequestProtocol(self), self.host, self.port, start_serving=serve
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        return self.port

    async def serve(self) -> None:
        assert self._server is not None
        await self._server.start_serving()

    async def stop(self) -> None:
        """Stop accepting, close every connection, and close the broker's logs."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            self._close(connection, "broker shutting down")
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._timer is not None:
            self._timer.cancel()
        self.broker.close()

    # -- reading requests -------------------------------------------------------------
    def _accept(self, protocol: _RequestProtocol, writer: asyncio.StreamWriter) -> _Connection:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        connection = _Connection(next(self._ids), peer, protocol, writer)
        self._connections[connection.conn_id] = connection
        writer_task = asyncio.create_task(self._write_loop(connection))
        self._tasks.add(writer_task)
        writer_task.add_done_callback(self._tasks.discard)
        return connection

    def _dispatch(self, c: _Connection, frame: bytearray) -> bool:
        """Decode one frame and give it to the core; False if the connection was closed."""
        try:
            # Records stay views of the frame: it is this request's alone.
            decoded = decode_request(frame, borrow_records=True)
        except UnsupportedApiError as exc:
            if exc.api_key == _API_VERSIONS:
                header = RequestHeader(exc.api_key, exc.api_version, exc.correlation_id)
                self._deliver([self.broker.unsupported_api_versions(c.conn_id, header)])
                return True
            self._close(c, str(exc))
            return False
        except WireDecodeError as exc:
            self._close(c, f"malformed request: {exc}")
            return False
        try:
            actions = self.broker.handle(c.conn_id, decoded.header, decoded.body, now_ms())
        except Exception:
            log.exception("broker failed on a request from %s; closing that connection", c.peer)
            self._close(c, None)
            return False
        self.requests_handled += 1
        self._deliver(actions)
        return True

    # -- completing requests ----------------------------------------------------------
    def deliver(self, actions: list[Action]) -> None:
        """Carry out the core's actions: responses to connections, forwards to the controller."""
        self._deliver(actions)

    def _deliver(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Forward | SendToBroker | ToController):
                assert self.on_cluster_action is not None, "only a broker in a cluster sends these"
                self.on_cluster_action(action)
                continue
            target = self._connections.get(action.conn)
            if target is None or target.closed:
                continue
            if target.outbox.empty() and not target.writing and self._write_now(target, action):
                continue
            target.outbox.put_nowait(action)
        self._schedule_tick()

    def _write_now(self, c: _Connection, action: Respond) -> bool:
        """Fast path: a response with no file slice, on an idle connection, is written at
        once (no task switch); True if it was."""
        if action.response is None:
            c.finish_request()
            return True
        chunks = encode_response(action.header, action.response)
        if any(isinstance(chunk, FileSlice) for chunk in chunks):
            return False  # record bytes go by sendfile, from the write loop
        c.writer.write(frame_prefix(chunks_size(chunks)))
        c.writer.writelines(chunks)  # type: ignore[arg-type]
        c.finish_request()
        return True

    def _schedule_tick(self) -> None:
        """One timer at the core's next deadline: long polls expire without polling."""
        deadline = self.broker.next_deadline_ms()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(0.0, (deadline - now_ms()) / 1000)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._deliver(list(self.broker.tick(now_ms())))

    async def _write_loop(self, c: _Connection) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                action = await c.outbox.get()
                if action is None:
                    break
                c.writing = True
                if action.response is not None:
                    chunks = encode_response(action.header, action.response)
                    c.writer.write(frame_prefix(chunks_size(chunks)))
                    for chunk in chunks:
                        if isinstance(chunk, FileSlice) and not self.zero_copy:
                            c.writer.write(chunk.read())
                        elif isinstance(chunk, FileSlice):
                            await c.writer.drain()
                            await loop.sendfile(
                                c.writer.transport,
                                chunk.file,
                                chunk.position,
                                chunk.length,
                            )
                        else:
                            c.writer.write(chunk)
                    await c.writer.drain()
                c.writing = False
                c.finish_request()
        except ConnectionError:
            self._close(c, None)  # the client went away mid-response: nothing to report
        except OSError as exc:
            self._close(c, f"write failed: {exc}")
        finally:
            c.request_done.set()

    def _close(self, c: _Connection, reason: str | None) -> None:
        if c.closed:
            return
        c.closed = True
        if reason:
            log.warning("closing connection from %s: %s", c.peer, reason)
        self._connections.pop(c.conn_id, None)
        self.broker.connection_closed(c.conn_id)
        c.outbox.put_nowait(None)
        c.request_done.set()
        with contextlib.suppress(Exception):
            c.writer.close()
