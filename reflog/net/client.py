"""Run a pure client core (producer, consumer, admin) over real TCP sockets.

The driver does only I/O: it opens the connections the core asks for, frames
and writes its requests, reads and decodes the responses it is waiting for,
and wakes the core at its next deadline. Every decision stays in the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable, Coroutine

from reflog.client.actions import ClientAction, Connect, Disconnect, Send
from reflog.client.core import ClientCore
from reflog.wire.apis import decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.headers import DEFAULT_MAX_REQUEST_BYTES, check_frame_size

__all__ = ["ClientRunner", "now_ms", "parse_bootstrap"]


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_bootstrap(servers: str) -> list[tuple[str, int]]:
    """``"host:port,host:port"`` → ``[(host, port), ...]``; ValueError if malformed.

    The port must be 1..65535, checked here: a larger one would fail only later, deep in
    the socket layer (OverflowError in a background task), and 0 means "any port" to the
    OS, which is no broker's address."""
    result = []
    for item in servers.split(","):
        host, sep, port = item.strip().rpartition(":")
        # isascii: str.isdigit() also accepts digits such as "²", which int() refuses.
        if not sep or not host or not (port.isascii() and port.isdigit()):
            raise ValueError(f"bootstrap server must look like HOST:PORT, got {item.strip()!r}")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"bootstrap server port must be 1..65535, got {item.strip()!r}")
        result.append((host, int(port)))
    return result


class ClientRunner:
    def __init__(
        self, core: ClientCore, max_response_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    ) -> None:
        self.core = core
        self.max_response_bytes = max_response_bytes
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.connect_errors: dict[int, str] = {}

    async def run_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Drive the core until ``done()`` holds; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._wake.clear()
            for action in self.core.tick(now_ms()):
                self._execute(action)
            if done():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            next_ms = self.core.next_deadline_ms()
            wait = (
                remaining
                if next_ms is None
                else max(0.0, min(remaining, (next_ms - now_ms()) / 1000))
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    def _execute(self, action: ClientAction) -> None:
        if isinstance(action, Connect):
            self._spawn(self._connection(action))
        elif isinstance(action, Send):
            writer = self._writers.get(action.node_id)
            if writer is None:
                self.core.network.disconnected(action.node_id, now_ms())
                return
            body = chunks_to_bytes(encode_request(action.header, action.body))
            writer.write(struct.pack(">i", len(body)) + body)
        elif isinstance(action, Disconnect):
            writer = self._writers.pop(action.node_id, None)
            if writer is not None:
                writer.close()

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, action: Connect) -> None:
        node_id = action.node_id
        network = self.core.network
        try:
            reader, writer = await asyncio.open_connection(action.host, action.port)
        except OSError as exc:
            self.connect_errors[node_id] = (
                f"cannot connect to {action.host}:{action.port}: {exc.strerror or exc}"
            )
            network.disconnected(node_id, now_ms())
            self._wake.set()
            return
        except asyncio.CancelledError:
            # Closed while connecting: the core would otherwise wait for this connection
            # for ever, and so would every request to the node on the next run.
            network.disconnected(node_id, now_ms())
            raise
        self._writers[node_id] = writer
        network.connected(node_id, now_ms())
        self._wake.set()
        try:
            while True:
                size = check_frame_size(await reader.readexactly(4), self.max_response_bytes)
                frame = await reader.readexactly(size)
                correlation_id = struct.unpack_from(">i", frame)[0]
                expected = network.expected(node_id, correlation_id)
                if expected is None:
                    raise WireDecodeError(f"unexpected correlation id {correlation_id}")
                _, body = decode_response(expected[0], expected[1], frame)
                network.response(node_id, correlation_id, body, now_ms())
                self._wake.set()
        except (OSError, asyncio.IncompleteReadError, WireDecodeError):
            pass
        finally:
            self._writers.pop(node_id, None)
            writer.close()
            network.disconnected(node_id, now_ms())
            self._wake.set()
