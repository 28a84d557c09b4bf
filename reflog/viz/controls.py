"""Play / pause / step / speed: the controls every live view puts above its figure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import ipywidgets as widgets

from reflog.sim.cluster import Cluster

__all__ = ["PlayControls"]


class PlayControls:
    """Runs ``cluster`` live on the kernel's event loop and calls ``on_frame`` to redraw."""

    def __init__(self, cluster: Cluster, on_frame: Callable[[], None]) -> None:
        self.cluster = cluster
        self.on_frame = on_frame
        self._task: asyncio.Task[None] | None = None
        self.play_button = widgets.ToggleButton(value=False, description="Play", icon="play")
        self.step_button = widgets.Button(description="Step 100 ms", icon="step-forward")
        self.speed = widgets.FloatLogSlider(
            value=1.0, base=10, min=-1, max=1.5, description="speed ×"
        )
        self.clock = widgets.HTML()
        self.play_button.observe(self._on_play, names="value")
        self.step_button.on_click(self._on_step)
        self.speed.observe(lambda change: cluster.sim.set_speed(change["new"]), names="value")

    def row(self) -> widgets.HBox:
        return widgets.HBox([self.play_button, self.step_button, self.clock])

    def _on_play(self, change: dict[str, object]) -> None:
        sim = self.cluster.sim
        if change["new"]:
            self.play_button.description, self.play_button.icon = "Pause", "pause"
            if self._task is None or self._task.done():
                self._task = sim.start_playing(speed=self.speed.value, on_frame=self.on_frame)
            sim.resume()
        else:
            self.play_button.description, self.play_button.icon = "Play", "play"
            sim.pause()

    def _on_step(self, _: object) -> None:
        self.cluster.run_for(100)
        self.on_frame()
