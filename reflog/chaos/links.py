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
* **lossy**: each answer a node gives a client is lost with a given probability. A relay
  follows the Kafka framing of what a node sends its clients, so it loses a whole response
  frame and the connection stays well framed: the client waits for its ``request.timeout.ms``,
  then retries a request the node may well have carried out (a Produce already written);
* **heal**: every link whole, fast and reliable again.

reflog simplification: a relay knows the caller only by the client id of its first request, so
links are per node and not per network interface, and only nodes that speak first (clients,
followers, brokers to controllers) can be told apart; a cut also cuts the connections the two
nodes already had; only answers to clients are lost (a real lossy network loses requests too,
and TCP would resend the bytes; losing the answer is what makes a client retry a request
that took effect).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["CLIENT", "Link", "Links", "caller_of"]

Address = tuple[str, int]
CLIENT = "client"
# The first request's size prefix and header up to its client id, and the longest client id a
# relay reads: a caller whose first frame claims more is a client like any other.
_HEADER = struct.Struct(">ihhih")  # size, api_key, api_version, correlation_id, client id length
# A response's size prefix and correlation id: all a relay reads of an answer to a client.
_RESPONSE_HEADER = struct.Struct(">ii")
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
    """One relay per node: ``routes`` maps a node's name to (relay address, node's address);
    ``rng`` decides which answers a lossy node loses."""

    def __init__(
        self, routes: dict[str, tuple[Address, Address]], rng: random.Random | None = None
    ) -> None:
        self.routes = routes
        self.rng = rng if rng is not None else random.Random(0)
        self.cut_pairs: set[frozenset[str]] = set()
        self.delays_ms: dict[frozenset[str], int] = {}
        self.loss_ratios: dict[str, float] = {}  # node -> share of its answers to clients lost
        self.answers_lost = 0
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

    def lossy(self, node: str, loss_ratio: float) -> None:
        """Lose each answer ``node`` gives a client with probability ``loss_ratio``."""
        if not 0 <= loss_ratio <= 1:
            raise ValueError("a loss ratio is between 0 and 1")
        self.loss_ratios[node] = loss_ratio

    def heal(self) -> None:
        """Every link whole, fast and reliable; connections held while cut are closed (their
        callers reconnect)."""
        held = [k for k in self.open if _pair(k.caller, k.node) in self.cut_pairs]
        self.cut_pairs.clear()
        self.delays_ms.clear()
        self.loss_ratios.clear()
        for link in held:
            self._drop(link)

    # -- relaying ------------------------------------------------------------------------
    def _is_cut(self, link: Link) -> bool:
        return _pair(link.caller, link.node) in self.cut_pairs

    def _delay_s(self, link: Link) -> float:
        return self.delays_ms.get(_pair(link.caller, link.node), 0) / 1000

    def _loses(self, link: Link) -> bool:
        ratio = self.loss_ratios.get(link.node, 0.0)
        return ratio > 0 and self.rng.random() < ratio

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
        answers = self._pump_answers if link.caller == CLIENT else self._pump
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer)),
            asyncio.create_task(answers(link, up_reader, writer)),
        ]

    async def _pump(
        self, link: Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        try:
            while chunk := await source.read(CHUNK):
                await self._pass_on(link, chunk, sink)
        except (ConnectionError, OSError):
            pass
        finally:
            if link in self.open:
                self._drop(link)

    async def _pump_answers(
        self, link: Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        """A node's answers to a client, one response frame at a time, each lost or passed
        on whole. A frame streams through in chunks and is never held whole, so its size
        needs no bound here (the client bounds what it reads)."""
        try:
            while True:
                header = await source.readexactly(_RESPONSE_HEADER.size)
                size, _ = _RESPONSE_HEADER.unpack(header)
                if size < 4:  # not a Kafka response: stop relaying rather than guess
                    break
                lost = self._loses(link)
                self.answers_lost += lost
                if not lost:
                    await self._pass_on(link, header, sink)
                left = size - 4  # the correlation id was part of the frame
                while left:
                    chunk = await source.read(min(left, CHUNK))
                    if not chunk:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(chunk)
                    if not lost:
                        await self._pass_on(link, chunk, sink)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            if link in self.open:
                self._drop(link)

    async def _pass_on(self, link: Link, chunk: bytes, sink: asyncio.StreamWriter) -> None:
        delay = self._delay_s(link)
        if delay:
            await asyncio.sleep(delay)
        sink.write(chunk)
        await sink.drain()
