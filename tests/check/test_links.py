"""The chaos cluster's fault-injecting links (reflog.chaos.links), on real sockets: bytes pass
unaltered, a cut holds a node's connections silent while others pass, heal restores, slow
delays."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reflog.chaos.links import CLIENT, Links, caller_of
from reflog.chaos.nodes import ProcessCluster

HOST = "127.0.0.1"
# Waiting for something that must NOT happen: long enough for a relay on loopback to forward.
SILENCE_S = 0.5


def first_request(client_id: str, payload: bytes = b"hello") -> bytes:
    """A Kafka-framed request: size, api key, version, correlation id, client id, body."""
    encoded = client_id.encode()
    header = struct.pack(">hhih", 1, 11, 7, len(encoded)) + encoded
    body = header + payload
    return struct.pack(">i", len(body)) + body


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65_536):
        writer.write(data)
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def relay_to_echo() -> AsyncIterator[Links]:
    """A relay for "broker-1" in front of an echo server."""
    server = await asyncio.start_server(echo, HOST, 0)
    upstream = server.sockets[0].getsockname()[:2]
    relay = Links({"broker-1": ((HOST, 0), upstream)})
    await relay.start()
    # The relay listened on port 0: point the route at the port it got.
    port = relay._servers[0].sockets[0].getsockname()[1]
    relay.routes["broker-1"] = ((HOST, port), upstream)
    try:
        yield relay
    finally:
        await relay.close()
        server.close()
        await server.wait_closed()


async def dial(links: Links, client_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = links.routes["broker-1"][0]
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(first_request(client_id))
    await writer.drain()
    return reader, writer


async def echoed(reader: asyncio.StreamReader, client_id: str, timeout_s: float = 5) -> bytes:
    return await asyncio.wait_for(reader.readexactly(len(first_request(client_id))), timeout_s)


def test_a_client_id_names_the_node_calling() -> None:
    assert caller_of("replica-2") == "broker-2"
    assert caller_of("broker-3") == "broker-3"
    assert caller_of("controller-3000") == "controller-3000"
    assert caller_of("rdkafka") == CLIENT
    assert caller_of("broker-x") == CLIENT


def test_bytes_pass_unaltered_both_ways_and_the_caller_is_known() -> None:
    async def scenario() -> None:
        async with relay_to_echo() as links:
            reader, writer = await dial(links, "replica-2")
            assert await echoed(reader, "replica-2") == first_request("replica-2")
            writer.write(b"more bytes")
            assert await asyncio.wait_for(reader.readexactly(10), 5) == b"more bytes"
            [link] = links.open
            assert (link.caller, link.node) == ("broker-2", "broker-1")
            writer.close()

    asyncio.run(scenario())


def test_a_cut_closes_the_link_and_holds_new_connections_silent_until_heal() -> None:
    async def scenario() -> None:
        async with relay_to_echo() as links:
            reader, writer = await dial(links, "replica-2")
            await echoed(reader, "replica-2")
            links.cut("broker-1", "broker-2")
            assert await asyncio.wait_for(reader.read(), 5) == b""  # the open connection is closed
            held_reader, held_writer = await dial(links, "replica-2")
            with pytest.raises(TimeoutError):
                await echoed(held_reader, "replica-2", timeout_s=SILENCE_S)
            # A client still gets through.
            client_reader, client_writer = await dial(links, "rdkafka")
            assert await echoed(client_reader, "rdkafka") == first_request("rdkafka")
            links.heal()
            assert await asyncio.wait_for(held_reader.read(), 5) == b""  # the held one is closed
            again_reader, again_writer = await dial(links, "replica-2")
            assert await echoed(again_reader, "replica-2") == first_request("replica-2")
            for w in (writer, held_writer, client_writer, again_writer):
                w.close()

    asyncio.run(scenario())


def test_a_slow_link_delays_each_way_and_only_between_its_nodes() -> None:
    async def scenario() -> None:
        async with relay_to_echo() as links:
            links.slow("broker-1", "broker-2", 1_000)
            started = time.monotonic()
            reader, writer = await dial(links, "replica-2")
            await echoed(reader, "replica-2")
            assert time.monotonic() - started >= 1.0  # held at least one way
            started = time.monotonic()
            fast_reader, fast_writer = await dial(links, "rdkafka")
            await echoed(fast_reader, "rdkafka")
            assert time.monotonic() - started < 1.0
            for w in (writer, fast_writer):
                w.close()

    asyncio.run(scenario())


def test_a_lossy_node_loses_whole_answers_to_clients_and_the_framing_survives() -> None:
    """With every answer lost a client hears nothing; a follower's answers still pass; healed,
    the same client connection gets the next answer whole (the lost frame left no bytes)."""

    async def scenario() -> None:
        async with relay_to_echo() as links:
            reader, writer = await dial(links, "rdkafka")
            assert await echoed(reader, "rdkafka") == first_request("rdkafka")
            links.lossy("broker-1", 1.0)
            big = first_request("rdkafka", b"x" * 200_000)  # several relay chunks long
            writer.write(big)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.readexactly(1), SILENCE_S)
            follower_reader, follower_writer = await dial(links, "replica-2")
            assert await echoed(follower_reader, "replica-2") == first_request("replica-2")
            assert links.answers_lost == 1
            links.heal()
            writer.write(big)
            assert await asyncio.wait_for(reader.readexactly(len(big)), 5) == big
            for w in (writer, follower_writer):
                w.close()

    asyncio.run(scenario())


def test_a_loss_ratio_is_a_probability() -> None:
    links = Links({})
    with pytest.raises(ValueError, match="between 0 and 1"):
        links.lossy("broker-1", 1.5)


def test_behind_relays_every_node_reaches_the_controllers_through_their_relays(
    tmp_path: Path,
) -> None:
    """Controllers too: each listens on its hidden address and knows the others by their
    relays, so the nemesis can cut one controller from another."""
    cluster = ProcessCluster(tmp_path, brokers=3, controllers=3, port=30_000, links=True)
    controllers = [n for n in cluster.nodes if n.startswith("controller-")]
    assert len(controllers) == 3
    relays = {name: f"{HOST}:{cluster.routes[name][0][1]}" for name in controllers}
    for name, node in cluster.nodes.items():
        argv = node.argv
        voters = argv[argv.index("--controller-quorum-voters") + 1]
        assert sorted(v.split("@")[1] for v in voters.split(",")) == sorted(relays.values())
        listen = argv[argv.index("--listen") + 1]
        relay, hidden = cluster.routes[name]
        assert listen == f"{HOST}:{hidden[1]}" and hidden != relay
