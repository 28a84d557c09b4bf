"""The inspector's network side: an asyncio proxy between Kafka clients and a Kafka broker.

One listener stands for the upstream (bootstrap) broker; every other broker address the
upstream names in its answers gets a listener of its own on the same host, created when first
seen (see :mod:`reflog.inspect.addresses`). Each client connection gets its own connection to
the broker it dialled, and two pumps: requests client → broker, responses broker → client.
Every frame is told to ``on_event`` as a :class:`WireEvent` and forwarded as it came, except:

* a request the faults drop is not forwarded; a request they delay is forwarded late;
* broker addresses in responses are rewritten to the inspector's listeners, and ApiVersions
  caps the versions of those address-bearing APIs to what reflog.wire decodes;
* a size prefix outside ``1..max_frame_bytes`` cannot be framed, so it is reported and both
  connections are closed (nothing is allocated for it).

Requests on one connection stay in order (a delay holds up those behind it), as Kafka's
per-connection ordering requires.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable

from reflog.inspect.addresses import Address, broker_addresses, cap_versions, rewrite_addresses
from reflog.inspect.conversation import (
    Conversation,
    Direction,
    ResponseSeen,
    WireEvent,
    encode_body,
)
from reflog.inspect.faults import Faults
from reflog.wire.apis import API_TABLE
from reflog.wire.errors import WireDecodeError
from reflog.wire.headers import DEFAULT_MAX_REQUEST_BYTES, check_frame_size, frame_prefix
from reflog.wire.messages.api_versions import ApiVersionsResponse

__all__ = ["MAX_IN_FLIGHT", "Inspector"]

# Requests the inspector remembers per connection while waiting for their answers: a bound, so
# a client pipelining to a broker that never answers cannot grow it without end.
MAX_IN_FLIGHT = 10_000


class Inspector:
    def __init__(
        self,
        listen: Address,
        upstream: Address,
        on_event: Callable[[WireEvent], None],
        *,
        faults: Faults | None = None,
        max_frame_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self.listen = listen
        self.upstream = upstream
        self.on_event = on_event
        self.faults = faults or Faults()
        self.max_frame_bytes = max_frame_bytes
        self.routes: dict[Address, Address] = {}  # broker address -> the inspector's listener
        self._servers: list[asyncio.Server] = []
        self._connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = time.monotonic()

    @property
    def address(self) -> Address:
        """Where clients connect: the listener standing for the upstream broker."""
        return self.routes[self.upstream]

    def now_ms(self) -> float:
        return (time.monotonic() - self._started) * 1000

    async def start(self) -> Address:
        await self._listen_for(self.upstream, self.listen)
        return self.address

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        connections = list(self._tasks)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    async def _listen_for(self, broker: Address, at: Address) -> Address:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await self._serve(broker, reader, writer)
            finally:
                self._tasks.discard(task)

        server = await asyncio.start_server(serve, at[0], at[1])
        self._servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        self.routes[broker] = (host, port)
        return host, port

    async def _route(self, broker: Address) -> None:
        if broker not in self.routes:
            await self._listen_for(broker, (self.listen[0], 0))

    # -- one client connection -----------------------------------------------------------
    async def _serve(
        self, broker: Address, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        self._connections += 1
        conversation = Conversation(self._connections)
        try:
            broker_r, broker_w = await asyncio.open_connection(*broker)
        except OSError as exc:
            why = f"cannot reach the broker at {broker[0]}:{broker[1]}: {exc.strerror or exc}"
            self.on_event(conversation.bad(0, self.now_ms(), "request", why))
            client_w.close()
            return
        pumps = [
            asyncio.create_task(self._requests(conversation, client_r, broker_w)),
            asyncio.create_task(self._responses(conversation, broker_r, client_w)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for w in (client_w, broker_w):
                w.close()
            for w in (client_w, broker_w):
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await w.wait_closed()

    async def _requests(
        self, conversation: Conversation, client: asyncio.StreamReader, broker: asyncio.StreamWriter
    ) -> None:
        while (frame := await self._read_frame(conversation, client, "request")) is not None:
            if len(conversation.in_flight) >= MAX_IN_FLIGHT:
                why = f"more than {MAX_IN_FLIGHT} requests unanswered; closing the connection"
                self.on_event(conversation.bad(len(frame), self.now_ms(), "request", why))
                return
            event = conversation.on_request(frame, self.now_ms())
            if event.api_key >= 0 and self.faults.take_drop(event.api_key):
                self.on_event(dataclasses.replace(event, fault="dropped"))
                continue
            delay = self.faults.delay_for(event.api_key)
            self.on_event(
                dataclasses.replace(event, fault=f"delayed {delay} ms") if delay else event
            )
            if delay:
                await asyncio.sleep(delay / 1000)
            conversation.forwarded(event)
            broker.write(frame_prefix(len(frame)) + frame)
            await broker.drain()

    async def _responses(
        self, conversation: Conversation, broker: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        while (frame := await self._read_frame(conversation, broker, "response")) is not None:
            seen = conversation.on_response(frame, self.now_ms())
            frame, fault = await self._rewrite(seen, frame)
            self.on_event(dataclasses.replace(seen.event, fault=fault) if fault else seen.event)
            client.write(frame_prefix(len(frame)) + frame)
            await client.drain()

    async def _rewrite(self, seen: ResponseSeen, frame: bytes) -> tuple[bytes, str]:
        """The frame to send the client, and what was changed in it ("" if nothing)."""
        body, request = seen.body, seen.request
        if body is None or request is None:
            return frame, ""
        if isinstance(body, ApiVersionsResponse):
            capped, names = cap_versions(body, API_TABLE)
            if names:
                return encode_body(request, capped), f"capped {', '.join(names)}"
            return frame, ""
        addresses = broker_addresses(body)
        if not addresses:
            return frame, ""
        for address in sorted(addresses):
            await self._route(address)
        rewritten, _ = rewrite_addresses(body, self.routes)
        moved = ", ".join(
            f"{h}:{p} → {':'.join(map(str, self.routes[(h, p)]))}" for h, p in sorted(addresses)
        )
        return encode_body(request, rewritten), f"rewrote {moved}"

    async def _read_frame(
        self, conversation: Conversation, reader: asyncio.StreamReader, direction: Direction
    ) -> bytes | None:
        """The next frame, or None at the end of the stream or at a size it cannot frame."""
        try:
            prefix = await reader.readexactly(4)
            size = check_frame_size(prefix, self.max_frame_bytes)
            return await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        except WireDecodeError as exc:
            why = f"bad frame: {exc}; closing the connection"
            self.on_event(conversation.bad(0, self.now_ms(), direction, why))
            return None
