"""The cluster at a glance: who leads which partition, who is in sync, how far clients got.

The drawing is a pure function of one recorded
:class:`~reflog.sim.timeline.Snapshot`: :func:`cluster_frame` turns it into a
plotly ``Frame`` (its traces and title), so the live view, the static figure with
recorded frames stored in the notebook, and the tests all draw the same thing from the
same data.

Left, a grid: one column per node (the controller quorum first, then each broker),
one row per partition. The column heads say whether a node is up; in the
controller's column each row is what the active controller committed for that
partition (leader, leader epoch, ISR); in a broker's column, that broker's replica:

* **leader** (solid green, with its leader epoch): producers and consumers talk to it;
* **follower in the ISR** (light green): caught up, it counts for ``acks=all``;
* **follower out of the ISR** (orange outline): behind, or just back from a crash;
* **down** (grey): the broker crashed; its log is still on disk. A down broker that
  the controller still names as leader is outlined in red: the controller has not
  noticed yet (it waits ``broker.session.timeout.ms`` for a missed heartbeat).

Right, each partition's log on the leader: the committed part (up to the high
watermark, what consumers may read), the part written but not yet replicated to
the whole ISR, and where each consumer is; the head row counts the producers'
sent, acknowledged and failed records.

:class:`ClusterView` puts the figure under controls that act on a live
:class:`~reflog.sim.cluster.Cluster` only through its methods (``crash``,
``restart``, ``run_for``, ``play``/``pause``) and redraws from ``cluster.timeline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.sim.cluster import Cluster
from reflog.sim.timeline import (
    NodeSnapshot,
    PartitionSnapshot,
    ReplicaSnapshot,
    Snapshot,
    SnapshotReader,
)
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import TimelineView
from reflog.viz.static import scrubbable_figure

__all__ = [
    "REPLICA_STATES",
    "ClusterView",
    "LeaderChange",
    "LeaderHistory",
    "cluster_figure",
    "cluster_frame",
    "draw_snapshot",
    "evenly_in_time",
    "leader_changes",
    "replica_state",
    "static_cluster_figure",
]

# One trace per replica state, in this order; each is (legend name, fill, outline, text colour).
REPLICA_STATES: dict[str, tuple[str, str, str, str]] = {
    "leader": ("leader", "#2ca02c", "#1a6e1a", "white"),
    "in ISR": ("follower in the ISR", "#c7e9c0", "#2ca02c", "#1a4d1a"),
    "out of ISR": ("follower out of the ISR", "#fff3e0", "#ff7f0e", "#a04c00"),
    "leader down": ("leader, down (not yet noticed)", "#e0e0e0", "#d62728", "#8b0000"),
    "down": ("replica on a down broker", "#e0e0e0", "#9e9e9e", "#616161"),
}
# Column heads: (fill, outline); their text is white.
NODE_UP = ("#1f77b4", "#1f77b4")
NODE_DOWN = ("#9e9e9e", "#616161")
NODE_TROUBLE = ("#ff7f0e", "#ff7f0e")  # alive but fenced or cut off
CONTROLLER = "#756bb1"  # the controllers' column head
DECISION = ("#efedf5", "#756bb1", "#3f007d")  # a partition as the controller committed it
HW_COLOUR = "#2ca02c"
UNCOMMITTED_COLOUR = "#c7e9c0"
CONSUMER_COLOUR = "#d62728"
WIDTH = 940  # pixels: room for each cell's text at 11 px; fits beside JupyterLab's file browser
CELL_W = 0.92  # a cell's width and height in grid units (columns and rows are 1 apart)
CELL_H = 0.84
# The traces of a frame, in order; a figure's data and every frame share this order.
TRACE_NAMES = (
    "controller decisions",
    "controller",
    "broker up",
    "broker in trouble",
    "broker down",
    *(REPLICA_STATES[state][0] for state in REPLICA_STATES),
    "labels",
    "committed (high watermark)",
    "written, not yet committed",
    "consumer position",
    "offsets",
)


class Snapshots(Protocol):
    """A :class:`~reflog.sim.timeline.Timeline`, or any list of snapshots in time order."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Snapshot: ...


@dataclass(frozen=True, slots=True)
class LeaderChange:
    """The controller committed a new leader (or none) for a partition."""

    at_ms: int
    topic: str
    partition: int
    old_leader: int  # -1: none
    new_leader: int
    leader_epoch: int

    def __str__(self) -> str:
        return (
            f"t = {self.at_ms} ms  {self.topic}-{self.partition}: "
            f"{_broker(self.old_leader)} -> {_broker(self.new_leader)}, "
            f"leader epoch {self.leader_epoch}"
        )


def _broker(broker_id: int) -> str:
    return f"broker-{broker_id}" if broker_id > 0 else "no leader"


def leader_changes(timeline: Snapshots, topic: str) -> list[LeaderChange]:
    """Every change of a partition's leader or leader epoch, in time order (a partition's
    first leader is not a change)."""
    return LeaderHistory(topic).update(timeline)


class LeaderHistory:
    """:func:`leader_changes`, kept up to date as a timeline grows: a live view redraws
    every frame, and reads only the snapshots recorded since the last time."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._reader: SnapshotReader[Snapshot] = SnapshotReader()
        self._forget()

    def _forget(self) -> None:
        self.changes: list[LeaderChange] = []
        self._seen: dict[int, tuple[int, int]] = {}  # partition -> (leader, leader epoch)

    def update(self, timeline: Snapshots) -> list[LeaderChange]:
        start_over, snapshots = self._reader.unread(timeline)
        if start_over:
            self._forget()
        for snapshot in snapshots:
            self._read_one(snapshot)
        return self.changes

    def _read_one(self, snapshot: Snapshot) -> None:
        for p in snapshot.topic(self.topic):
            now = (p.leader, p.leader_epoch)
            before = self._seen.get(p.partition)
            if before is not None and before != now:
                self.changes.append(
                    LeaderChange(
                        snapshot.at_ms,
                        self.topic,
                        p.partition,
                        before[0],
                        p.leader,
                        p.leader_epoch,
                    )
                )
            self._seen[p.partition] = now


def replica_state(p: PartitionSnapshot, replica: ReplicaSnapshot) -> str:
    """A key of :data:`REPLICA_STATES`: how the view draws ``replica``."""
    if not replica.alive:
        return "leader down" if replica.broker_id == p.leader else "down"
    if replica.broker_id == p.leader:
        return "leader"
    return "in ISR" if replica.broker_id in p.isr else "out of ISR"


# -- the drawing (pure: a snapshot in, plotly traces out) ------------------------------
class _Boxes:
    """Rectangles drawn as one filled scatter trace (subpaths separated by None)."""

    def __init__(self) -> None:
        self.x: list[float | None] = [None]  # a leading gap keeps an empty trace in the legend
        self.y: list[float | None] = [None]

    def add(self, column: float, row: float) -> None:
        w, h = CELL_W / 2, CELL_H / 2
        self.x += [column - w, column + w, column + w, column - w, column - w, None]
        self.y += [row - h, row - h, row + h, row + h, row - h, None]


class _Labels:
    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self.text: list[str] = []
        self.hover: list[str] = []
        self.colour: list[str] = []

    def add(self, column: float, row: float, text: str, hover: str, colour: str) -> None:
        self.x.append(column)
        self.y.append(row)
        self.text.append(text)
        self.hover.append(hover)
        self.colour.append(colour)


def _columns(snapshot: Snapshot) -> tuple[tuple[NodeSnapshot, ...], tuple[NodeSnapshot, ...]]:
    controllers = tuple(sorted(snapshot.controllers(), key=lambda n: n.node_id or 0))
    brokers = tuple(sorted(snapshot.brokers(), key=lambda n: n.node_id or 0))
    return controllers, brokers


def _node_head(node: NodeSnapshot) -> tuple[str, str]:
    """The trace a broker's column head goes into, and its second line."""
    if not node.alive:
        return "broker down", "✖ down"
    if node.fenced:
        return "broker in trouble", "fenced"
    if node.isolated:
        return "broker in trouble", "isolated"
    return "broker up", "up"


def _controller_head(snapshot: Snapshot, controllers: Sequence[NodeSnapshot]) -> str:
    if len(controllers) == 1:
        c = controllers[0]
        state = "✖ down" if not c.alive else f"active · term {c.raft_term}"
        if c.alive and snapshot.active_controller != c.name:
            state = f"{(c.raft_role or '?').lower()} · term {c.raft_term}"
        return f"<b>controller {c.name}</b><br>{state}"
    names = " ".join(
        f"<b>{c.name}★</b>" if c.name == snapshot.active_controller else c.name
        for c in controllers
        if c.alive
    )
    return f"<b>controllers</b><br>{names or 'all down'}"


def cluster_frame(
    snapshot: Snapshot,
    topic: str,
    *,
    changes: Sequence[LeaderChange] = (),
) -> go.Frame:
    """The figure's traces (in :data:`TRACE_NAMES` order) and title for ``snapshot``.

    ``changes`` (from :func:`leader_changes`): the title names the latest ones up to
    ``snapshot.at_ms``."""
    controllers, brokers = _columns(snapshot)
    column = {b.node_id: i + 1 for i, b in enumerate(brokers)}  # the controller is column 0
    partitions = snapshot.topic(topic)
    boxes = {key: _Boxes() for key in TRACE_NAMES[:5]}
    replica_boxes = {state: _Boxes() for state in REPLICA_STATES}
    labels = _Labels()

    # Row 0: the column heads.
    boxes["controller"].add(0, 0)
    labels.add(
        0,
        0,
        _controller_head(snapshot, controllers),
        "the KRaft controller quorum: it keeps the metadata log and elects partition leaders",
        "white",
    )
    for b in brokers:
        trace, state = _node_head(b)
        boxes[trace].add(column[b.node_id], 0)
        labels.add(
            column[b.node_id],
            0,
            f"<b>{b.name}</b><br>{state}",
            f"{b.name}: {state}, metadata applied up to offset {b.metadata_offset}",
            "white",
        )

    # One row per partition: the controller's decision, then each broker's replica.
    for row, p in enumerate(partitions, start=1):
        _draw_partition(row, p, column, replica_boxes, boxes["controller decisions"], labels)

    data: list[go.Scatter | go.Bar] = [
        _fill_trace(boxes["controller decisions"], "controller decisions", *DECISION[:2]),
        _fill_trace(boxes["controller"], "controller", CONTROLLER, CONTROLLER),
        _fill_trace(boxes["broker up"], "broker up", *NODE_UP),
        _fill_trace(boxes["broker in trouble"], "broker in trouble", *NODE_TROUBLE),
        _fill_trace(boxes["broker down"], "broker down", *NODE_DOWN),
    ]
    for state, (legend, fill, outline, _) in REPLICA_STATES.items():
        data.append(_fill_trace(replica_boxes[state], legend, fill, outline, legend=True))
    data.append(
        go.Scatter(
            name="labels",
            x=labels.x,
            y=labels.y,
            text=labels.text,
            hovertext=labels.hover,
            mode="text",
            textfont={"color": labels.colour, "size": 11},
            hoverinfo="text",
            showlegend=False,
            xaxis="x",
            yaxis="y",
        )
    )
    data += _progress_traces(snapshot, partitions)
    title = f"<b>t = {snapshot.at_ms} ms</b> · topic {topic!r}"
    recent = [c for c in changes if c.at_ms <= snapshot.at_ms][-2:]
    if recent:
        title += (
            '<br><span style="font-size:13px">latest new leaders: '
            + "; ".join(
                f"{c.topic}-{c.partition} {_broker(c.old_leader)} → {_broker(c.new_leader)} "
                f"(epoch {c.leader_epoch}, t = {c.at_ms} ms)"
                for c in recent
            )
            + "</span>"
        )
    return go.Frame(data=data, layout={"title": {"text": title}}, name=str(snapshot.at_ms))


def _draw_partition(
    row: int,
    p: PartitionSnapshot,
    column: dict[int | None, int],
    replica_boxes: dict[str, _Boxes],
    decisions: _Boxes,
    labels: _Labels,
) -> None:
    decisions.add(0, row)
    isr = ", ".join(str(b) for b in p.isr) or "empty"
    labels.add(
        0,
        row,
        f"leader <b>{_broker(p.leader)}</b><br>epoch {p.leader_epoch}<br>ISR {{{isr}}}",
        "what the active controller committed to the metadata log",
        DECISION[2],
    )
    for replica in p.replicas:
        if replica.broker_id not in column:
            continue
        state = replica_state(p, replica)
        x = column[replica.broker_id]
        replica_boxes[state].add(x, row)
        offsets = f"LEO {replica.log_end_offset}<br>HW {replica.high_watermark}"
        # A follower copies the leader's log by fetching from it, as a consumer does.
        follower = "follower" if p.leader <= 0 else f"follows {_broker(p.leader)}"
        text = {
            "leader": f"<b>★ leader</b><br>epoch {p.leader_epoch}",
            "in ISR": f"{follower}<br>in ISR",
            "out of ISR": f"{follower}<br><b>out of ISR</b>",
            "leader down": "<b>leader, down</b><br>not yet noticed",
            "down": "down<br>(log on disk)",
        }[state]
        # What the cell does not say: the replica's own view (it may lag the controller).
        hover = (
            f"the broker says: {replica.role}, epoch {replica.leader_epoch}, "
            f"{len(replica.segments)} segment(s)"
        )
        labels.add(x, row, f"{text}<br>{offsets}", hover, REPLICA_STATES[state][3])


def _fill_trace(
    boxes: _Boxes, name: str, fill: str, outline: str, *, legend: bool = False
) -> go.Scatter:
    return go.Scatter(
        name=name,
        x=boxes.x,
        y=boxes.y,
        mode="lines",
        fill="toself",
        fillcolor=fill,
        line={"color": outline, "width": 2},
        hoverinfo="skip",
        showlegend=legend,
        xaxis="x",
        yaxis="y",
    )


def _leader_offsets(p: PartitionSnapshot) -> tuple[int, int]:
    """The leader's (high watermark, log end offset); without a leader, the longest replica's."""
    for replica in p.replicas:
        if replica.broker_id == p.leader:
            return replica.high_watermark, replica.log_end_offset
    longest = max(p.replicas, key=lambda r: r.log_end_offset, default=None)
    return (0, 0) if longest is None else (longest.high_watermark, longest.log_end_offset)


def _progress_traces(
    snapshot: Snapshot, partitions: Sequence[PartitionSnapshot]
) -> list[go.Scatter | go.Bar]:
    rows = list(range(1, len(partitions) + 1))
    offsets = [_leader_offsets(p) for p in partitions]
    consumers = [c for c in snapshot.consumers if partitions and c.topic == partitions[0].topic]
    cx: list[float | None] = [None]
    cy: list[float | None] = [None]
    chover: list[str] = [""]
    row_text = []
    for row, p, (hw, leo) in zip(rows, partitions, offsets, strict=True):
        text = f"HW {hw} · LEO {leo}"
        for c in consumers:
            position = c.position(p.partition)
            if position is None:
                continue
            cx.append(position)
            cy.append(row)
            chover.append(f"{c.name} reads {p.topic}-{p.partition} from offset {position}")
            text += f" · {c.name} at {position}"
        row_text.append(text)
    head = []
    for producer in snapshot.producers:
        head.append(
            f"<b>{producer.name}</b> sent {producer.sent} · acked {producer.acked} · "
            f"failed {producer.failed}"
        )
    for c in consumers:
        head.append(f"<b>{c.name}</b> read {c.consumed}")
    common = {"xaxis": "x2", "yaxis": "y", "orientation": "h", "width": 0.42}
    return [
        go.Bar(
            name="committed (high watermark)",
            y=rows,
            x=[hw for hw, _ in offsets],
            base=[0] * len(rows),
            marker={"color": HW_COLOUR},
            hovertemplate="high watermark %{x}<extra></extra>",
            **common,
        ),
        go.Bar(
            name="written, not yet committed",
            y=rows,
            x=[leo - hw for hw, leo in offsets],
            base=[hw for hw, _ in offsets],
            marker={"color": UNCOMMITTED_COLOUR, "line": {"color": HW_COLOUR, "width": 1}},
            hovertemplate="not yet committed: %{x} record(s)<extra></extra>",
            **common,
        ),
        go.Scatter(
            name="consumer position",
            x=cx,
            y=cy,
            mode="markers",
            marker={
                "symbol": "line-ns",
                "size": 34,
                "line": {"width": 4, "color": CONSUMER_COLOUR},
            },
            hovertext=chover,
            hoverinfo="text",
            xaxis="x2",
            yaxis="y",
        ),
        go.Scatter(
            name="offsets",
            x=[0] * (len(rows) + 1),
            y=[0, *(r - 0.36 for r in rows)],
            text=["<br>".join(head), *row_text],
            mode="text",
            textposition="middle right",
            textfont={"size": 11, "color": "#333333"},
            hoverinfo="skip",
            showlegend=False,
            xaxis="x2",
            yaxis="y",
        ),
    ]


def cluster_figure(
    snapshot: Snapshot,
    topic: str,
    *,
    changes: Sequence[LeaderChange] = (),
    max_offset: int | None = None,
    width: int | None = WIDTH,
) -> go.Figure:
    """The whole figure for ``snapshot``; the offsets axis runs to ``max_offset`` (default: a
    little past the longest log). ``width`` in pixels (None: as wide as where it is shown)."""
    frame = cluster_frame(snapshot, topic, changes=changes)
    _, brokers = _columns(snapshot)
    rows = len(snapshot.topic(topic))
    base = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.64, 0.36],
        horizontal_spacing=0.03,
        subplot_titles=("who holds what", "the leader's log, and how far clients got"),
    )
    figure = go.Figure(base)
    figure.add_traces(list(frame.data))
    figure.update_xaxes(
        range=[-0.5, len(brokers) + 0.5], visible=False, fixedrange=True, row=1, col=1
    )
    figure.update_xaxes(
        title="offset",
        range=[0, max_offset or offset_axis_end(snapshot, topic)],
        fixedrange=True,
        row=1,
        col=2,
    )
    figure.update_yaxes(
        range=[rows + 0.5, -0.5],
        tickvals=list(range(rows + 1)),
        ticktext=["", *(f"<b>{p.topic}-{p.partition}</b>" for p in snapshot.topic(topic))],
        showgrid=False,
        zeroline=False,
        fixedrange=True,
        row=1,
        col=1,
    )
    figure.update_layout(
        title={"text": frame.layout.title.text, "y": 0.97, "yanchor": "top"},
        height=190 + 100 * rows,
        width=width,
        barmode="overlay",
        margin={"t": 110, "b": 90, "l": 70, "r": 20},
        legend={"orientation": "h", "x": 0, "y": -0.17, "yanchor": "top"},
        plot_bgcolor="white",
        hoverlabel={"align": "left"},
    )
    return figure


def offset_axis_end(snapshot: Snapshot, topic: str) -> int:
    """Where the offsets axis ends: a little past the longest leader log (at least 10)."""
    longest = max((_leader_offsets(p)[1] for p in snapshot.topic(topic)), default=0)
    return max(10, int(longest * 1.15) + 1)


def draw_snapshot(
    figure: go.Figure,
    snapshot: Snapshot,
    topic: str,
    *,
    changes: Sequence[LeaderChange] = (),
    axis_end: int | None = None,
) -> None:
    """Redraw a figure made by :func:`cluster_figure` to show ``snapshot``; the offsets axis
    ends at ``axis_end`` (None: where :func:`offset_axis_end` says)."""
    frame = cluster_frame(snapshot, topic, changes=changes)
    for trace, new in zip(figure.data, frame.data, strict=True):
        for key in _CHANGING:
            if key in trace and new[key] is not None:
                trace[key] = new[key]
    figure.layout.title.text = frame.layout.title.text
    figure.layout.xaxis2.range = [0, axis_end or offset_axis_end(snapshot, topic)]


# What a snapshot changes in a trace (the rest of each trace is fixed when the figure is made).
_CHANGING = ("x", "y", "base", "text", "hovertext", "textfont")


def static_cluster_figure(timeline: Snapshots, topic: str, *, max_frames: int = 40) -> go.Figure:
    """The recorded run as a plain figure with frames, a slider and play, which works without a
    kernel (stored in the notebook beside the live view). The offsets axis is the whole run's."""
    changes = leader_changes(timeline, topic)
    latest = timeline[len(timeline) - 1]
    axis_end = offset_axis_end(latest, topic)

    def draw(figure: go.Figure, snapshot: Snapshot) -> None:
        draw_snapshot(figure, snapshot, topic, changes=changes, axis_end=axis_end)

    return scrubbable_figure(
        cluster_figure(latest, topic, changes=changes),
        draw,
        evenly_in_time(timeline, max_frames),
        label=lambda s: f"{s.at_ms} ms",
        max_frames=max_frames,
    )


def evenly_in_time(timeline: Snapshots, count: int) -> list[Snapshot]:
    """At most ``count`` snapshots, evenly spread over the run's simulated time from its first
    instant to its last: at each tick, the cluster as it was (the last snapshot at or before
    it). A timeline is dense where the run is busy, so an even spread over its snapshots would
    crowd the busy moments and skip the others."""
    if not len(timeline):
        return []
    first, last = timeline[0].at_ms, timeline[len(timeline) - 1].at_ms
    ticks = [first + (last - first) * i // max(count - 1, 1) for i in range(count)]
    picked: list[Snapshot] = []
    i = 0
    for tick in ticks:
        while i + 1 < len(timeline) and timeline[i + 1].at_ms <= tick:
            i += 1
        if not picked or picked[-1] is not timeline[i]:
            picked.append(timeline[i])
    return picked


# -- the live view ---------------------------------------------------------------------
class ClusterView(TimelineView[Snapshot]):
    """The figure under controls that act on the cluster, and a slider over its timeline.

    Kill and restart act on the broker picked; play, step, speed, the time slider and
    "live" are the controls every view shares (:mod:`reflog.viz.controls`). Displayed, it
    is the live widget, with the recorded run as a static figure beside it for a notebook
    opened without a kernel.
    """

    def __init__(self, cluster: Cluster, topic: str) -> None:
        super().__init__(cluster, step_ms=500)
        self.cluster = cluster
        self.topic = topic
        self.history = LeaderHistory(topic)
        self.figure = go.FigureWidget(self.base_figure())
        names = [f"broker-{b}" for b in sorted(cluster.brokers)]
        # Picked first: the leader of the topic's first partition, whose kill shows a failover.
        leader = f"broker-{cluster.leader_of(TopicPartition(topic, 0))}"
        self.broker_picker = widgets.Dropdown(
            options=names,
            value=leader if leader in names else names[0],
            description="broker",
            layout=widgets.Layout(width="170px"),
        )
        self.buttons = {
            "kill": self.button("kill", "times", self._kill),
            "restart": self.button("restart", "redo", self._restart),
        }
        self.start(widgets.HBox([self.broker_picker, *self.buttons.values()]), self.figure)

    def _picked(self) -> str:
        name = self.broker_picker.value
        assert isinstance(name, str)
        return name

    def _kill(self) -> str | None:
        name = self._picked()
        if not self.cluster.sim.is_up(name):
            return f"{name} is down already"
        self.cluster.crash(name)
        return None  # the cluster says "crashed broker-N"

    def _restart(self) -> str | None:
        name = self._picked()
        if self.cluster.sim.is_up(name):
            return f"{name} is running: nothing to restart"
        self.cluster.restart(name)
        return None  # the cluster says "restarted broker-N"

    def base_figure(self) -> go.Figure:
        return cluster_figure(self.cluster.timeline.latest, self.topic)

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot) -> None:
        changes = self.history.update(self.cluster.timeline)
        # The offsets axis grows with the logs, and does not shrink while scrubbing back.
        axis_end = offset_axis_end(snapshot, self.topic)
        current = figure.layout.xaxis2.range
        if current is not None and not self.controls.following:
            axis_end = max(axis_end, int(current[1]))
        draw_snapshot(figure, snapshot, self.topic, changes=changes, axis_end=axis_end)

    def static_figure(self, max_frames: int = 25) -> go.Figure:
        return static_cluster_figure(self.cluster.timeline, self.topic, max_frames=max_frames)
