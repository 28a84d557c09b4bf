"""Wall-clock pacing: run a simulation live on the kernel's asyncio loop.

Every live view plays its run through one :class:`Pacer`: each frame it advances
simulated time by ``frame_ms × speed`` (through the owner's ``run_for``, which
records and redraws), then sleeps out the rest of the frame, so one simulated
second takes one wall second at speed 1. The events and their order are exactly
those of calling ``run_for`` by hand: pacing only decides when, never what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Paced", "Pacer"]


class Pacer:
    def __init__(self, advance: Callable[[int], None], *, frame_ms: int = 50) -> None:
        """``advance(ms)`` runs ``ms`` of simulated time (and redraws whatever watches)."""
        self._advance = advance
        self.frame_ms = frame_ms
        self._speed = 1.0
        self._task: asyncio.Task[None] | None = None

    @property
    def speed(self) -> float:
        """Simulated ms per wall-clock ms while playing."""
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

    def play(self, speed: float | None = None, for_ms: int | None = None) -> asyncio.Task[None]:
        """Start playing on the running asyncio loop (Jupyter's) and return at once.

        ``for_ms``: stop after that many simulated ms (None: play until paused).
        Playing again while playing only changes the speed.
        """
        if speed is not None:
            self.speed = speed
        if self._task is not None and not self._task.done():
            return self._task
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "play() needs a running asyncio loop (a Jupyter kernel); "
                "in a script, use run_for() instead"
            ) from None
        self._task = loop.create_task(self._play(for_ms))
        return self._task

    def pause(self) -> None:
        """Stop after the frame in progress (a frame is never cut in half)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _play(self, for_ms: int | None) -> None:
        loop = asyncio.get_running_loop()
        played = 0
        while for_ms is None or played < for_ms:
            started = loop.time()
            step = max(1, round(self.frame_ms * self._speed))
            if for_ms is not None:
                step = min(step, for_ms - played)
            self._advance(step)
            played += step
            # Pacing, not synchronisation: wait out the rest of the frame.
            await asyncio.sleep(max(0.0, self.frame_ms / 1000 - (loop.time() - started)))


class Paced:
    """Play, pause and speed for a run that owns a :class:`Pacer` (a cluster, a recorder):
    written once here so that every live run answers the views' controls the same way."""

    pacer: Pacer

    def play(self, speed: float | None = None, for_ms: int | None = None) -> asyncio.Task[None]:
        """Run paced to the wall clock on the running asyncio loop; returns at once."""
        return self.pacer.play(speed, for_ms)

    def pause(self) -> None:
        self.pacer.pause()

    @property
    def playing(self) -> bool:
        return self.pacer.playing

    @property
    def speed(self) -> float:
        return self.pacer.speed

    @speed.setter
    def speed(self, speed: float) -> None:
        self.pacer.speed = speed
