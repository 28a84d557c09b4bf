"""Fault-injecting links: a TCP relay in front of each node, so the nemesis can cut or slow the
network between two named nodes of a real cluster on one machine.

Every node of a chaos cluster listens on a hidden port; the address the others know it by (a
broker's advertised listener, a controller's address in the brokers' quorum voters) is its
relay's. A relay accepts a connection, reads the first request's header to learn **who** is
calling — reflog's brokers say ``broker-N`` to the controllers and ``replica-N`` to the other
brokers, controllers ``controller-ID``; anyone else is a ``client`` — and from then on copies
bytes both ways. So each connection is one link of the graph ``caller → node``, and:

* **cut** (a network partition): the links between the two nodes are cut both ways. Open
  connections are closed; a new connection is accepted and then held, every byte dropped, as
  a partitioned packet would be, so the caller waits for its own timeout (not a quick refusal);
  it is closed when the link heals;
* **slow**: every chunk either way between the two nodes is held ``delay_ms`` before it goes
  on (in order: a relay never reorders a connection's bytes);
* **heal**: every link whole and fast again.

reflog simplification: a relay knows the caller only by the client id of its first request, so
links are per node and not per network interface, and only nodes that speak first (clients,
followers, brokers to controllers) can be told apart; a cut also cuts the connections the two
nodes already had.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["CLIENT", "Link", "Links", "caller_of"]

Address = tuple[str, int]
CLIENT = "client"
# The first request's size prefix and header up to its client id, and the longest client id a
# relay reads: a caller whose first frame claims more is a client like any other.
_HEADER = struct.Struct(">ihhih")  # size, api_key, api_version, correlation_id, client id length
MAX_CLIENT_ID = 255
CHUNK = 65_536


def caller_of(client_id: str) -> str:
    """The node a client id names: ``replica-2`` and ``broker-2`` are ``broker-2``."""
    for prefix in ("replica-", "broker-"):
        rest = client_id.removeprefix(prefix)
        if rest != client_id and rest.isdigit():
            return f"broker-{rest}"
    rest = client_id.removeprefix("controller-")
    if rest != client_id and rest.isdigit():
        return client_id
    return CLIENT


def _pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


@dataclass(eq=False)  # in sets by identity
class Link:
    """One relayed connection: ``caller`` dialled ``node``."""

    caller: str
    node: str
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.close()


class Links:
    """One relay per node: ``routes`` maps a node's name to (relay address, node's address)."""

    def __init__(self, routes: dict[str, tuple[Address, Address]]) -> None:
        self.routes = routes
        self.cut_pairs: set[frozenset[str]] = set()
        self.delays_ms: dict[frozenset[str], int] = {}
        self.open: set[Link] = set()
        self._servers: list[asyncio.Server] = []

    async def start(self) -> None:
        for node, (listen, upstream) in self.routes.items():
            server = await asyncio.start_server(self._server_for(node, upstream), *listen)
            self._servers.append(server)

    def _server_for(
        self, node: str, upstream: Address
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(node, upstream, reader, writer)

        return serve

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for link in list(self.open):
            link.close()
        self.open.clear()
        for server in self._servers:
            await server.wait_closed()

    # -- the nemesis's side --------------------------------------------------------------
    def cut(self, a: str, b: str) -> None:
        """Partition ``a`` from ``b``, both ways."""
        self.cut_pairs.add(_pair(a, b))
        for link in [k for k in self.open if _pair(k.caller, k.node) == _pair(a, b)]:
            self._drop(link)

    def isolate(self, node: str, others: Iterable[str]) -> None:
        """Cut ``node`` from each of ``others`` (clients keep reaching it unless named)."""
        for other in others:
            if other != node:
                self.cut(node, other)

    def slow(self, a: str, b: str, delay_ms: int) -> None:
        """Hold every chunk between ``a`` and ``b``, either way, ``delay_ms``."""
        self.delays_ms[_pair(a, b)] = delay_ms

    def heal(self) -> None:
        """Every link whole and fast; connections held while cut are closed (their callers
        reconnect)."""
        held = [k for k in self.open if _pair(k.caller, k.node) in self.cut_pairs]
        self.cut_pairs.clear()
        self.delays_ms.clear()
        for link in held:
            self._drop(link)

    # -- relaying ------------------------------------------------------------------------
    def _is_cut(self, link: Link) -> bool:
        return _pair(link.caller, link.node) in self.cut_pairs

    def _delay_s(self, link: Link) -> float:
        return self.delays_ms.get(_pair(link.caller, link.node), 0) / 1000

    def _drop(self, link: Link) -> None:
        link.close()
        self.open.discard(link)

    async def _serve(
        self,
        node: str,
        upstream: Address,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        link = Link(CLIENT, node, writer)
        try:
            first = await reader.readexactly(_HEADER.size)
            _, _, _, _, length = _HEADER.unpack(first)
            client_id = b""
            if 0 < length <= MAX_CLIENT_ID:
                client_id = await reader.readexactly(length)
                first += client_id
            link.caller = caller_of(client_id.decode("utf-8", "replace"))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.open.add(link)
        if self._is_cut(link):
            # Held: read and drop everything until the link heals (heal closes the
            # connection, which ends the read).
            with contextlib.suppress(ConnectionError, OSError):
                while await reader.read(CHUNK):
                    pass
            self._drop(link)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*upstream)
        except OSError:
            self._drop(link)  # the node is down: the caller sees its connection closed
            return
        link.upstream = up_writer
        up_writer.write(first)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer)),
            asyncio.create_task(self._pump(link, up_reader, writer)),
        ]

    async def _pump(
        self, link: Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        try:
            while chunk := await source.read(CHUNK):
                delay = self._delay_s(link)
                if delay:
                    await asyncio.sleep(delay)
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if link in self.open:
                self._drop(link)
