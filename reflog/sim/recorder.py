"""Running a bare :class:`~reflog.sim.world.Simulation` with a recorded timeline.

The Raft chapter's quorum is not a Kafka cluster, so it has no
:class:`~reflog.sim.cluster.Cluster`; :class:`SimRecorder` gives it the same shape a
view needs (a :class:`~reflog.sim.timeline.Timeline` of frames, ``run_for``,
``run_until``, ``play``/``pause``/``speed`` through the one
:class:`~reflog.sim.pacing.Pacer`, ``on_change``), recording a frame per busy
millisecond exactly as a Cluster does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from reflog.sim.pacing import Paced, Pacer
from reflog.sim.recording import run_recorded, run_recorded_until
from reflog.sim.timeline import Timeline
from reflog.sim.world import Simulation

__all__ = ["SimRecorder"]


class _Timed(Protocol):
    @property
    def at_ms(self) -> int: ...


F = TypeVar("F", bound=_Timed)


class SimRecorder(Paced, Generic[F]):
    """Subclasses say what a frame is (:meth:`capture`) and act through :meth:`_act`."""

    def __init__(self, sim: Simulation, max_frames: int = 50_000) -> None:
        self.sim = sim
        self.timeline: Timeline[F] = Timeline(max_frames)
        self.pacer = Pacer(self.run_for)
        self._listeners: list[Callable[[], None]] = []

    def capture(self) -> F:
        raise NotImplementedError

    def record(self) -> None:
        frame = self.capture()
        timeline = self.timeline
        if timeline and timeline.latest.at_ms == frame.at_ms and timeline.latest == frame:
            return  # nothing happened since the last frame
        timeline.append(frame)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every run, play frame or action (a view redraws then)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    # -- running ----------------------------------------------------------------------
    def run_for(self, ms: int) -> None:
        """Run ``ms`` of simulated time, recording a frame per busy millisecond."""
        run_recorded(self.sim, self.sim.now_ms + ms, self.record)
        self._changed()

    def run_until(self, predicate: Callable[[], bool], timeout_ms: int = 10_000) -> bool:
        """Run until ``predicate()`` holds (checked after every event) or the timeout."""
        held = run_recorded_until(self.sim, predicate, timeout_ms, self.record)
        self._changed()
        return held
