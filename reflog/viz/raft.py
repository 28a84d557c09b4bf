"""A RaftScope-like view of a Raft quorum in the simulation: roles, terms, logs, messages.

:class:`RaftRecorder` drives a :class:`~reflog.sim.world.Simulation` one event at
a time and keeps, in its :class:`~reflog.sim.timeline.Timeline`, a :class:`Frame`
for every millisecond in which something happened: each node's role, term, commit
index and log, the messages on the wire, and which links are cut. :class:`RaftView`
draws any recorded frame; like every view it has play, step, speed, a time slider
that scrubs back through the run and a "live" button, and its buttons act on the
live quorum (kill, restart, isolate, heal, propose) and record on.

Messages in flight come from the simulation's trace, through its public
subscription: a ``MessageSent`` puts a message on the wire, and the matching
``MessageDelivered`` or ``MessageDropped`` takes it off.

Run the quorum through the recorder (``run_for``, ``run_until``, ``play``): events
run straight on the simulation are not drawn frame by frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.raft.core import Role
from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RequestVote,
    RequestVoteResponse,
)
from reflog.sim.raft_nodes import RaftSimNode
from reflog.sim.trace import MessageDelivered, MessageDropped, MessageSent, TraceEvent
from reflog.sim.world import Simulation
from reflog.viz.controls import TimelineView
from reflog.viz.recorder import SimRecorder

__all__ = [
    "Frame",
    "NodeFrame",
    "RaftRecorder",
    "RaftView",
    "WireMessage",
    "format_frame",
    "format_log",
]

DOWN = "down"
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


@dataclass(frozen=True)
class NodeFrame:
    """One node at one instant. A down node shows the term, snapshot and log it has on disk."""

    name: str
    up: bool
    role: str  # a Role's value, or "down"
    term: int
    voted_for: str | None
    commit_index: int  # volatile: unknown (0) while down, back to the snapshot's on restart
    log: tuple[Entry, ...]  # the entries after the snapshot
    snapshot_index: int = 0  # the log up to here is compacted into a snapshot
    snapshot_term: int = 0

    @property
    def last_index(self) -> int:
        return self.log[-1].index if self.log else self.snapshot_index


@dataclass(frozen=True)
class WireMessage:
    src: str
    dst: str
    kind: str  # a key of KINDS
    label: str
    sent_ms: int
    deliver_ms: int


@dataclass(frozen=True)
class Frame:
    at_ms: int
    nodes: tuple[NodeFrame, ...]
    wire: tuple[WireMessage, ...]
    groups: tuple[tuple[str, ...], ...]  # who can talk to whom: one group unless partitioned
    last_action: str

    def node(self, name: str) -> NodeFrame:
        return next(n for n in self.nodes if n.name == name)

    @property
    def leader(self) -> str | None:
        """The live leader of the highest term (a deposed one may not know it yet)."""
        leaders = [n for n in self.nodes if n.role == Role.LEADER.value]
        return max(leaders, key=lambda n: n.term).name if leaders else None


def classify(payload: object) -> tuple[str, str]:
    """A message's kind (a key of KINDS) and a one-line description."""
    if isinstance(payload, RequestVote):
        name = "PreVote" if payload.pre_vote else "RequestVote"
        return "vote", f"{name} T{payload.term} from {payload.candidate_id}"
    if isinstance(payload, RequestVoteResponse):
        name = "pre-vote" if payload.pre_vote else "vote"
        answer = "granted" if payload.vote_granted else "refused"
        return "vote reply", f"{name} {answer} (T{payload.term})"
    if isinstance(payload, AppendEntries):
        what = f"{len(payload.entries)} entries" if payload.entries else "heartbeat"
        return "append", f"AppendEntries T{payload.term}: {what}, commit {payload.leader_commit}"
    if isinstance(payload, AppendEntriesResponse):
        answer = f"ok, match {payload.match_index}" if payload.success else "rejected"
        return "append reply", f"append {answer} (T{payload.term})"
    if isinstance(payload, InstallSnapshot):
        last = payload.snapshot.last_index
        return "append", f"InstallSnapshot T{payload.term}: the log up to {last}"
    if isinstance(payload, InstallSnapshotResponse):
        return "append reply", f"snapshot installed, match {payload.match_index} (T{payload.term})"
    name = type(payload).__name__
    return ("append reply" if name.endswith("Response") else "append"), name


def format_log(node: NodeFrame, max_data: int = 8) -> str:
    """Entries as ``term`` or ``term:data``; a ``|`` after the last committed one."""
    if not node.log and not node.snapshot_index:
        return "(empty)"
    parts: list[str] = []
    if node.snapshot_index:
        parts.append(f"[snapshot to {node.snapshot_index}]")
    if node.up and node.commit_index == node.snapshot_index and node.log:
        parts.append("|")
    for entry in node.log:
        text = str(entry.term)
        if entry.data:
            text += ":" + entry.data.decode(errors="replace")[:max_data]
        parts.append(text)
        if node.up and entry.index == node.commit_index:
            parts.append("|")
    return " ".join(parts)


def format_frame(frame: Frame) -> str:
    """One line per node: role, term, commit index and log."""
    lines = []
    for n in frame.nodes:
        commit = str(n.commit_index) if n.up else "-"
        lines.append(
            f"{n.name:4} {n.role:12} term {n.term:<3} commit {commit:<3} log {format_log(n)}"
        )
    return "\n".join(lines)


@dataclass
class _InFlight:
    src: str
    dst: str
    payload: object
    sent_ms: int
    deliver_ms: int


class RaftRecorder(SimRecorder[Frame]):
    """Runs a Raft quorum's simulation event by event and records a frame per busy millisecond."""

    def __init__(self, sim: Simulation, nodes: Mapping[str, RaftSimNode]) -> None:
        super().__init__(sim)
        self.nodes = dict(nodes)
        self.names = list(self.nodes)
        self._wire: list[_InFlight] = []
        self._last_seen: dict[str, NodeFrame] = {}
        self._last_action = ""
        self._proposals = 0
        sim.trace.subscribe(self._on_trace)
        sim.start()
        self._act("start")

    @property
    def frames(self) -> list[Frame]:
        """Every recorded frame, in time order (a copy of the timeline's)."""
        return list(self.timeline)

    # -- watching ---------------------------------------------------------------------
    def _on_trace(self, event: TraceEvent) -> None:
        if isinstance(event, MessageSent):
            self._wire.append(
                _InFlight(event.src, event.dst, event.payload, event.at_ms, event.deliver_at_ms)
            )
        elif isinstance(event, MessageDelivered | MessageDropped):
            # A link is FIFO and the payload is the very object sent: the first match is it.
            # (A message dropped as it is sent was never on the wire: nothing matches.)
            for i, m in enumerate(self._wire):
                if m.src == event.src and m.dst == event.dst and m.payload is event.payload:
                    del self._wire[i]
                    break

    def capture(self) -> Frame:
        """The cluster as it is now (not recorded)."""
        nodes = []
        for name in self.names:
            core = self.nodes[name].node
            if core is None:
                seen = self._last_seen.get(name) or NodeFrame(name, False, DOWN, 0, None, 0, ())
                # What is on disk survives; the commit index was volatile.
                nodes.append(replace(seen, up=False, role=DOWN, commit_index=0))
                continue
            state = NodeFrame(
                name,
                True,
                core.role.value,
                core.current_term,
                core.voted_for,
                core.commit_index,
                tuple(core.log),
                core.snapshot.last_index,
                core.snapshot.last_term,
            )
            self._last_seen[name] = state
            nodes.append(state)
        wire = []
        for m in self._wire:
            kind, label = classify(m.payload)
            wire.append(WireMessage(m.src, m.dst, kind, label, m.sent_ms, m.deliver_ms))
        return Frame(self.sim.now_ms, tuple(nodes), tuple(wire), self._groups(), self._last_action)

    def _groups(self) -> tuple[tuple[str, ...], ...]:
        cut = set(self.sim.network.cut_links())
        groups: list[tuple[str, ...]] = []
        placed: set[str] = set()
        for name in self.names:
            if name in placed:
                continue
            group, todo = [name], [name]
            placed.add(name)
            while todo:
                a = todo.pop()
                for b in self.names:
                    if b not in placed and (a, b) not in cut and (b, a) not in cut:
                        placed.add(b)
                        group.append(b)
                        todo.append(b)
            groups.append(tuple(sorted(group, key=self.names.index)))
        return tuple(groups)

    def _act(self, description: str) -> None:
        self._last_action = f"{description} at {self.sim.now_ms} ms"
        self.record()
        self._changed()

    # -- running ----------------------------------------------------------------------
    # -- acting -----------------------------------------------------------------------
    def crash(self, name: str) -> None:
        self.sim.crash(name)
        self._act(f"killed {name}")

    def restart(self, name: str) -> None:
        self.sim.restart(name)
        self._act(f"restarted {name}")

    def isolate(self, *names: str) -> None:
        """Cut ``names`` off from the other nodes (they still talk among themselves)."""
        group = set(names)
        self.sim.partition(group, set(self.names) - group)
        self._act(f"isolated {', '.join(names)}")

    def heal(self) -> None:
        self.sim.heal()
        self._act("healed the network")

    def propose(self, data: bytes | None = None, on: str | None = None) -> Entry | None:
        """Propose ``data`` on node ``on`` (default: the leader); None if it does not lead."""
        target = on if on is not None else self.leader()
        if data is None:
            self._proposals += 1
            data = f"e{self._proposals}".encode()
        entry = self.nodes[target].propose(data) if target is not None else None
        if entry is None:
            self._act(f"proposal {data.decode(errors='replace')!r} refused: {target} does not lead")
        else:
            self._act(f"{target} appended {data.decode(errors='replace')!r} at index {entry.index}")
        return entry

    # -- reading ----------------------------------------------------------------------
    def leader(self) -> str | None:
        """The live leader of the highest term, or None."""
        return self.capture().leader

    def term_of(self, name: str) -> int | None:
        core = self.nodes[name].node
        return None if core is None else core.current_term

    def describe(self) -> str:
        return format_frame(self.capture())


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
        self.figure = self._make_figure()
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
    def _make_figure(self) -> go.FigureWidget:
        base = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.4, 0.6],
            horizontal_spacing=0.08,
            subplot_titles=("the quorum", "logs: filled = committed, outlined = not yet"),
        )
        figure = go.FigureWidget(base)
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
            height=430,
            margin={"t": 40, "b": 40, "l": 20, "r": 20},
            legend={"orientation": "h", "y": -0.12},
            plot_bgcolor="white",
        )
        return figure

    def draw(self, frame: Frame) -> None:
        """Draw one recorded frame."""
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

        leader = frame.leader
        with self.figure.batch_update():
            data = self.figure.data
            data[0].x, data[0].y = link_x, link_y
            # A leading None keeps a trace in the legend while it has nothing to draw.
            data[1].x, data[1].y = [None, *cut_x], [None, *cut_y]
            for trace, kind in zip(data[2:6], KINDS, strict=True):
                xs_, ys_, texts = by_kind[kind]
                trace.x, trace.y, trace.hovertext = [None, *xs_], [None, *ys_], ["", *texts]
            self._draw_nodes(data[6], frame)
            self._draw_logs(data[7], data[8], data[9], data[10], frame)
            self.figure.layout.yaxis2.ticktext = [
                f"{n} T{nodes[n].term} c{nodes[n].commit_index}" if nodes[n].up else f"{n} (down)"
                for n in names
            ]
        network = (
            " | ".join("{" + " ".join(g) + "}" for g in frame.groups)
            if len(frame.groups) > 1
            else "connected"
        )
        self.status.value = (
            f"<b>t = {frame.at_ms} ms</b> · "
            f"leader: {leader or 'none'} · network: {network} · "
            f"{len(frame.wire)} messages in flight · last action: {frame.last_action}<br>"
            + ROLE_KEY
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

    def _draw_logs(
        self,
        committed: go.Scatter,
        pending: go.Scatter,
        marks: go.Scatter,
        snapshots: go.Scatter,
        frame: Frame,
    ) -> None:
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
        self.figure.layout.xaxis2.range = [low - 0.7, max(high, low + 9) + 0.7]

    # -- controls ---------------------------------------------------------------------
    def _selected(self) -> str:
        name = self.node_picker.value
        assert isinstance(name, str)
        return name

    def _propose(self) -> None:
        self.recorder.propose()
