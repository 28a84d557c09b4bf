"""The simulation kernel: same seed, same trace; FIFO links; partitions; crashes; live play."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from reflog.sim import LinkConfig, NodeContext, Simulation
from reflog.sim.pacing import Pacer
from reflog.sim.trace import MessageDelivered, MessageDropped, TimerFired


@dataclass(frozen=True)
class Ping:
    n: int


class Pinger:
    """Sends a numbered ping to every peer each 10 ms and counts what it receives."""

    def __init__(self, name: str, peers: list[str]) -> None:
        self.name = name
        self.peers = peers
        self.received: list[tuple[str, int]] = []
        self.sent = 0
        self.timers_fired = 0

    def start(self, ctx: NodeContext) -> None:
        ctx.set_timer(ctx.now_ms + 10, "tick")

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        assert isinstance(payload, Ping)
        self.received.append((src, payload.n))

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        self.timers_fired += 1
        for peer in self.peers:
            ctx.send(peer, Ping(self.sent))
        self.sent += 1
        ctx.note("tick", sent=self.sent, jitter=ctx.rng.randint(0, 9))
        ctx.set_timer(ctx.now_ms + 10, "tick")

    def crash(self) -> None:
        self.received.clear()


def build(
    seed: int, loss: float = 0.0, keep_trace: bool = True
) -> tuple[Simulation, dict[str, Pinger]]:
    sim = Simulation(
        seed, LinkConfig(latency_ms_min=1, latency_ms_max=25, loss=loss), keep_trace=keep_trace
    )
    names = ["a", "b", "c"]
    nodes = {n: Pinger(n, [p for p in names if p != n]) for n in names}
    for node in nodes.values():
        sim.add_node(node)
    return sim, nodes


def eventful_run(seed: int) -> str:
    sim, _ = build(seed, loss=0.1)
    sim.run_for(200)
    sim.partition({"a"}, {"b", "c"})
    sim.run_for(100)
    sim.heal()
    sim.crash("b")
    sim.run_for(100)
    sim.restart("b")
    sim.run_for(200)
    return sim.trace.digest()


def test_same_seed_gives_the_same_trace() -> None:
    assert eventful_run(1) == eventful_run(1)


def test_a_different_seed_gives_a_different_trace() -> None:
    assert eventful_run(1) != eventful_run(2)


def test_a_run_without_a_kept_trace_does_the_same_and_subscribers_still_see_every_event() -> None:
    kept, kept_nodes = build(seed=3, loss=0.1)
    watched, watched_nodes = build(seed=3, loss=0.1, keep_trace=False)
    unwatched, unwatched_nodes = build(seed=3, loss=0.1, keep_trace=False)
    seen: list[object] = []
    watched.trace.subscribe(seen.append)
    for sim in (kept, watched, unwatched):
        sim.run_for(500)
    received = {n: node.received for n, node in kept_nodes.items()}
    assert {n: node.received for n, node in watched_nodes.items()} == received
    assert {n: node.received for n, node in unwatched_nodes.items()} == received
    assert watched.trace.events == unwatched.trace.events == []
    assert seen == kept.trace.events
    with pytest.raises(ValueError):
        unwatched.trace.digest()


def test_links_are_fifo_under_random_latency() -> None:
    sim, nodes = build(seed=5)
    sim.run_for(1_000)
    for receiver in nodes.values():
        for sender in ("a", "b", "c"):
            numbers = [n for src, n in receiver.received if src == sender]
            assert numbers == sorted(numbers)
    assert len(nodes["a"].received) > 150


def test_a_partition_drops_both_ways_and_heal_restores_delivery() -> None:
    sim, nodes = build(seed=3)
    sim.run_for(100)
    sim.partition({"a"}, {"b", "c"})
    mark = len(sim.trace)
    sim.run_for(200)
    window = sim.trace.since(mark)
    crossing = [e for e in window if isinstance(e, MessageDelivered) and "a" in (e.src, e.dst)]
    # Only messages sent before the cut can still arrive... and they are dropped on arrival.
    assert crossing == []
    assert any(isinstance(e, MessageDropped) and e.reason == "partition" for e in window)
    before = len(nodes["a"].received)
    sim.heal()
    sim.run_for(100)
    assert len(nodes["a"].received) > before


def test_a_crashed_nodes_timers_never_fire_and_messages_to_it_are_dropped() -> None:
    sim, nodes = build(seed=4)
    sim.run_for(100)
    sim.crash("c")
    fired = nodes["c"].timers_fired
    mark = len(sim.trace)
    sim.run_for(300)
    assert nodes["c"].timers_fired == fired
    window = sim.trace.since(mark)
    assert not any(isinstance(e, TimerFired) and e.node == "c" for e in window)
    assert any(
        isinstance(e, MessageDropped) and e.dst == "c" and e.reason == "crashed" for e in window
    )
    sim.restart("c")
    sim.run_for(100)
    assert nodes["c"].received, "a restarted node receives again"


def test_loss_drops_some_messages_and_records_why() -> None:
    sim, _ = build(seed=9, loss=0.3)
    sim.run_for(500)
    dropped = [e for e in sim.trace.events if isinstance(e, MessageDropped)]
    assert dropped and all(e.reason == "loss" for e in dropped)


def test_run_until_stops_when_the_condition_holds_or_at_the_timeout() -> None:
    sim, nodes = build(seed=2)
    assert sim.run_until(lambda: len(nodes["a"].received) >= 10, timeout_ms=1_000)
    assert len(nodes["a"].received) == 10
    assert not sim.run_until(lambda: False, timeout_ms=50)
    stopped_at = sim.now_ms
    assert not sim.run_until(lambda: False, timeout_ms=50)
    assert sim.now_ms == stopped_at + 50


def test_step_runs_exactly_one_event() -> None:
    sim, _ = build(seed=2)
    sim.start()
    assert sim.step()
    # One timer fired (at 10 ms); the pings it sent are scheduled, not yet delivered.
    assert sim.now_ms == 10
    assert sum(isinstance(e, TimerFired) for e in sim.trace.events) == 1
    assert not any(isinstance(e, MessageDelivered) for e in sim.trace.events)


def test_live_play_gives_the_same_trace_as_run_for() -> None:
    reference, _ = build(seed=11)
    reference.run_for(400)

    played, _ = build(seed=11)
    frames: list[int] = []

    def advance(ms: int) -> None:
        played.run_for(ms)
        frames.append(played.now_ms)

    pacer = Pacer(advance, frame_ms=5)

    async def play() -> None:
        await pacer.play(speed=10, for_ms=400)

    asyncio.run(play())
    assert played.now_ms == 400
    assert played.trace.digest() == reference.trace.digest()
    assert len(frames) > 1 and frames == sorted(frames)


def test_pause_stops_virtual_time_until_played_again() -> None:
    sim, _ = build(seed=12)
    pacer = Pacer(sim.run_for, frame_ms=5)

    async def until(condition: Callable[[], bool]) -> None:
        while not condition():
            await asyncio.sleep(0.005)  # a poll interval: wait_for's timeout decides

    async def scenario() -> tuple[int, int]:
        playing = pacer.play(speed=200)
        await until(lambda: sim.now_ms >= 100)
        pacer.pause()
        paused_at = sim.now_ms
        await asyncio.wait([playing])  # the paused task has ended: nothing advances time now
        assert playing.cancelled() and not pacer.playing
        still = sim.now_ms
        pacer.play()
        await until(lambda: sim.now_ms > still)
        pacer.pause()
        return paused_at, still

    paused_at, still = asyncio.run(asyncio.wait_for(scenario(), timeout=20))
    assert paused_at == still
