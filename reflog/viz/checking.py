"""The history checker's timeline: what the clients saw, the nemesis's faults, and each anomaly
drawn where it happened.

One row per broker (grey while crashed, orange while isolated, a triangle at each fault), one
for the producer (each send where its answer came: green acknowledged, red refused, grey no
answer) and one for the final reader (each poll). An anomaly is a marker on every operation
that shows it, joined by a dashed line: a lost write joins the send that was acknowledged to
the read that went past its offset without it. Each kind of anomaly has its own marker, named
in the legend (clicking a name there hides that kind), and each anomaly says what it is when
hovered.

* :func:`checked_figure` draws a finished run (a :class:`~reflog.chaos.simulated.SimulatedRun`);
* :class:`CheckerView` is the live view of a run still going: buttons to produce, kill or
  isolate the leader, restart, heal and read, and the time slider to scrub back, the checker's
  verdict recomputed for the moment shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import ipywidgets as widgets
import plotly.graph_objects as go

from reflog.chaos.report import op_time_ms, poll_text, send_text
from reflog.chaos.simulated import BROKERS, PRODUCER, READER, FaultEvent, SimulatedRun
from reflog.check import ANOMALY_KINDS, History, Op, Outcome, Poll, Send, Verdict, check
from reflog.sim.timeline import Snapshot
from reflog.viz.controls import TimelineView

__all__ = ["CheckerView", "checked_figure", "draw_checked", "empty_figure", "history_until"]

ROWS = [READER, PRODUCER, *reversed(BROKERS)]  # bottom to top
_SENDS = {Outcome.OK: "#2e7d32", Outcome.FAIL: "#c62828", Outcome.INFO: "#9e9e9e"}
_SEND_NAMES = {Outcome.OK: "acknowledged", Outcome.FAIL: "refused", Outcome.INFO: "no answer"}
# Anomalies not drawn: before the final reads every acknowledged record is still "unseen".
NOT_DRAWN = frozenset({"unseen"})
# One trace per kind drawn, each with its own marker (symbol, colour): the kinds were written as
# text beside their first operation, where the names of kinds found at neighbouring sends ran
# into each other and off the plot's edge.
DRAWN_KINDS = tuple(k for k in ANOMALY_KINDS if k not in NOT_DRAWN)
_SYMBOLS = (
    "x-thin-open", "circle-open", "diamond-open", "square-open", "star-open",
    "triangle-up-open", "hexagon-open", "cross-thin-open", "triangle-down-open", "pentagon-open",
)  # fmt: skip
_COLOURS = ("#d50000", "#aa00ff", "#ef6c00", "#c51162", "#4a148c")
ANOMALY_MARKERS = {
    kind: (_SYMBOLS[i % len(_SYMBOLS)], _COLOURS[i % len(_COLOURS)])
    for i, kind in enumerate(DRAWN_KINDS)
}
FIRST_ANOMALY = 7  # the index of the first kind's trace


def history_until(history: History, at_ms: int) -> History:
    """The history as it stood at ``at_ms``: later operations gone, later answers not yet in."""
    ops: list[Op] = []
    for op in history.ops:
        if isinstance(op, Send):
            if op.invoked_ms > at_ms:
                continue
            if op.completed_ms is not None and op.completed_ms > at_ms:
                op = dataclasses.replace(
                    op, completed_ms=None, outcome=Outcome.INFO, offset=None, error=""
                )
        elif isinstance(op, Poll) and op.completed_ms > at_ms:
            continue
        ops.append(op)
    return History(ops)


def empty_figure(height: int = 380) -> go.Figure:
    figure = go.Figure()
    line = {"width": 10}
    figure.add_scatter(name="crashed", mode="lines", line={**line, "color": "#9e9e9e"})
    figure.add_scatter(name="isolated", mode="lines", line={**line, "color": "#ffb74d"})
    figure.add_scatter(
        name="fault", mode="markers", hoverinfo="text",
        marker={"symbol": "triangle-down", "size": 11, "color": "#6d4c41"},
    )  # fmt: skip
    for outcome, colour in _SENDS.items():
        figure.add_scatter(
            name=f"send {_SEND_NAMES[outcome]}", mode="markers", hoverinfo="text",
            marker={"color": colour, "size": 7},
        )  # fmt: skip
    figure.add_scatter(
        name="poll", mode="markers", hoverinfo="text",
        marker={"color": "#1565c0", "size": 8, "symbol": "square"},
    )  # fmt: skip
    for kind, (symbol, colour) in ANOMALY_MARKERS.items():
        figure.add_scatter(
            name=kind, mode="lines+markers", hoverinfo="text", showlegend=False, opacity=0.8,
            line={"color": colour, "dash": "dash", "width": 1},
            marker={"color": colour, "size": 10, "symbol": symbol, "line": {"width": 1.5}},
        )  # fmt: skip
    figure.update_layout(
        height=height,
        margin={"l": 115, "r": 20, "t": 50, "b": 40},  # room for "final-reader"
        title={"font": {"size": 14}},
        legend={"x": 1.01, "y": 1, "yanchor": "top"},  # beside the plot: below it sit a slider
        xaxis={"title": "simulated ms", "rangemode": "tozero"},
        yaxis={"categoryorder": "array", "categoryarray": ROWS, "range": [-0.5, len(ROWS) - 0.5]},
    )
    return figure


def draw_checked(
    figure: go.Figure,
    history: History,
    faults: Sequence[FaultEvent],
    verdict: Verdict,
    now_ms: int,
) -> None:
    """Set every trace of an :func:`empty_figure` for ``history`` up to ``now_ms``."""
    crashed, isolated = _spans(faults, now_ms)
    figure.data[0].update(_segments(crashed))
    figure.data[1].update(_segments(isolated))
    shown = [f for f in faults if f.at_ms <= now_ms and f.target in BROKERS]
    figure.data[2].update(
        x=[f.at_ms for f in shown], y=[f.target for f in shown],
        text=[f"{f.kind} {f.target} at {f.at_ms} ms" for f in shown],
    )  # fmt: skip
    for i, outcome in enumerate(_SENDS, start=3):
        sends = [op for op in history.ops if isinstance(op, Send) and op.outcome is outcome]
        figure.data[i].update(
            x=[op_time_ms(op) for op in sends], y=[op.process for op in sends],
            text=[send_text(op) for op in sends],
        )  # fmt: skip
    polls = [op for op in history.ops if isinstance(op, Poll)]
    figure.data[6].update(
        x=[op.completed_ms for op in polls], y=[op.process for op in polls],
        text=[poll_text(op) for op in polls],
    )  # fmt: skip
    for i, kind in enumerate(DRAWN_KINDS, start=FIRST_ANOMALY):
        xs: list[int | None] = []
        ys: list[str | None] = []
        hovers: list[str | None] = []
        for anomaly in verdict.of_kind(kind):
            for index in anomaly.ops:
                op = history[index]
                xs.append(op_time_ms(op))
                ys.append(op.process)
                hovers.append(str(anomaly))
            xs.append(None)  # a gap: each anomaly's line is its own
            ys.append(None)
            hovers.append(None)
        # In the legend only the kinds found (so far, at the moment shown).
        figure.data[i].update(x=xs, y=ys, hovertext=hovers, showlegend=bool(xs))
    figure.layout.title.text = _title(verdict)
    figure.layout.xaxis.range = [0, max(now_ms, 1) * 1.02]


def checked_figure(run: SimulatedRun, title: str = "", height: int = 380) -> go.Figure:
    """A finished run, checked, as one plain figure."""
    figure = empty_figure(height)
    verdict = run.verdict()
    draw_checked(figure, run.history, run.faults, verdict, run.cluster.now_ms)
    if title:
        figure.layout.title.text = f"{title}: {figure.layout.title.text}"
    return figure


class CheckerView(TimelineView[Snapshot]):
    """A :class:`SimulatedRun` as it goes, checked at every moment shown."""

    def __init__(self, run: SimulatedRun) -> None:
        super().__init__(run.cluster)
        self.sim_run = run
        self.figure = go.FigureWidget(empty_figure())
        self.status = widgets.HTML()
        buttons = [
            self.button("produce 10", "paper-plane", self._produce),
            self.button("kill the leader", "bolt", lambda: self._leader("crash")),
            self.button("isolate the leader", "unlink", lambda: self._leader("isolate")),
            self.button("restart all", "redo", self._restart_all),
            self.button("heal", "medkit", self._heal),
            self.button("read all", "book", self._read_all),
        ]
        self.start(widgets.HBox(buttons), self.status, self.figure)

    def base_figure(self) -> go.Figure:
        return empty_figure()

    def static_figure(self, max_frames: int = 20) -> go.Figure:
        """Fewer stored frames than other views: each carries every operation so far."""
        return super().static_figure(max_frames)

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot) -> None:
        history = history_until(self.sim_run.history, snapshot.at_ms)
        draw_checked(figure, history, self.sim_run.faults, check(history), snapshot.at_ms)

    def static_title(self, snapshot: Snapshot) -> str:
        history = history_until(self.sim_run.history, snapshot.at_ms)
        return f"t = {snapshot.at_ms} ms: {_title(check(history))}"

    # -- controls -------------------------------------------------------------------------
    def _produce(self) -> str:
        for _ in range(10):
            self.sim_run.send()
            self.sim_run.run_for(50)
        return f"sent 10 records with acks={'all' if self.sim_run.acks == -1 else 1}"

    def _leader(self, kind: str) -> str:
        cluster = self.sim_run.cluster
        leader = cluster.leader_of(self.sim_run.tp)
        if leader <= 0:
            self.sim_run.run_for(100)
            return "no leader right now: restart or heal first"
        if not cluster.sim.is_up(f"broker-{leader}"):
            self.sim_run.run_for(100)
            return f"broker-{leader} is down already; the controller has not noticed yet"
        self.sim_run.fault(kind, f"broker-{leader}")
        self.sim_run.run_for(100)
        return f"{'crashed' if kind == 'crash' else 'isolated'} broker-{leader}, the leader"

    def _restart_all(self) -> str:
        down = [b for b in BROKERS if not self.sim_run.cluster.sim.is_up(b)]
        for broker in down:
            self.sim_run.fault("restart", broker)
        self.sim_run.run_for(100)
        return f"restarted {', '.join(down)}" if down else "every broker is running"

    def _heal(self) -> str:
        self.sim_run.fault("heal", "all")
        return "healed the network"

    def _read_all(self) -> str:
        if self.sim_run.cluster.leader_of(self.sim_run.tp) <= 0:
            self.sim_run.run_for(100)
            return "no leader to read from: restart or heal first"
        self.sim_run.read_all()
        self.sim_run.run_for(10)
        self.status.value = self.sim_run.verdict().describe(limit=3).replace("\n", "<br>")
        return "read the partition back from its start: the checker's verdict is below"


def _title(verdict: Verdict) -> str:
    drawn = [k for k in verdict.kinds if k not in NOT_DRAWN]
    unseen = len(verdict.of_kind("unseen"))
    waiting = f" ({unseen} acknowledged, not read yet)" if unseen else ""
    if not drawn:
        return f"<b>no anomaly</b>{waiting}"
    counts = ", ".join(f"{kind} ×{len(verdict.of_kind(kind))}" for kind in drawn)
    return f"<b style='color:#d50000'>{counts}</b>{waiting}"


def _spans(
    faults: Sequence[FaultEvent], now_ms: int
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(broker, start, end) while crashed, and while isolated (until a heal), up to now."""
    crashed: list[tuple[str, int, int]] = []
    isolated: list[tuple[str, int, int]] = []
    down: dict[str, int] = {}
    cut: dict[str, int] = {}
    for f in faults:
        if f.at_ms > now_ms:
            break
        if f.kind == "crash":
            down.setdefault(f.target, f.at_ms)
        elif f.kind == "restart" and f.target in down:
            crashed.append((f.target, down.pop(f.target), f.at_ms))
        elif f.kind == "isolate":
            cut.setdefault(f.target, f.at_ms)
        elif f.kind == "heal":
            isolated.extend((b, start, f.at_ms) for b, start in cut.items())
            cut.clear()
    crashed.extend((b, start, now_ms) for b, start in down.items())
    isolated.extend((b, start, now_ms) for b, start in cut.items())
    return crashed, isolated


def _segments(spans: list[tuple[str, int, int]]) -> dict[str, list[object]]:
    xs: list[object] = []
    ys: list[object] = []
    for broker, start, end in spans:
        xs += [start, end, None]
        ys += [broker, broker, None]
    return {"x": xs, "y": ys}
