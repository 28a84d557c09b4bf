"""The nemesis: a seeded schedule of faults against a running cluster.

One fault at a time, on a broker chosen as the current leader of a random partition (the
broker whose loss matters most), each held a while and then undone:

* ``kill``: SIGKILL it, then start it again (it rejoins from its disk);
* ``pause``: SIGSTOP it, then SIGCONT (a pause longer than the broker session timeout gets it
  fenced, and its partitions a new leader, while it still believes it leads);
* ``partition`` (needs the cluster's links, :mod:`reflog.chaos.links`): cut it from every other
  broker and the controllers, while clients still reach it — the old leader keeps answering
  producers while the rest of the cluster elects another;
* ``slow``: every link between it and the other nodes holds each chunk 100 to 500 ms;
* ``lossy``: half the answers it gives clients are lost on the way back, so producers time out
  and retry requests it already carried out (without idempotence, a duplicate).

With more than one controller, a third of the ``partition`` and ``slow`` faults hit a
controller instead, chosen at random: cut from (or slowed to) every other node, controllers and
brokers alike. The other controllers elect a new active controller if it was the active one,
and brokers heartbeat to whichever leads; a controller cut off alone cannot win an election
(PreVote) nor, once it sees no quorum (CheckQuorum), go on leading.

Between faults the cluster gets a quiet spell.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from reflog.chaos.links import Links
from reflog.chaos.nodes import Nodes
from reflog.chaos.workload import Clock

__all__ = ["FAULT_KINDS", "NETWORK_FAULTS", "Fault", "Nemesis"]

FAULT_KINDS = ("kill", "pause", "partition", "slow", "lossy")
NETWORK_FAULTS = frozenset({"partition", "slow", "lossy"})
LOSS_RATIO = 0.5  # of a lossy node's answers to clients
CONTROLLER_SHARE = 1 / 3  # of partition and slow faults, with more than one controller


@dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    target: str  # a node name, e.g. "broker-2"
    start_ms: int
    end_ms: int


class Nemesis:
    def __init__(
        self,
        cluster: Nodes,
        rng: random.Random,
        clock: Clock,
        leader_of: Callable[[int], Awaitable[int]],
        partitions: int,
        kinds: tuple[str, ...] = ("kill", "pause"),
        links: Links | None = None,
    ) -> None:
        if NETWORK_FAULTS & set(kinds) and links is None:
            raise ValueError("network faults need a cluster started with links")
        self.kinds = kinds
        self.links = links
        self.cluster = cluster
        self.rng = rng
        self.clock = clock
        self.leader_of = leader_of
        self.partitions = partitions
        self.faults: list[Fault] = []

    async def run(self, seconds: float) -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.sleep(self.rng.uniform(1.0, 2.0))  # let the workload get going
        while time.monotonic() < stop_at - 1:
            leader = await self.leader_of(self.rng.randrange(self.partitions))
            victim = (
                f"broker-{leader}"
                if leader > 0
                else f"broker-{self.rng.choice(self.cluster.broker_ids)}"
            )
            kind = self.rng.choice(self.kinds)
            controllers = [n for n in self.cluster.nodes if n.startswith("controller-")]
            # (Drawn only with several controllers, so a seed's faults with one stay the same.)
            if (
                kind in ("partition", "slow")
                and len(controllers) > 1
                and self.rng.random() < CONTROLLER_SHARE
            ):
                victim = self.rng.choice(controllers)
            hold_s = self.rng.uniform(1.0, 4.0)
            start = self.clock.ms()
            if kind == "kill":
                self.cluster.kill(victim)
                await asyncio.sleep(hold_s)
                await asyncio.to_thread(self.cluster.restart, victim)
            elif kind == "pause":
                self.cluster.pause(victim)
                await asyncio.sleep(hold_s)
                self.cluster.resume(victim)
            else:
                assert self.links is not None
                others = [n for n in self.cluster.nodes if n != victim]
                if kind == "partition":
                    self.links.isolate(victim, others)
                elif kind == "lossy":
                    self.links.lossy(victim, LOSS_RATIO)
                else:
                    delay_ms = self.rng.randrange(100, 500)
                    for other in others:
                        self.links.slow(victim, other, delay_ms)
                await asyncio.sleep(hold_s)
                self.links.heal()
            self.faults.append(Fault(kind, victim, start, self.clock.ms()))
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))
