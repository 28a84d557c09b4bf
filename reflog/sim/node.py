"""What the simulation asks of a node, and what a node may ask of the simulation.

An adapter (a broker, a producer, a consumer) implements :class:`SimNode`.
It never sleeps or opens sockets; it acts only through its
:class:`NodeContext`: send a message, set a timer, note a domain event.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reflog.sim.events import Scheduled
    from reflog.sim.world import Simulation

__all__ = ["NodeContext", "SimNode"]


class NodeContext:
    """A node's handle on the simulation, valid for one incarnation of the node."""

    def __init__(self, sim: Simulation, name: str, incarnation: int, rng: random.Random) -> None:
        self._sim = sim
        self.name = name
        self.incarnation = incarnation
        self.rng = rng

    @property
    def now_ms(self) -> int:
        return self._sim.clock.now_ms

    def send(self, dst: str, payload: object) -> None:
        self._sim.send(self, dst, payload)

    def set_timer(self, at_ms: int, token: object) -> Scheduled:
        return self._sim.set_timer(self, at_ms, token)

    def cancel_timer(self, handle: Scheduled) -> None:
        handle.cancel()

    def note(self, kind: str, **data: object) -> None:
        self._sim.note(self.name, kind, **data)

    def refuses_connections(self, dst: str) -> bool:
        """True if ``dst`` is down: a TCP connect to a dead process is refused at once
        (a reset), where a cut-off but live one just never answers."""
        return not self._sim.is_up(dst) and not self._sim.network.is_cut(self.name, dst)


class SimNode(Protocol):
    name: str

    def start(self, ctx: NodeContext) -> None:
        """Called once when the simulation starts (and again on restart, after crash)."""

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None: ...

    def on_timer(self, ctx: NodeContext, token: object) -> None: ...

    def crash(self) -> None:
        """Forget everything volatile; files on disk stay (storage is real)."""
