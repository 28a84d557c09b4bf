"""The nemesis: a seeded schedule of process faults against a running cluster.

One fault at a time, on a broker chosen as the current leader of a random partition (the
broker whose loss matters most): SIGKILL it and start it again after a while (it rejoins from
its disk), or SIGSTOP it and SIGCONT it after a while (a pause longer than the broker session
timeout gets it fenced, and its partitions a new leader, while it still believes it leads).
Between faults the cluster gets a quiet spell.

reflog simplification: no network partitions or slow links: the cluster's processes talk over
plain loopback TCP, and faults are process faults only.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from reflog.chaos.nodes import ProcessCluster
from reflog.chaos.workload import Clock

__all__ = ["Fault", "Nemesis"]


@dataclass(frozen=True)
class Fault:
    kind: str  # "kill" (SIGKILL, then restart) or "pause" (SIGSTOP, then SIGCONT)
    target: str  # a node name, e.g. "broker-2"
    start_ms: int
    end_ms: int


class Nemesis:
    def __init__(
        self,
        cluster: ProcessCluster,
        rng: random.Random,
        clock: Clock,
        leader_of: Callable[[int], Awaitable[int]],
        partitions: int,
    ) -> None:
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
            kind = self.rng.choice(["kill", "pause"])
            hold_s = self.rng.uniform(1.0, 4.0)
            start = self.clock.ms()
            if kind == "kill":
                self.cluster.kill(victim)
                await asyncio.sleep(hold_s)
                await asyncio.to_thread(self.cluster.restart, victim)
            else:
                self.cluster.pause(victim)
                await asyncio.sleep(hold_s)
                self.cluster.resume(victim)
            self.faults.append(Fault(kind, victim, start, self.clock.ms()))
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))
