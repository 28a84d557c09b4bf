"""Running a simulation one event at a time, so a view can replay every step of it.

The recorders of the notebooks (Raft, replication) share this: each event is
followed by ``_record`` (what a recording is depends on the view), and views
registered with :meth:`SimRecorder.on_change` redraw after every run or action.
"""

from __future__ import annotations

from collections.abc import Callable

from reflog.sim.world import Simulation

__all__ = ["SimRecorder"]


class SimRecorder:
    sim: Simulation

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every run or action (a view redraws then)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def _record(self) -> None:
        raise NotImplementedError

    def run_for(self, ms: int) -> None:
        """Run ``ms`` of simulated time, recording after every event."""
        end = self.sim.now_ms + ms
        while (at := self.sim.queue.peek_time()) is not None and at <= end:
            self.sim.step()
            self._record()
        self.sim.run_until_time(end)  # nothing left to run: only moves the clock
        self._record()
        self._changed()

    def run_until(self, predicate: Callable[[], bool], timeout_ms: int = 10_000) -> bool:
        """Run until ``predicate()`` holds (checked after every event) or the timeout."""
        end = self.sim.now_ms + timeout_ms
        held = predicate()
        while not held:
            at = self.sim.queue.peek_time()
            if at is None or at > end:
                self.sim.run_until_time(end)
                self._record()
                held = predicate()
                break
            self.sim.step()
            self._record()
            held = predicate()
        self._changed()
        return held
