"""What every live view puts above its figure: play, step, speed, a time slider and "live".

A view draws one recorded snapshot at a time. While it is **live** it follows the
run: every new snapshot is drawn as it is recorded. Moving the time slider back
**scrubs**: the view draws the snapshot recorded then, and stops following (a run
that was playing pauses, so the moment being looked at is not thinned away). The
"live" button jumps back to the latest snapshot and follows again.

Every control that acts on the run (kill a broker, produce, play, step...) is made
with :meth:`TimelineView.button` or wrapped in :meth:`TimelineControls.act`: pressed
while scrubbed back, it first jumps to live, so what it does is seen at once and no
button ever looks dead.

The run is anything that records a :class:`~reflog.sim.timeline.Timeline` and can be
played: a :class:`~reflog.sim.cluster.Cluster`, or the Raft chapter's recorder.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import ipywidgets as widgets
import plotly.graph_objects as go

from reflog.sim.timeline import Timeline, UserAction
from reflog.viz.static import live_or_static, scrubbable_figure

__all__ = ["LiveRun", "TimelineControls", "TimelineView", "complete_batch"]


def complete_batch(figure: go.FigureWidget) -> None:
    """Give every trace a pending ``batch_update`` touches every property the batch sets (the
    trace's own value where the draw left it alone), so that the batch resets nothing.

    plotly 7.1 sends a batch as one update whose per-trace value lists hold the marker
    ``"_undefined_"`` for the traces a property was not set on (``_build_update_params_from_batch``
    and the ``Undefined`` serializer in plotly/serializers.py). Its JavaScript half has the
    function that turns the marker back into ``undefined`` but, since the widget became an
    anywidget, nothing calls it: plotly.js is handed the string, which resets the property
    (markers lost their colours, traces their positions). Call it inside the batch, last.

    A property another kind of trace does not have (a bar's ``base`` on a scatter) still goes
    as the marker: plotly.js keeps it aside as an unknown attribute, which draws nothing.
    """
    edits = figure._batch_trace_edits  # {trace index: {"marker.color": value, ...}}
    props = {prop for trace_edits in edits.values() for prop in trace_edits}
    for index, trace_edits in edits.items():
        trace = figure.data[index]
        for prop in sorted(props - trace_edits.keys()):
            # Not a part of what this draw set whole ("marker.color" of a new "marker"), nor
            # the whole of what it set a part of: its old value would undo the new one.
            if prop in trace and not _overlaps(prop, trace_edits):
                value = trace[prop]  # in a batch, a read gives the value from before it
                # A compound property ("marker") as plain data, not the trace's own object.
                as_json = getattr(value, "to_plotly_json", None)
                trace_edits[prop] = value if as_json is None else as_json()


def _overlaps(prop: str, edited: Iterable[str]) -> bool:
    """Whether ``prop`` is a part or the whole of a property in ``edited`` (dotted paths)."""
    return any(prop.startswith(e + ".") or e.startswith(prop + ".") for e in edited)


class _Timed(Protocol):
    @property
    def at_ms(self) -> int: ...


S = TypeVar("S", bound=_Timed)


class LiveRun(Protocol[S]):
    """What the controls need of a run: its timeline, and a way to run it."""

    @property
    def timeline(self) -> Timeline[S]: ...

    def on_change(self, callback: Callable[[], None]) -> None: ...

    def run_for(self, ms: int) -> None: ...

    def play(self, speed: float | None = None, for_ms: int | None = None) -> asyncio.Task[None]: ...

    def pause(self) -> None: ...

    @property
    def playing(self) -> bool: ...

    @property
    def speed(self) -> float: ...

    @speed.setter
    def speed(self, speed: float) -> None: ...


class TimelineControls(Generic[S]):
    """Play/pause, step, speed, the time slider and the live button, for one view."""

    def __init__(self, run: LiveRun[S], draw: Callable[[S], None], *, step_ms: int = 100) -> None:
        self.run = run
        self._draw = draw
        self.step_ms = step_ms
        self.following = True  # live: draw every new snapshot
        self._moving_slider = False  # the slider is being moved by code, not by a user
        self._scrub_to: int | None = None  # where a user's drag asked to go, not drawn yet
        self._stale_position: int | None = None  # where a drag left the slider before a control
        last = max(len(run.timeline) - 1, 0)
        self.shown: S | None = None  # the snapshot on screen

        self.play_button = widgets.ToggleButton(value=False, description="Play", icon="play")
        self.step_button = widgets.Button(description=f"run {step_ms} ms", icon="step-forward")
        self.speed = widgets.FloatLogSlider(
            value=run.speed, base=10, min=-1, max=1.5, description="speed ×"
        )
        self.slider = widgets.IntSlider(
            value=last,
            min=0,
            max=last,
            description="time",
            readout=False,
            continuous_update=True,
            layout=widgets.Layout(width="50%"),
        )
        self.live_button = widgets.Button(icon="circle", layout=widgets.Layout(width="auto"))
        self.clock = widgets.HTML()
        self.said = widgets.HTML()  # what the last control did (see say)
        self._said = ""

        self.play_button.observe(self._on_play, names="value")
        self.step_button.on_click(self.act(lambda _: self.run.run_for(self.step_ms)))
        self.speed.observe(self._on_speed, names="value")
        self.slider.observe(self._on_slider, names="value")
        self.live_button.on_click(lambda _: self.go_live())
        run.on_change(self._on_recorded)
        self._style_live_button()

    # -- layout -----------------------------------------------------------------------
    def rows(self) -> list[widgets.Widget]:
        """Two rows: play, step, speed; then the time slider, live and the clock."""
        return [
            widgets.HBox([self.play_button, self.step_button, self.speed]),
            widgets.HBox([self.slider, self.live_button, self.clock]),
        ]

    def say(self, text: str) -> None:
        """Write what a control just did. While the run is paused, say too that the cluster
        answers only when time runs: a killed leader stays "leader" until the controller
        notices, which takes simulated time, not a wait in front of the screen."""
        self._said = text
        self._show_said()

    def _show_said(self) -> None:
        if not self._said:
            return
        line = f"<i>{html.escape(self._said)}</i>"
        if not self.run.playing:
            line += (
                f" · paused: the cluster reacts as time runs (press Play, or "
                f"“run {self.step_ms} ms”)"
            )
        self.said.value = line

    # -- live and scrubbed ------------------------------------------------------------
    def act(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        """``handler`` for a control that acts on the run: it goes live first."""

        def acting(event: Any) -> None:
            self._go_live_from_a_control()
            handler(event)

        return acting

    def _go_live_from_a_control(self) -> None:
        if not self.following:
            # The browser may still hold the drag that scrubbed back (ipywidgets sends a
            # widget's later changes once the kernel has answered the earlier ones, and drops
            # the kernel's updates to a value while its own are unanswered): its last position
            # can come in after this press. See _on_slider.
            self._stale_position = self.slider.value
        self.go_live()

    def go_live(self) -> None:
        """Jump to the latest snapshot and follow the run again."""
        self._scrub_to = None  # a drag not drawn yet is overtaken by going live
        self.following = True
        self._style_live_button()
        self._sync_slider()

    def show(self, index: int) -> None:
        """Scrub to recorded snapshot ``index`` (the last one: live)."""
        timeline = self.run.timeline
        if not timeline:
            return
        index = max(0, min(index, len(timeline) - 1))
        if index == len(timeline) - 1:
            self.go_live()
            return
        if self.run.playing:
            self.run.pause()
            self._set_play_button(False)
        self.following = False
        self._style_live_button()
        self._set_slider(index)
        self._show(timeline[index])

    def redraw(self) -> None:
        """Draw again what is shown (the latest snapshot while live)."""
        if self.following:
            self._sync_slider()
        elif self.shown is not None:
            self._show(self.shown)

    def _on_recorded(self) -> None:
        if self.following:
            self._sync_slider()
            return
        # Scrubbed back: keep showing the same moment while the slider's end grows.
        timeline = self.run.timeline
        self._moving_slider = True
        try:
            self.slider.max = max(len(timeline) - 1, 0)
            if self.shown is not None:
                self.slider.value = timeline.index_at(self.shown.at_ms)
        finally:
            self._moving_slider = False

    def _sync_slider(self) -> None:
        timeline = self.run.timeline
        if not timeline:
            return
        last = len(timeline) - 1
        self._moving_slider = True
        try:
            self.slider.max = last
            self.slider.value = last
        finally:
            self._moving_slider = False
        self._show(timeline[last])

    def _set_slider(self, index: int) -> None:
        self._moving_slider = True
        try:
            self.slider.value = index
        finally:
            self._moving_slider = False

    def _show(self, snapshot: S) -> None:
        self.shown = snapshot
        self._draw(snapshot)
        where = "live" if self.following else "recorded"
        self.clock.value = f"<b>t = {snapshot.at_ms} ms</b> ({where})"

    def _style_live_button(self) -> None:
        if self.following:
            self.live_button.description, self.live_button.button_style = "live", "success"
            self.live_button.tooltip = "showing the cluster as it runs"
        else:
            self.live_button.description, self.live_button.button_style = "go live", "warning"
            self.live_button.tooltip = "showing a recorded moment: click to follow the run again"

    # -- widgets ----------------------------------------------------------------------
    def _on_slider(self, change: dict[str, Any]) -> None:
        if self._moving_slider:
            return
        stale, self._stale_position = self._stale_position, None
        if stale is not None and change["new"] == stale and self.following:
            # The tail of the drag from before a control made the view live: not a new
            # scrub. The view stays live, and the slider goes back to the end.
            self._sync_slider()
            return
        # In a kernel, draw after this message is answered, not while handling it: the
        # browser holds a drag's later positions until the kernel answers the earlier one,
        # so drawing here would let a button pressed meanwhile overtake the drag's last
        # position, which then scrubs the view back after the button made it live.
        # Drawing later also draws only where a fast drag stopped, not every position.
        pending = self._scrub_to is not None
        self._scrub_to = int(change["new"])
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a plain script or test): draw now
            self._scrub()
            return
        if not pending:
            loop.call_soon(self._scrub)

    def _scrub(self) -> None:
        index, self._scrub_to = self._scrub_to, None
        if index is not None:
            self.show(index)

    def _on_play(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._go_live_from_a_control()
            self.play_button.description, self.play_button.icon = "Pause", "pause"
            self.run.play(self.speed.value)
        else:
            self.play_button.description, self.play_button.icon = "Play", "play"
            self.run.pause()
        self._show_said()  # "paused: press Play" is true no more, or again

    def _set_play_button(self, playing: bool) -> None:
        self.play_button.value = playing  # the observer pauses or plays

    def _on_speed(self, change: dict[str, Any]) -> None:
        self.run.speed = float(change["new"])


class TimelineView(Generic[S]):
    """A view of a recorded run, drawn one snapshot at a time.

    A subclass gives :meth:`base_figure` (every trace, empty) and :meth:`draw_figure`
    (set the traces and layout for one snapshot, on any figure: the live widget or a
    static copy), optionally :meth:`draw_text` (status lines beside the figure); it
    makes ``self.figure = go.FigureWidget(self.base_figure())``, its buttons with
    :meth:`button`, and lays out with :meth:`start`.
    """

    figure: go.FigureWidget
    widget: widgets.VBox

    def __init__(self, run: LiveRun[S], *, step_ms: int = 100) -> None:
        self.run = run
        self.controls: TimelineControls[S] = TimelineControls(run, self.draw, step_ms=step_ms)

    def base_figure(self) -> go.Figure:
        raise NotImplementedError

    def draw_figure(self, figure: go.Figure, snapshot: S) -> None:
        raise NotImplementedError

    def draw_text(self, snapshot: S) -> None:
        """Update text widgets for ``snapshot`` (none by default)."""

    def draw(self, snapshot: S) -> None:
        # One batch per draw: the browser gets the whole draw as one update and applies it at
        # once (property by property, plotly.js in JupyterLab was seen to leave the SVG of a
        # trace drawn from an earlier step, e.g. one text line of two).
        with self.figure.batch_update():
            self.draw_figure(self.figure, snapshot)
            complete_batch(self.figure)
        self.draw_text(snapshot)

    def button(self, label: str, icon: str, handler: Callable[[], str | None]) -> widgets.Button:
        """A button that acts on the run (pressed while scrubbed back, it goes live first).

        What it did is said under the controls, so that no press goes unanswered: the line
        ``handler`` returns, else what it did to a :class:`~reflog.sim.cluster.Cluster`
        (the actions the cluster recorded), else that there was nothing to do."""

        def pressed() -> None:
            # A Cluster records what is done to it; other runs say it in their own status.
            actions: list[UserAction] | None = getattr(self.run, "actions", None)
            before = len(actions) if actions is not None else 0
            said = handler()
            if said is None and actions is not None:
                done = [action.description for action in actions[before:]]
                said = "; ".join(done) if done else f"{label}: nothing to do right now"
            if said is not None:
                self.controls.say(said)

        button = widgets.Button(description=label, icon=icon, layout=widgets.Layout(width="auto"))
        button.on_click(self.controls.act(lambda _: pressed()))
        return button

    def start(self, *children: widgets.Widget) -> widgets.VBox:
        """Lay out the controls above ``children`` (the first of them: the view's buttons,
        with what the last one did written under them) and draw the latest snapshot."""
        buttons, *rest = children
        self.widget = widgets.VBox([*self.controls.rows(), buttons, self.controls.said, *rest])
        self.controls.go_live()
        return self.widget

    @property
    def shown(self) -> S | None:
        return self.controls.shown

    # -- the copy stored in the notebook ------------------------------------------------
    def static_base_figure(self) -> go.Figure:
        """The base of the stored copy (a subclass may make room for a title there)."""
        return self.base_figure()

    def static_title(self, snapshot: S) -> str:
        """The stored copy's title for ``snapshot`` (the live view's status line)."""
        return f"<b>t = {snapshot.at_ms} ms</b>"

    def static_figure(self, max_frames: int = 40) -> go.Figure:
        """The recorded run as a plain figure whose slider works without a kernel."""

        def draw(figure: go.Figure, snapshot: S) -> None:
            self.draw_figure(figure, snapshot)
            figure.layout.title.text = self.static_title(snapshot)

        return scrubbable_figure(
            self.static_base_figure(),
            draw,
            list(self.run.timeline),
            label=lambda snapshot: f"{snapshot.at_ms} ms",
            max_frames=max_frames,
        )

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
        """Displayed, a view is its live widget with the stored copy beside it for readers
        without a kernel (reflog.viz.static)."""
        return live_or_static(self.widget, self.static_figure())
