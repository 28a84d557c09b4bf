"""A live view of one replicated partition of a :class:`~reflog.sim.cluster.Cluster`.

:class:`ReplicationView` draws, from the cluster's recorded timeline, each replica's
log end offset (LEO) and high watermark (HW) at the moment shown, and each broker's
place in the partition over the run (leader, in the ISR, out of it, down), with the
actions taken marked above. Its buttons act on the cluster: produce with acks 0, 1
or all; kill, restart, isolate or slow down a broker; heal the network; play, step,
scrub back and go live.

The text helpers (:func:`describe_replicas`, :func:`format_isr_history`) read the
same timeline, so a notebook prints what the figure draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.sim.admin import ACKS, ProduceResult
from reflog.sim.cluster import Cluster
from reflog.sim.timeline import PartitionSnapshot, Snapshot, SnapshotReader, Timeline
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import TimelineView

__all__ = [
    "STATUS_COLOURS",
    "ReplicationView",
    "describe_replicas",
    "format_isr_history",
    "isr_history",
    "replica_status",
]

DOWN = "down"
STATUS_COLOURS = {
    "leader": "#2ca02c",
    "in ISR": "#1f77b4",
    "out of ISR": "#ff7f0e",
    DOWN: "#b0b0b0",
}


def _partition(snapshot: Snapshot, tp: TopicPartition) -> PartitionSnapshot | None:
    try:
        return snapshot.partition(tp.topic, tp.partition)
    except KeyError:
        return None  # not created yet


def replica_status(partition: PartitionSnapshot, broker: int) -> str:
    """A broker's place in the partition: "leader", "in ISR", "out of ISR" or "down"."""
    replica = partition.replica(broker)
    if not replica.alive:
        return DOWN
    if broker == partition.leader and replica.role == "Leader":
        return "leader"
    return "in ISR" if broker in partition.isr else "out of ISR"


def describe_replicas(snapshot: Snapshot, tp: TopicPartition) -> str:
    """A table, one line per replica: role, LEO, HW, leader epoch, ISR, epoch cache."""
    partition = _partition(snapshot, tp)
    lines = ["broker    role      LEO  HW  epoch  in ISR  epoch cache (epoch, start offset)"]
    if partition is None:
        return lines[0] + f"\n({tp} does not exist yet)"
    for r in sorted(partition.replicas, key=lambda r: r.broker_id):
        cache = " ".join(f"({e.epoch}, {e.start_offset})" for e in r.epochs) or "-"
        in_isr = "yes" if r.broker_id in partition.isr else "no"
        lines.append(
            f"broker-{r.broker_id}  {r.role:8} {r.log_end_offset:>4} {r.high_watermark:>3} "
            f"{r.leader_epoch:>6}  {in_isr:6}  {cache}"
        )
    return "\n".join(lines)


def isr_history(
    timeline: Timeline[Snapshot], tp: TopicPartition
) -> list[tuple[int, int, tuple[int, ...]]]:
    """(when, leader, ISR) at every change of either, as the controller committed them."""
    out: list[tuple[int, int, tuple[int, ...]]] = []
    for snapshot in timeline:
        p = _partition(snapshot, tp)
        if p is not None and (not out or (out[-1][1], out[-1][2]) != (p.leader, p.isr)):
            out.append((snapshot.at_ms, p.leader, p.isr))
    return out


def format_isr_history(timeline: Timeline[Snapshot], tp: TopicPartition, since_ms: int = 0) -> str:
    """The leader and ISR at ``since_ms``, then a line per change."""
    history = isr_history(timeline, tp)
    start = max((i for i, (at, _, _) in enumerate(history) if at <= since_ms), default=0)
    lines = []
    for at, leader, isr in history[start:]:
        who = f"broker-{leader}" if leader > 0 else "none"
        lines.append(f"t = {max(at, since_ms):>5} ms  leader {who:9} ISR {list(isr)}")
    return "\n".join(lines)


def _describe_result(result: ProduceResult, at_ms: int) -> str:
    """A produce request as it stood at ``at_ms``."""
    if result.answered_ms is not None and result.answered_ms > at_ms:
        what = f"{result.count} record(s) to broker-{result.broker}, acks={ACKS[result.acks]}"
        return f"t = {result.sent_ms} ms: {what}: waiting"
    return result.describe()


@dataclass
class _StatusRuns:
    """Each broker's status over the timeline as runs (status, since when), built as it grows."""

    runs: dict[int, list[tuple[str, int]]] = field(default_factory=dict)


class ReplicationView(TimelineView[Snapshot]):
    """LEO and HW bars per replica, the ISR over time, and controls on the cluster."""

    def __init__(self, cluster: Cluster, topic: str = "r", partition: int = 0) -> None:
        super().__init__(cluster, step_ms=500)
        self.cluster = cluster
        self.tp = TopicPartition(topic, partition)
        self.broker_ids = sorted(cluster.brokers)
        self._status = _StatusRuns()
        self._reader: SnapshotReader[Snapshot] = SnapshotReader()
        self.figure = go.FigureWidget(self.base_figure())

        self.acks = widgets.ToggleButtons(
            options=[("acks=0", 0), ("acks=1", 1), ("acks=all", -1)], value=-1, description=""
        )
        self.count = widgets.BoundedIntText(
            value=5, min=1, max=1_000, description="records", layout=widgets.Layout(width="160px")
        )
        self.broker = widgets.Dropdown(
            options=[("the leader", 0), ("a follower", -1)]
            + [(f"broker-{b}", b) for b in self.broker_ids],
            value=0,
            description="broker",
            layout=widgets.Layout(width="200px"),
        )
        self.latency = widgets.IntSlider(
            value=400, min=50, max=2_000, step=50, description="latency ms"
        )
        self.buttons = {
            "produce": self.button("produce", "paper-plane", self._produce),
            "kill": self.button("kill", "times", self._kill),
            "restart": self.button("restart", "redo", self._restart),
            "isolate": self.button("isolate", "unlink", self._isolate),
            "slow down": self.button("slow down", "hourglass", self._slow),
            "heal": self.button("heal", "link", self.cluster.heal),
        }
        self.status = widgets.HTML()
        self.log = widgets.HTML()
        b = self.buttons
        self.start(
            widgets.VBox(
                [
                    widgets.HBox([self.acks, self.count, b["produce"]]),
                    widgets.HBox([self.broker, b["kill"], b["restart"], b["isolate"]]),
                    widgets.HBox([self.latency, b["slow down"], b["heal"]]),
                ]
            ),
            self.status,
            self.figure,
            self.log,
        )

    # -- the figure -------------------------------------------------------------------
    def base_figure(self) -> go.Figure:
        figure = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.35, 0.65],
            horizontal_spacing=0.1,
            subplot_titles=("log end offset and high watermark", "ISR membership over time"),
        )
        figure.add_bar(name="log end offset", x=[], y=[], marker={"color": "#9ecae1"}, row=1, col=1)
        figure.add_bar(name="high watermark", x=[], y=[], marker={"color": "#08519c"}, row=1, col=1)
        for status, colour in STATUS_COLOURS.items():
            width = 10 if status in ("leader", "in ISR") else 3
            figure.add_scatter(
                x=[],
                y=[],
                mode="lines",
                name=status,
                line={"color": colour, "width": width},
                hoverinfo="skip",
                row=1,
                col=2,
            )
        figure.add_scatter(
            x=[],
            y=[],
            mode="markers",
            name="action",
            marker={"symbol": "triangle-down", "size": 10, "color": "#444"},
            hoverinfo="text",
            row=1,
            col=2,
        )
        labels = [f"broker-{b}" for b in self.broker_ids]
        figure.update_xaxes(type="category", tickangle=0, row=1, col=1)
        figure.update_yaxes(title="offset", rangemode="tozero", row=1, col=1)
        figure.update_xaxes(title="simulated time (ms)", row=1, col=2)
        figure.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=["actions", *reversed(labels)],
            row=1,
            col=2,
        )
        figure.update_layout(
            height=400,
            barmode="group",
            margin={"t": 40, "b": 40, "l": 60, "r": 20},
            legend={"orientation": "h", "y": -0.2},
            plot_bgcolor="white",
        )
        return figure

    def static_base_figure(self) -> go.Figure:
        # The stored copy's slider takes the room under the plot where the live legend is:
        # the legend goes to the right, and the title gets a line above the subplot titles.
        figure = self.base_figure()
        figure.update_layout(
            margin={"t": 70}, legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"}
        )
        return figure

    def _status_runs(self) -> dict[int, list[tuple[str, int]]]:
        """Fold the snapshots recorded since the last draw into each broker's runs."""
        start_over, snapshots = self._reader.unread(self.cluster.timeline)
        if start_over:
            self._status = _StatusRuns()
        cache = self._status
        for snapshot in snapshots:
            p = _partition(snapshot, self.tp)
            if p is None:
                continue
            for b in self.broker_ids:
                status = replica_status(p, b)
                runs = cache.runs.setdefault(b, [])
                if not runs or runs[-1][0] != status:
                    runs.append((status, snapshot.at_ms))
        return cache.runs

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot) -> None:
        now = snapshot.at_ms
        p = _partition(snapshot, self.tp)
        all_runs = self._status_runs()
        actions = [a for a in self.cluster.actions if a.at_ms <= now]
        data = figure.data
        if p is not None:
            xs = [self._label(p, b) for b in self.broker_ids]
            replicas = [p.replica(b) for b in self.broker_ids]
            data[0].x, data[0].y = xs, [r.log_end_offset for r in replicas]
            data[1].x, data[1].y = xs, [r.high_watermark for r in replicas]
            # Offsets are whole numbers: below ten, a tick for each rather than halves.
            top = max((r.log_end_offset for r in replicas), default=0)
            figure.layout.yaxis.dtick = 1 if top < 10 else None
        else:
            data[0].x = data[0].y = data[1].x = data[1].y = []
        segments: dict[str, tuple[list[int | None], list[str | None]]] = {
            s: ([], []) for s in STATUS_COLOURS
        }
        for b in self.broker_ids:
            runs = [(s, at) for s, at in all_runs.get(b, []) if at <= now]
            if not runs:
                continue
            ends = [at for _, at in runs[1:]] + [now]
            for (status, start), end in zip(runs, ends, strict=True):
                x_, y_ = segments[status]
                x_ += [start, end, None]
                y_ += [f"broker-{b}", f"broker-{b}", None]
        for trace, status in zip(data[2:6], STATUS_COLOURS, strict=True):
            x_, y_ = segments[status]
            # A leading None keeps a trace in the legend while it has nothing to draw.
            trace.x, trace.y = [None, *x_], [None, *y_]
        data[6].x = [a.at_ms for a in actions]
        data[6].y = ["actions"] * len(actions)
        data[6].hovertext = [f"{a.at_ms} ms: {a.description}" for a in actions]

    def draw_text(self, snapshot: Snapshot) -> None:
        now = snapshot.at_ms
        p = _partition(snapshot, self.tp)
        actions = [a for a in self.cluster.actions if a.at_ms <= now]
        if p is None:
            self.status.value = f"<b>t = {now} ms</b> · {self.tp} does not exist yet"
        else:
            cut = ", ".join(f"{a}→{b}" for a, b in snapshot.cut_links if "admin" not in (a, b))
            last = actions[-1].description if actions else ""
            self.status.value = (
                f"<b>t = {now} ms</b> · leader {p.describe_leader()} · "
                f"ISR {list(p.isr)} · cut links: {cut or 'none'} · last action: {last}"
            )
        results = [r for r in self.cluster.produce_results if r.sent_ms <= now]
        self.log.value = "<br>".join(_describe_result(r, now) for r in results[-6:])

    @staticmethod
    def _label(p: PartitionSnapshot, broker: int) -> str:
        r = p.replica(broker)
        # Two lines, so that the label fits under its bars unrotated.
        return f"broker-{broker}<br>{p.role_of(broker) if r.alive else 'down: last seen'}"

    # -- controls ---------------------------------------------------------------------
    def _target(self) -> int:
        choice = self.broker.value
        assert isinstance(choice, int)
        leader = self.cluster.leader_of(self.tp)
        if choice == 0:
            return leader if leader > 0 else self.broker_ids[0]
        if choice == -1:
            return next(b for b in self.broker_ids if b != leader)
        return choice

    def _produce(self) -> None:
        acks, count = self.acks.value, self.count.value
        assert isinstance(acks, int) and isinstance(count, int)
        first = sum(r.count for r in self.cluster.produce_results)
        values = [f"v{first + i}".encode() for i in range(count)]
        self.cluster.send(self.tp, values, acks=acks)
        self.cluster.run_for(50)

    def _kill(self) -> None:
        self.cluster.crash(f"broker-{self._target()}")

    def _restart(self) -> None:
        choice = self.broker.value
        assert isinstance(choice, int)
        if choice > 0:
            self.cluster.restart(f"broker-{choice}")
            return
        # "the leader" or "a follower": whoever was killed last (the leader has changed since).
        down = self.cluster.last_crashed_down()
        if down is not None:
            self.cluster.restart(down)

    def _isolate(self) -> None:
        self.cluster.isolate(f"broker-{self._target()}")

    def _slow(self) -> None:
        latency = self.latency.value
        assert isinstance(latency, int)
        self.cluster.slow(f"broker-{self._target()}", None, latency)
