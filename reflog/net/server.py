"""Serve a :class:`~reflog.broker.Broker` core to real Kafka clients over TCP.

The runtime's whole job: read size-prefixed frames, decode them, hand them to
the core with the time, and write back whatever the core answers — record
slices with ``os.sendfile`` (through ``loop.sendfile``), so record bytes go
from the page cache to the socket without entering Python.

As in Kafka, a connection is *muted* while one of its requests is in flight:
its next request starts only after the current one completed. That keeps
responses in request order, even when a long-poll Fetch waits for data.
Bad input costs only the connection that sent it.

Reading is done by an :class:`asyncio.BufferedProtocol` (``recv_into``, no
buffer allocated per read). The records of a Produce are decoded as views of
the request's own buffer, and a large request is received straight into it, so
the bytes a producer sends are copied once into Python memory and once into the
page cache, as a plain socket-to-file copy would.

A response goes out at once when its connection has nothing else waiting: record
slices by ``os.sendfile`` with the header in the same TCP segment; the rest of
what the socket cannot take is left to a writer task (``loop.sendfile``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reflog.broker import Action, Broker, Forward, Respond, SendToBroker, ToController
from reflog.net.framing import Frame, FrameAssembler
from reflog.records.file_slice import FileSlice
from reflog.wire.apis import ApiKey, decode_request, encode_response
from reflog.wire.codec import Chunk, chunks_size
from reflog.wire.errors import UnsupportedApiError, WireDecodeError
from reflog.wire.headers import RequestHeader, frame_prefix
from reflog.wire.messages.fetch import FetchRequest

__all__ = ["BrokerServer", "SendStats"]

log = logging.getLogger(__name__)


class _ShortSlice(Exception):
    """A record slice's file ended before the slice did."""


# The size prefix already promised those bytes: the client would lose its place in the
# stream, so, as Kafka does, the connection is closed instead.
_SHORT_SLICE = "the log was truncated under a read being sent; closing to keep the stream framed"


def _framed(action: Respond) -> list[Chunk]:
    """The response as it goes on the wire, size prefix first (none for acks=0)."""
    if action.response is None:
        return []
    chunks = encode_response(action.header, action.response)
    return [frame_prefix(chunks_size(chunks)), *chunks]


def _joined(chunks: list[Chunk]) -> list[Chunk]:
    """The same chunks with each run of consecutive bytes joined into one."""
    joined: list[Chunk] = []
    run: list[bytes] = []
    for chunk in chunks:
        if isinstance(chunk, FileSlice):
            if run:
                joined.append(b"".join(run))
                run = []
            joined.append(chunk)
        else:
            run.append(chunk)
    if run:
        joined.append(b"".join(run))
    return joined


def _cork(sock: socket.socket, on: bool) -> None:
    """Hold (or release) partial segments: a header and the records after it leave together.
    Linux only; elsewhere the two just go as separate segments."""
    if hasattr(socket, "TCP_CORK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))


@dataclass
class SendStats:
    """Record bytes this server sent, by how and to whom: by ``os.sendfile`` to consumers
    and to followers (replica fetches), or read into Python and written (zero copy off)."""

    consumer_sendfile_bytes: int = 0
    follower_sendfile_bytes: int = 0
    copied_bytes: int = 0


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
    # Framed responses (size prefix, header, record slices) waiting for the write loop.
    outbox: asyncio.Queue[list[Chunk] | None] = field(default_factory=asyncio.Queue)
    closed: bool = False
    writing: bool = False  # the writer task is sending a response
    # The request in flight is a follower's fetch (one request at a time: its answer is
    # the one being sent), so its sendfile bytes count as replication.
    follower_fetch: bool = False

    def finish_request(self) -> None:
        """The request in flight is answered: unmute, and read the next frame."""
        self.request_done.set()
        if not self.closed:
            self.protocol.unmute()


class _RequestProtocol(asyncio.streams.FlowControlMixin, asyncio.BufferedProtocol):
    """Hands a connection's frames to the server one request at a time.

    While a request is in flight the connection is muted: the next frame waits in the
    :class:`FrameAssembler`, and reading pauses only when that is full, so a client is
    held back by TCP without a pause and resume per request. Writing goes through a
    StreamWriter, whose drain() this protocol's flow control serves.
    """

    def __init__(self, server: BrokerServer) -> None:
        super().__init__()
        self.server = server
        self.frames = FrameAssembler(server.broker.config.socket_request_max_bytes)
        self.connection: _Connection | None = None
        self.transport: asyncio.Transport | None = None
        self._in_flight = False
        self._writing_paused = False
        self._eof = False  # the client has sent all it will send

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        loop = asyncio.get_running_loop()
        writer = asyncio.StreamWriter(transport, self, None, loop)
        self.connection = self.server._accept(self, writer)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.frames.get_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        self.frames.buffer_updated(nbytes)
        self._next_frames()

    def _next_frames(self) -> None:
        """Start the buffered requests, one after another, while none is in flight."""
        c = self.connection
        assert c is not None
        while not (self._in_flight or self._writing_paused or c.closed):
            try:
                frame = self.frames.next_frame()
            except WireDecodeError as exc:
                self.server._close(c, str(exc))
                return
            if frame is None:
                break
            self._in_flight = True
            c.request_done.clear()
            self.server._dispatch(c, frame)
            del frame  # no view of it left here: its buffer may take the next large frame
        if self._eof and not (self._in_flight or self._writing_paused or c.closed):
            self.server._close(c, None)  # everything it sent is answered (or was cut short)
            return
        self._set_reading(not self.frames.full)

    def _set_reading(self, reading: bool) -> None:
        if self.transport is None or self.transport.is_closing() or self._eof:
            return
        if reading and not self.transport.is_reading():
            self.transport.resume_reading()
        elif not reading and self.transport.is_reading():
            self.transport.pause_reading()

    def unmute(self) -> None:
        """The request in flight is answered: the next one may start."""
        self._in_flight = False
        if self.frames.buffered or self._eof:
            # Not from here: a request answered at once would start the next one
            # inside this call, and so on down the stack.
            asyncio.get_running_loop().call_soon(self._next_frames)
        elif not self._writing_paused:
            self._set_reading(True)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._writing_paused = True  # a client slow to read its answers gets no more

    def resume_writing(self) -> None:
        super().resume_writing()
        self._writing_paused = False
        if not self._in_flight:
            self._next_frames()

    def eof_received(self) -> bool:
        """The client is done sending. As Kafka does, what it sent is still answered;
        the connection closes after that."""
        self._eof = True
        if not (self._in_flight or self._writing_paused or self.frames.buffered):
            return False  # nothing to answer: close now
        if not (self._in_flight or self._writing_paused):
            asyncio.get_running_loop().call_soon(self._next_frames)  # the last whole frames
        return True  # keep the transport open for the answers

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
        self.stats = SendStats()
        # In a cluster: takes what goes to other nodes (reflog.net.cluster_broker).
        self.on_cluster_action: Callable[[Forward | SendToBroker | ToController], None] | None = (
            None
        )

    @property
    def connection_count(self) -> int:
        """Client (and follower) connections open now."""
        return len(self._connections)

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
        closing = list(self._connections.values())
        for connection in closing:
            self._close(connection, "broker shutting down")
        if self._tasks:
            _, unfinished = await asyncio.wait(self._tasks, timeout=5)
            if unfinished:  # clients that do not read their answers: drop them
                for connection in closing:
                    connection.writer.transport.abort()
                await asyncio.wait(unfinished, timeout=1)
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

    def _dispatch(self, c: _Connection, frame: Frame) -> bool:
        """Decode one frame and give it to the core; False if the connection was closed."""
        try:
            # Records stay views of the frame: it is this request's alone.
            decoded = decode_request(frame, borrow_records=True)
        except UnsupportedApiError as exc:
            if exc.api_key == ApiKey.API_VERSIONS:
                header = RequestHeader(exc.api_key, exc.api_version, exc.correlation_id)
                self._deliver([self.broker.unsupported_api_versions(c.conn_id, header)])
                return True
            self._close(c, str(exc))
            return False
        except WireDecodeError as exc:
            self._close(c, f"malformed request: {exc}")
            return False
        body = decoded.body
        c.follower_fetch = isinstance(body, FetchRequest) and body.replica_id >= 0
        try:
            actions = self.broker.handle(c.conn_id, decoded.header, body, now_ms())
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
            chunks = _framed(action)
            if target.outbox.empty() and not target.writing:
                chunks = self._send_now(target, chunks)
                if not chunks:
                    target.finish_request()
                    continue
            target.outbox.put_nowait(chunks)
        self._schedule_tick()

    def _send_now(self, c: _Connection, chunks: list[Chunk]) -> list[Chunk]:
        """Fast path, on a connection with nothing waiting to be written: send at once,
        without a task switch; return what is left for the write loop (usually nothing).

        Bytes go to the transport. Record slices go by ``os.sendfile`` from here, corked
        (TCP_CORK) with the header before them, so the reader gets one segment and
        wakes once; only what the socket cannot take right now waits for the write loop.
        """
        if not any(isinstance(chunk, FileSlice) for chunk in chunks):
            c.writer.writelines(chunks)  # type: ignore[arg-type]
            return []
        transport = c.writer.transport
        if not self.zero_copy or transport.get_write_buffer_size() or transport.is_closing():
            return chunks
        chunks = _joined(chunks)  # one write per run of bytes
        sock = transport.get_extra_info("socket")
        fd = sock.fileno()
        _cork(sock, True)
        try:
            for i, chunk in enumerate(chunks):
                if isinstance(chunk, FileSlice):
                    sent = os.sendfile(fd, chunk.file.fileno(), chunk.position, chunk.length)
                    if sent == 0:
                        raise _ShortSlice()
                    self._count_sendfile(c, sent)
                    if sent < chunk.length:
                        rest = FileSlice(chunk.file, chunk.position + sent, chunk.length - sent)
                        return [rest, *chunks[i + 1 :]]
                else:
                    sent = os.write(fd, chunk)
                    if sent < len(chunk):
                        return [chunk[sent:], *chunks[i + 1 :]]
        except BlockingIOError:
            return chunks[i:]  # nothing of this chunk went
        except _ShortSlice:
            self._close(c, _SHORT_SLICE)
            return []
        except OSError as exc:
            self._close(c, None if isinstance(exc, ConnectionError) else f"write failed: {exc}")
            return []
        finally:
            _cork(sock, False)
        return []

    def _schedule_tick(self) -> None:
        """One timer at the core's next deadline: long polls expire without polling.

        A timer already set for earlier stays: most deadlines only move later (each
        answered fetch, each follower that catches up), and a timer that fires early
        just ticks the core, which finds nothing due and sets the timer again. That
        spares a cancel and a new timer on nearly every request."""
        deadline = self.broker.next_deadline_ms()
        if self._timer_at is not None and self._timer_at <= deadline:
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
                chunks = await c.outbox.get()
                if chunks is None:
                    break
                c.writing = True
                for chunk in chunks:
                    if isinstance(chunk, FileSlice) and not self.zero_copy:
                        c.writer.write(chunk.read())
                        self.stats.copied_bytes += chunk.length
                    elif isinstance(chunk, FileSlice):
                        await c.writer.drain()
                        if c.writer.transport.is_closing():
                            raise ConnectionError("closed while sending")  # sendfile would raise
                        sent = await loop.sendfile(
                            c.writer.transport, chunk.file, chunk.position, chunk.length
                        )
                        self._count_sendfile(c, sent)
                        if sent < chunk.length:
                            raise _ShortSlice()
                    else:
                        c.writer.write(chunk)
                await c.writer.drain()
                c.writing = False
                c.finish_request()
        except ConnectionError:
            self._close(c, None)  # the client went away mid-response: nothing to report
        except _ShortSlice:
            self._close(c, _SHORT_SLICE)
        except OSError as exc:
            self._close(c, f"write failed: {exc}")
        finally:
            c.request_done.set()

    def _count_sendfile(self, c: _Connection, sent: int) -> None:
        if c.follower_fetch:
            self.stats.follower_sendfile_bytes += sent
        else:
            self.stats.consumer_sendfile_bytes += sent

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
