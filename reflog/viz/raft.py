"""A RaftScope-like view of a Raft quorum in the simulation: roles, terms, logs, messages.

:class:`RaftView` draws the frames a :class:`~reflog.sim.raft_quorum.RaftRecorder`
records: the quorum on a circle with the messages on the wire, and each node's log
as a row of boxes. Like every view it has play, step, speed, a time slider that
scrubs back through the run and a "live" button, and its buttons act on the live
quorum (kill, restart, isolate, heal, propose) and record on.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.raft.core import Role
from reflog.sim.raft_quorum import DOWN, Frame, RaftRecorder, WireMessage
from reflog.viz.controls import TimelineView

__all__ = ["RaftView"]

ROLE_COLOURS = {
    Role.LEADER.value: "#2ca02c",
    Role.CANDIDATE.value: "#d62728",
    Role.PRE_CANDIDATE.value: "#ff7f0e",
    Role.FOLLOWER.value: "#1f77b4",
    DOWN: "#b0b0b0",
}
ROLE_KEY = " ".join(
    f'<span style="color:{colour}">●</span> {role}' for role, colour in ROLE_COLOURS.items()
)
# One colour per term (modulo the palette): an entry's colour says which leader wrote it.
TERM_COLOURS = [
    "#636efa",
    "#ef553b",
    "#00a67d",
    "#ab63fa",
    "#f58518",
    "#19a2c3",
    "#e45791",
    "#7c9a2d",
    "#b279a2",
    "#9d755d",
]
# Message kinds, drawn as one trace each: (legend name, marker symbol, colour).
KINDS: dict[str, tuple[str, str, str]] = {
    "vote": ("RequestVote / PreVote", "diamond", "#ff7f0e"),
    "vote reply": ("vote reply", "circle-open", "#ff7f0e"),
    "append": ("AppendEntries / InstallSnapshot", "square", "#1f77b4"),
    "append reply": ("append reply", "circle-open", "#1f77b4"),
}


class RaftView(TimelineView[Frame]):
    """The quorum on a circle, each node's log as a row of boxes, and a slider over time."""

    def __init__(self, recorder: RaftRecorder, *, log_window: int = 24) -> None:
        super().__init__(recorder)
        self.recorder = recorder
        self.log_window = log_window
        names = recorder.names
        self._pos = {
            name: (
                math.cos(math.pi / 2 - 2 * math.pi * i / len(names)),
                math.sin(math.pi / 2 - 2 * math.pi * i / len(names)),
            )
            for i, name in enumerate(names)
        }
        self.figure = go.FigureWidget(self.base_figure())
        self.node_picker = widgets.Dropdown(
            options=names, description="node", layout=widgets.Layout(width="160px")
        )
        self.buttons = {
            "kill": self.button("kill", "times", lambda: recorder.crash(self._selected())),
            "restart": self.button("restart", "redo", lambda: recorder.restart(self._selected())),
            "isolate": self.button("isolate", "unlink", lambda: recorder.isolate(self._selected())),
            "heal": self.button("heal", "link", recorder.heal),
            "propose entry": self.button("propose entry", "plus", self._propose),
        }
        self.status = widgets.HTML()
        self.start(
            widgets.HBox([self.node_picker, *self.buttons.values()]),
            self.status,
            self.figure,
        )

    # -- the figure -------------------------------------------------------------------
    def base_figure(self) -> go.Figure:
        """The figure with every trace, empty: the live widget and a static copy start here."""
        figure = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.4, 0.6],
            horizontal_spacing=0.08,
            subplot_titles=("the quorum", "logs: filled = committed, outlined = not yet"),
        )
        line = {"color": "#d0d0d0", "width": 1}
        figure.add_scatter(
            x=[],
            y=[],
            mode="lines",
            line=line,
            hoverinfo="skip",
            name="link",
            showlegend=False,
            row=1,
            col=1,
        )
        cut = {"color": "#d62728", "width": 2, "dash": "dot"}
        figure.add_scatter(
            x=[], y=[], mode="lines", line=cut, hoverinfo="skip", name="cut link", row=1, col=1
        )
        for name, symbol, colour in KINDS.values():
            figure.add_scatter(
                x=[],
                y=[],
                mode="markers",
                name=name,
                marker={"symbol": symbol, "size": 10, "color": colour, "line": {"width": 2}},
                hoverinfo="text",
                row=1,
                col=1,
            )
        figure.add_scatter(
            x=[],
            y=[],
            mode="markers+text",
            name="node",
            showlegend=False,
            marker={"size": 56, "line": {"width": 2, "color": "white"}},
            textfont={"color": "white", "size": 12},
            hoverinfo="text",
            row=1,
            col=1,
        )
        for name, symbol in (("committed", "square"), ("not committed", "square-open")):
            figure.add_scatter(
                x=[],
                y=[],
                mode="markers+text",
                name=name,
                showlegend=False,
                marker={"symbol": symbol, "size": 22, "line": {"width": 2}},
                textfont={"size": 11},
                hoverinfo="text",
                row=1,
                col=2,
            )
        figure.add_scatter(
            x=[],
            y=[],
            mode="markers",
            name="commit index",
            marker={"symbol": "line-ns", "size": 30, "line": {"width": 3, "color": "black"}},
            hoverinfo="skip",
            row=1,
            col=2,
        )
        figure.add_scatter(
            x=[],
            y=[],
            mode="markers+text",
            name="snapshot",
            showlegend=False,
            text=[],
            marker={"symbol": "square", "size": 22, "color": "#7f7f7f"},
            textfont={"size": 11, "color": "white"},
            hoverinfo="text",
            row=1,
            col=2,
        )
        n = len(self.recorder.names)
        figure.update_xaxes(visible=False, range=[-1.45, 1.45], row=1, col=1)
        figure.update_yaxes(
            visible=False, range=[-1.3, 1.3], scaleanchor="x", scaleratio=1, row=1, col=1
        )
        figure.update_xaxes(title="log index", dtick=1, row=1, col=2)
        figure.update_yaxes(
            range=[n - 0.5, -0.5], tickvals=list(range(n)), showgrid=False, row=1, col=2
        )
        figure.update_layout(
            height=450,
            margin={"t": 40, "b": 70, "l": 20, "r": 20},
            legend={"orientation": "h", "y": -0.2},  # below the "log index" axis title
            plot_bgcolor="white",
        )
        return figure

    def draw_figure(self, figure: go.Figure, frame: Frame) -> None:
        """Set every trace of ``figure`` (the widget or a static copy) to show ``frame``."""
        nodes = {n.name: n for n in frame.nodes}
        link_x: list[float | None] = []
        link_y: list[float | None] = []
        cut_x: list[float | None] = []
        cut_y: list[float | None] = []
        group_of = {name: i for i, group in enumerate(frame.groups) for name in group}
        names = self.recorder.names
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                xs, ys = (cut_x, cut_y) if group_of[a] != group_of[b] else (link_x, link_y)
                xs += [self._pos[a][0], self._pos[b][0], None]
                ys += [self._pos[a][1], self._pos[b][1], None]

        by_kind: dict[str, tuple[list[float], list[float], list[str]]] = {
            kind: ([], [], []) for kind in KINDS
        }
        for m in frame.wire:
            x, y = self._message_position(m, frame.at_ms)
            xs_, ys_, texts = by_kind[m.kind]
            xs_.append(x)
            ys_.append(y)
            texts.append(
                f"{m.label}<br>{m.src} → {m.dst}, sent at {m.sent_ms} ms, "
                f"arrives at {m.deliver_ms} ms"
            )

        data = figure.data
        data[0].x, data[0].y = link_x, link_y
        # A leading None keeps a trace in the legend while it has nothing to draw.
        data[1].x, data[1].y = [None, *cut_x], [None, *cut_y]
        for trace, kind in zip(data[2:6], KINDS, strict=True):
            xs_, ys_, texts = by_kind[kind]
            trace.x, trace.y, trace.hovertext = [None, *xs_], [None, *ys_], ["", *texts]
        self._draw_nodes(data[6], frame)
        self._draw_logs(figure, frame)
        figure.layout.yaxis2.ticktext = [
            f"{n} T{nodes[n].term} c{nodes[n].commit_index}" if nodes[n].up else f"{n} (down)"
            for n in names
        ]

    def static_base_figure(self) -> go.Figure:
        # Room above the plot for the title (the live view's status line) and below its
        # "log index" for the legend.
        figure = self.base_figure()
        figure.update_layout(
            margin={"t": 100, "b": 70}, title={"font": {"size": 12}, "y": 0.97}, legend={"y": -0.2}
        )
        figure.add_annotation(
            text=ROLE_KEY, x=0, y=1.16, xref="paper", yref="paper", xanchor="left", showarrow=False
        )
        return figure

    def static_title(self, snapshot: Frame) -> str:
        return f"<b>t = {snapshot.at_ms} ms</b> · {self._summary(snapshot)}"

    def draw_text(self, frame: Frame) -> None:
        self.status.value = f"<b>t = {frame.at_ms} ms</b> · {self._summary(frame)}<br>{ROLE_KEY}"

    @staticmethod
    def _summary(frame: Frame) -> str:
        network = (
            " | ".join("{" + " ".join(g) + "}" for g in frame.groups)
            if len(frame.groups) > 1
            else "connected"
        )
        return (
            f"leader: {frame.leader or 'none'} · network: {network} · "
            f"{len(frame.wire)} messages in flight · last action: {frame.last_action}"
        )

    def _message_position(self, m: WireMessage, now_ms: int) -> tuple[float, float]:
        (x0, y0), (x1, y1) = self._pos[m.src], self._pos[m.dst]
        span = m.deliver_ms - m.sent_ms
        progress = 0.5 if span <= 0 else min(1.0, max(0.0, (now_ms - m.sent_ms) / span))
        along = 0.25 + 0.5 * progress  # keep clear of the node markers at both ends
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy) or 1.0
        side = 0.04  # requests and replies on a link travel on opposite sides of it
        return x0 + along * dx - side * dy / length, y0 + along * dy + side * dx / length

    def _draw_nodes(self, trace: go.Scatter, frame: Frame) -> None:
        xs, ys, texts, hovers, colours = [], [], [], [], []
        for n in frame.nodes:
            x, y = self._pos[n.name]
            xs.append(x)
            ys.append(y)
            colours.append(ROLE_COLOURS.get(n.role, "#7f7f7f"))
            texts.append(f"<b>{n.name}</b><br>T{n.term}")
            hovers.append(
                f"{n.name}: {n.role}, term {n.term}, voted for {n.voted_for}, "
                f"commit {n.commit_index if n.up else '-'}, last index {n.last_index}"
            )
        trace.x, trace.y, trace.text, trace.hovertext = xs, ys, texts, hovers
        trace.marker.color = colours

    def _draw_logs(self, figure: go.Figure, frame: Frame) -> None:
        committed, pending, marks, snapshots = figure.data[7:11]
        high = max(1, *(n.last_index for n in frame.nodes))
        low = max(1, high - self.log_window + 1)
        snap_x: list[int] = []
        snap_y: list[int] = []
        snap_hover: list[str] = []
        boxes: dict[bool, tuple[list[int], list[int], list[str], list[str], list[str]]] = {
            True: ([], [], [], [], []),
            False: ([], [], [], [], []),
        }
        mark_x: list[float] = []
        mark_y: list[int] = []
        for row, n in enumerate(frame.nodes):
            if n.snapshot_index >= low:
                snap_x.append(n.snapshot_index)
                snap_y.append(row)
                snap_hover.append(
                    f"{n.name}: snapshot of the log up to {n.snapshot_index} "
                    f"(term {n.snapshot_term})"
                )
            for entry in n.log:
                if entry.index < low:
                    continue
                done = n.up and entry.index <= n.commit_index
                xs, ys, texts, hovers, colours = boxes[done]
                xs.append(entry.index)
                ys.append(row)
                texts.append(str(entry.term))
                colours.append(
                    TERM_COLOURS[entry.term % len(TERM_COLOURS)] if n.up else ROLE_COLOURS[DOWN]
                )
                state = "committed" if done else ("on disk" if not n.up else "not committed")
                data = entry.data.decode(errors="replace") or "(empty: a new leader's entry)"
                hovers.append(f"{n.name} [{entry.index}] term {entry.term}: {data} — {state}")
            if n.up and n.commit_index >= low - 1:
                mark_x.append(n.commit_index + 0.5)
                mark_y.append(row)
        for trace, done in ((committed, True), (pending, False)):
            xs, ys, texts, hovers, colours = boxes[done]
            trace.x, trace.y, trace.text, trace.hovertext = xs, ys, texts, hovers
            trace.marker.color = colours
            trace.marker.line.color = colours
            trace.textfont.color = "white" if done else colours
        marks.x, marks.y = mark_x, mark_y
        snapshots.x, snapshots.y, snapshots.hovertext = snap_x, snap_y, snap_hover
        snapshots.text = ["S"] * len(snap_x)
        figure.layout.xaxis2.range = [low - 0.7, max(high, low + 9) + 0.7]

    # -- controls ---------------------------------------------------------------------
    def _selected(self) -> str:
        name = self.node_picker.value
        assert isinstance(name, str)
        return name

    def _propose(self) -> None:
        self.recorder.propose()
