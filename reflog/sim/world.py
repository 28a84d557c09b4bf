"""The simulation: nodes, a virtual clock, a seeded network, one event queue.

Nothing here reads the wall clock or the global random generator: the seed
decides every latency, loss and tie, so the same seed gives the same trace.
:class:`~reflog.sim.pacing.Pacer` paces a run to the wall clock (for a live
notebook) by calling :meth:`run_for` frame after frame.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from functools import partial

from reflog.sim.clock import VirtualClock
from reflog.sim.events import EventQueue, Scheduled
from reflog.sim.network import LinkConfig, SimNetwork
from reflog.sim.node import NodeContext, SimNode
from reflog.sim.trace import (
    LinkChanged,
    MessageDelivered,
    MessageDropped,
    MessageSent,
    NodeCrashed,
    NodeRestarted,
    Note,
    TimerFired,
    Trace,
)

__all__ = ["Simulation"]


def derived_seed(seed: int, name: str) -> int:
    """A per-node seed that does not depend on PYTHONHASHSEED."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:8], "big")


class Simulation:
    def __init__(
        self,
        seed: int,
        network: LinkConfig | None = None,
        payload_filter: Callable[[object], object] | None = None,
        *,
        keep_trace: bool = True,
    ) -> None:
        self.seed = seed
        self.clock = VirtualClock()
        self.queue = EventQueue()
        self.network = SimNetwork(random.Random(derived_seed(seed, "network")), network)
        self.trace = Trace(keep=keep_trace)
        self.nodes: dict[str, SimNode] = {}
        self._contexts: dict[str, NodeContext] = {}
        self._incarnations: dict[str, int] = {}
        self._crashed: set[str] = set()
        # Applied to every payload as it is delivered: the wire round trip lives here. The
        # trace keeps what was sent, so a run with the round trip and one without record
        # the same trace exactly when the round trip changes nothing.
        self.payload_filter = payload_filter
        self._started = False

    @property
    def now_ms(self) -> int:
        return self.clock.now_ms

    # -- nodes ------------------------------------------------------------------------
    def add_node(self, node: SimNode) -> None:
        if node.name in self.nodes:
            raise ValueError(f"a node named {node.name!r} already exists")
        self.nodes[node.name] = node
        self._incarnations[node.name] = 0
        if self._started:
            self._start_node(node.name)

    def start(self) -> None:
        if not self._started:
            self._started = True
            for name in list(self.nodes):
                self._start_node(name)

    def _start_node(self, name: str) -> None:
        incarnation = self._incarnations[name]
        rng = random.Random(derived_seed(self.seed, f"{name}#{incarnation}"))
        ctx = NodeContext(self, name, incarnation, rng)
        self._contexts[name] = ctx
        self.nodes[name].start(ctx)

    def is_up(self, name: str) -> bool:
        return name not in self._crashed

    def crash(self, name: str) -> None:
        if name in self._crashed:
            return
        self._crashed.add(name)
        self._incarnations[name] += 1  # timers and contexts of the old life go stale
        self.nodes[name].crash()
        self.trace.record(NodeCrashed(self.now_ms, name))

    def restart(self, name: str) -> None:
        if name not in self._crashed:
            return
        self._crashed.discard(name)
        self.trace.record(NodeRestarted(self.now_ms, name))
        self._start_node(name)

    # -- what nodes do ----------------------------------------------------------------
    def _live(self, ctx: NodeContext) -> bool:
        return ctx.name not in self._crashed and ctx.incarnation == self._incarnations[ctx.name]

    # send, _deliver and _fire run for every message and timer of a run: they test the
    # plain sets and flags (network.cuts, trace.wanted) rather than call a method for each.
    def send(self, ctx: NodeContext, dst: str, payload: object) -> None:
        if not self._live(ctx):
            return
        src = ctx.name
        now = self.clock.now_ms
        if self.network.cuts and (src, dst) in self.network.cuts:
            self.trace.record(MessageDropped(now, src, dst, payload, "partition"))
            return
        at = self.network.plan(src, dst, now)
        if at is None:
            self.trace.record(MessageDropped(now, src, dst, payload, "loss"))
            return
        if self.trace.wanted:
            self.trace.record(MessageSent(now, src, dst, payload, at))
        self.queue.schedule(at, partial(self._deliver, src, dst, payload))

    def _deliver(self, src: str, dst: str, payload: object) -> None:
        if self.network.cuts and (src, dst) in self.network.cuts:
            self.trace.record(MessageDropped(self.now_ms, src, dst, payload, "partition"))
            return
        if dst not in self.nodes or dst in self._crashed:
            self.trace.record(MessageDropped(self.now_ms, src, dst, payload, "crashed"))
            return
        if self.trace.wanted:
            self.trace.record(MessageDelivered(self.now_ms, src, dst, payload))
        if self.payload_filter is not None:
            payload = self.payload_filter(payload)
        self.nodes[dst].on_message(self._contexts[dst], src, payload)

    def set_timer(self, ctx: NodeContext, at_ms: int, token: object) -> Scheduled:
        now = self.clock.now_ms
        return self.queue.schedule(at_ms if at_ms > now else now, partial(self._fire, ctx, token))

    def _fire(self, ctx: NodeContext, token: object) -> None:
        if self._live(ctx):
            if self.trace.wanted:
                self.trace.record(TimerFired(self.now_ms, ctx.name, token))
            self.nodes[ctx.name].on_timer(ctx, token)

    def note(self, node: str, kind: str, **data: object) -> None:
        self.trace.record(Note(self.now_ms, node, kind, tuple(sorted(data.items()))))

    def call_at(self, at_ms: int, action: Callable[[], None]) -> Scheduled:
        """Schedule something from outside the nodes (a scripted fault, a workload change)."""
        return self.queue.schedule(max(at_ms, self.now_ms), action)

    # -- the network, from outside ----------------------------------------------------
    def partition(self, group_a: set[str], group_b: set[str]) -> None:
        self.network.partition(group_a, group_b)
        self.trace.record(
            LinkChanged(self.now_ms, f"partition {sorted(group_a)} | {sorted(group_b)}")
        )

    def isolate(self, name: str) -> None:
        self.partition({name}, set(self.nodes) - {name})

    def cut(self, src: str, dst: str) -> None:
        self.network.cut(src, dst)
        self.trace.record(LinkChanged(self.now_ms, f"cut {src} -> {dst}"))

    def heal(self) -> None:
        self.network.heal()
        self.trace.record(LinkChanged(self.now_ms, "heal"))

    # -- running ----------------------------------------------------------------------
    def step(self) -> bool:
        """Run exactly one event; False if there is none."""
        self.start()
        event = self.queue.pop()
        if event is None:
            return False
        self.clock.advance_to(event.at_ms)
        event.action()
        return True

    def run_for(self, ms: int) -> None:
        """Run every event up to now + ms; the clock then reads exactly now + ms."""
        self.run_until_time(self.now_ms + ms)

    def run_until_time(self, end_ms: int) -> None:
        self.start()
        # step() without its per-event calls: this loop runs every event of a long run.
        # The queue never holds an event before now (whatever is scheduled is clamped to
        # now or later), so the clock is set without advance_to's check.
        clock, pop_due = self.clock, self.queue.pop_due
        while (event := pop_due(end_ms)) is not None:
            clock.now_ms = event.at_ms
            event.action()
        self.clock.advance_to(max(end_ms, self.now_ms))

    def run_until(self, predicate: Callable[[], bool], timeout_ms: int) -> bool:
        """Run until ``predicate()`` holds (checked after every event) or the timeout."""
        self.start()
        end = self.now_ms + timeout_ms
        while not predicate():
            next_at = self.queue.peek_time()
            if next_at is None or next_at > end:
                self.clock.advance_to(end)
                return predicate()
            self.step()
        return True
