"""A peer link answers every request exactly once: its response, or ConnectionError or
TimeoutError, whatever the connection or another caller's callback does (regressions
found in review, kept with their scenarios)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from reflog.net.local_cluster import LocalCluster
from reflog.net.peer_link import PeerLink
from reflog.net.server import BrokerServer
from reflog.wire.apis import API_TABLE
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from reflog.wire.messages.metadata import MetadataRequest
from reflog.wire.schema import Response

Calls = list[tuple[str, str]]


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[BrokerServer]:
    cluster = LocalCluster(brokers=1, data_dir=tmp_path)
    await cluster.start()
    try:
        await cluster.create_topic("t", 1)
        yield cluster.server(1)
    finally:
        await cluster.stop()


def recorder(name: str, calls: Calls, fail: bool = False) -> Callable[[object], None]:
    def on_answer(result: Response | Exception) -> None:
        calls.append((name, type(result).__name__))
        if fail:
            raise RuntimeError(f"a bug in {name}'s callback")

    return on_answer


def long_poll() -> FetchRequest:
    partition = FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)
    return FetchRequest(
        max_wait_ms=3_000, min_bytes=1, topics=[FetchTopic(topic="t", partitions=[partition])]
    )


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def test_a_failing_callback_does_not_cost_the_other_requests_their_answers(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[Calls, Calls]:
        lost: Calls = []
        async with serving(tmp_path / "a") as server:
            link = PeerLink("127.0.0.1", server.port, "test", apis=API_TABLE)
            link.request(long_poll(), 10.0, recorder("A", lost, fail=True))
            link.request(long_poll(), 10.0, recorder("B", lost))
            # A is parked at the broker; B, sent with it, waits behind it (a connection's
            # requests are answered in order).
            await until(lambda: len(server.broker.purgatory) == 1)
        await until(lambda: len(lost) == 2)  # the broker went away: both learn it
        answered: Calls = []
        async with serving(tmp_path / "b") as server:
            link = PeerLink("127.0.0.1", server.port, "test", apis=API_TABLE)
            await link.call(MetadataRequest(topics=None), 5.0)
            link.request(MetadataRequest(topics=None), 5.0, recorder("A", answered, fail=True))
            link.request(MetadataRequest(topics=None), 5.0, recorder("B", answered))
            await until(lambda: len(answered) == 2)
            await link.close()
        return lost, answered

    lost, answered = asyncio.run(scenario())
    assert lost == [("A", "ConnectionError"), ("B", "ConnectionError")]
    assert answered == [("A", "MetadataResponse"), ("B", "MetadataResponse")]


def test_a_request_after_close_goes_on_a_new_connection_and_gets_its_answer(
    tmp_path: Path,
) -> None:
    async def scenario() -> Calls:
        calls: Calls = []
        async with serving(tmp_path) as server:
            link = PeerLink("127.0.0.1", server.port, "test", apis=API_TABLE)
            await link.call(MetadataRequest(topics=None), 5.0)
            await link.close()
            # The old connection's end arrives after this: it must not fail the new request.
            link.request(MetadataRequest(topics=None), 5.0, recorder("after", calls))
            await until(lambda: bool(calls))
            await link.close()
        return calls

    assert asyncio.run(scenario()) == [("after", "MetadataResponse")]


def test_close_while_connecting_answers_at_once_and_sends_nothing_later(tmp_path: Path) -> None:
    async def scenario() -> tuple[Calls, float]:
        calls: Calls = []
        async with serving(tmp_path) as server:
            loop = asyncio.get_running_loop()
            link = PeerLink("127.0.0.1", server.port, "test", apis=API_TABLE)
            started = loop.time()
            link.request(MetadataRequest(topics=None), 30.0, recorder("A", calls))
            await link.close()
            await until(lambda: bool(calls))
            took = loop.time() - started
            assert not link._backlog
        return calls, took

    calls, took = asyncio.run(scenario())
    assert calls == [("A", "ConnectionError")]
    assert took < 5  # not its 30 s timeout


def test_a_body_that_cannot_be_encoded_raises_and_is_never_answered(tmp_path: Path) -> None:
    async def scenario() -> Calls:
        calls: Calls = []
        async with serving(tmp_path) as server:
            link = PeerLink("127.0.0.1", server.port, "test", apis=API_TABLE)
            bad = MetadataRequest(topics=12345)  # type: ignore[arg-type]
            try:
                link.request(bad, 0.2, recorder("bad", calls))
            except TypeError:
                calls.append(("raised", ""))
            assert link._waiting == {}  # nothing waits: no answer and no timeout can come
            # The link still works, and what it answers is the good request alone.
            link.request(MetadataRequest(topics=None), 5.0, recorder("good", calls))
            await until(lambda: len(calls) == 2)
            await link.close()
        return calls

    assert asyncio.run(scenario()) == [("raised", ""), ("good", "MetadataResponse")]
