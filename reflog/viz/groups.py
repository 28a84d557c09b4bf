"""A live view of a consumer group: which member owns which partition, and when each paused.

:class:`GroupView` draws, from a :class:`~reflog.sim.cluster.Cluster`'s recorded timeline, one
row per partition of a topic over simulated time: a bar for each stretch a member owned it
(labelled with the member), and a red bar for each stretch **no** live member owned it, when
nobody read it: the partition was *paused*. An eager rebalance (``range``, ``roundrobin``,
``sticky``) pauses every partition while the group rejoins; a cooperative one
(``cooperative-sticky``, KIP-429) pauses only the partitions that move. The top row is the
group as its coordinator holds it: Empty, PreparingRebalance, CompletingRebalance, Stable,
with its generation (grey while no live broker holds it).

Beside each partition's row, its **lag** now: how far the group's committed offset is behind
the log end (what ``kafka-consumer-groups --describe`` prints as ``LAG``), split into what its
owner has read but not committed yet (a crash now means the next owner reads it again) and
what nobody has read yet (it grows while the partition is paused).

Its buttons act on the cluster: add a consumer to the group, make one leave (LeaveGroup), crash
one (it is evicted once its ``session.timeout.ms`` passes), restart a crashed one (with a
``group.instance.id``, KIP-345, it takes its old place back without a rebalance); play, step,
scrub back and go live.

:func:`ownership_segments`, :func:`paused_partition_ms` and :func:`partition_lags` read the
same timeline as text and numbers, so a notebook prints what the figure draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.sim.cluster import Cluster
from reflog.sim.timeline import GroupSnapshot, Snapshot, SnapshotReader, Timeline
from reflog.viz.controls import TimelineView

__all__ = [
    "PAUSED",
    "GroupView",
    "PartitionLag",
    "Segment",
    "describe_group",
    "describe_lag",
    "describe_owners",
    "group_at_coordinator",
    "owners",
    "ownership_segments",
    "partition_lags",
    "paused_partition_ms",
]

PAUSED = ""  # the owner of a partition no live member owns
PAUSED_COLOUR = "#d62728"
COORDINATOR_ROW = "coordinator"  # the figure's top row: the group's state there
STATE_COLOURS = {
    "Empty": "#c7c7c7",
    "PreparingRebalance": "#ff7f0e",
    "CompletingRebalance": "#ffbb78",
    "Stable": "#2ca02c",
    "none": "#7f7f7f",  # no live coordinator holds the group (its broker is down, or loading)
}
READ_NOT_COMMITTED_COLOUR = "#bdbdbd"
NOT_READ_COLOUR = "#636363"
MEMBER_COLOURS = (
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip


def owners(snapshot: Snapshot, topic: str) -> dict[int, str]:
    """partition -> the live consumer that owns it now (:data:`PAUSED` for none), for every
    partition of ``topic``; empty before any consumer reads ``topic``."""
    readers = [c for c in snapshot.consumers if c.topic == topic]
    if not readers:
        return {}
    owned = {p: c.name for c in readers if c.alive for p, _ in c.positions}
    return {p.partition: owned.get(p.partition, PAUSED) for p in snapshot.topic(topic)}


def group_at_coordinator(snapshot: Snapshot, group_id: str) -> GroupSnapshot | None:
    """The group as its coordinator holds it (None while no live broker holds it)."""
    return next((g for g in snapshot.groups if g.group_id == group_id), None)


def describe_group(snapshot: Snapshot, group_id: str) -> str:
    """``group g at broker-3: Stable, generation 2 (range), members c0, c1``."""
    group = group_at_coordinator(snapshot, group_id)
    if group is None:
        return f"group {group_id}: no live coordinator holds it"
    return (
        f"group {group_id} at broker-{group.coordinator}: {group.state}, generation "
        f"{group.generation} ({group.protocol or 'no protocol'}), members "
        f"{', '.join(group.members) or 'none'}"
    )


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Where group ``group_id`` stands on one partition: its committed offset against the
    log end (the high watermark: what a consumer may read), and its owner's position."""

    partition: int
    owner: str  # PAUSED: no live member owns it
    committed: int | None  # None: nothing committed for it yet
    position: int | None  # the owner's next offset to read (None: no owner, or not known yet)
    log_end: int

    @property
    def lag(self) -> int:
        """Kafka's ``LAG``: records after the committed offset (from 0 before any commit)."""
        return max(0, self.log_end - (self.committed or 0))

    @property
    def read_not_committed(self) -> int:
        """Records the owner has read past the committed offset: read again after a crash."""
        if self.position is None:
            return 0
        return max(0, min(self.position, self.log_end) - (self.committed or 0))


def partition_lags(snapshot: Snapshot, topic: str, group_id: str) -> list[PartitionLag]:
    """Each partition of ``topic``: group ``group_id``'s committed offset, its owner's
    position and the log end, as its coordinator and the partition's leader hold them."""
    group = group_at_coordinator(snapshot, group_id)
    owned = owners(snapshot, topic)
    positions = {
        p: offset
        for c in snapshot.consumers
        if c.topic == topic and c.alive
        for p, offset in c.positions
    }
    lags = []
    for p in snapshot.topic(topic):
        # The highest high watermark of any replica is the leader's, or, while the partition
        # has no leader, the last one known.
        log_end = max((r.high_watermark for r in p.replicas), default=0)
        committed = None if group is None else group.committed_offset(topic, p.partition)
        owner = owned.get(p.partition, PAUSED)
        position = positions.get(p.partition) if owner != PAUSED else None
        lags.append(PartitionLag(p.partition, owner, committed, position, log_end))
    return lags


def describe_lag(snapshot: Snapshot, topic: str, group_id: str) -> str:
    """The group's offsets, as ``kafka-consumer-groups --describe`` prints them."""
    rows = [("PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER")]
    for lag in partition_lags(snapshot, topic, group_id):
        rows.append(
            (
                f"{topic}-{lag.partition}",
                "-" if lag.committed is None else str(lag.committed),
                str(lag.log_end),
                "-" if lag.committed is None else str(lag.lag),
                lag.owner or "- (paused)",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _state_label(snapshot: Snapshot, group_id: str) -> str:
    group = group_at_coordinator(snapshot, group_id)
    return "none" if group is None else f"{group.state} · gen {group.generation}"


@dataclass(frozen=True, slots=True)
class Segment:
    """``partition`` was owned by ``owner`` (or paused) from ``start_ms`` to ``end_ms``."""

    partition: int
    owner: str  # PAUSED: no live member owned it
    start_ms: int
    end_ms: int

    @property
    def paused(self) -> bool:
        return self.owner == PAUSED


@dataclass
class _Fold:
    """Closed segments and each partition's open one, folded in as the timeline grows."""

    reader: SnapshotReader[Snapshot] = field(default_factory=SnapshotReader)
    closed: list[Segment] = field(default_factory=list)
    open: dict[int, tuple[str, int]] = field(default_factory=dict)  # partition -> owner, since
    # The coordinator's state of the group over time, as (state, start, end) once closed.
    states: list[tuple[str, int, int]] = field(default_factory=list)
    state: tuple[str, int] | None = None  # the current state, since

    def read(self, snapshot: Snapshot, topic: str, group_id: str) -> None:
        mine = owners(snapshot, topic)
        if mine:  # from the first snapshot in which a consumer reads the topic
            state = _state_label(snapshot, group_id)
            if self.state is None or self.state[0] != state:
                if self.state is not None:
                    self.states.append((self.state[0], self.state[1], snapshot.at_ms))
                self.state = (state, snapshot.at_ms)
        for partition, owner in mine.items():
            current = self.open.get(partition)
            if current is not None and current[0] == owner:
                continue
            if current is not None:
                self.closed.append(Segment(partition, current[0], current[1], snapshot.at_ms))
            self.open[partition] = (owner, snapshot.at_ms)


def _fold(
    timeline: Timeline[Snapshot], topic: str, fold: _Fold | None = None, group_id: str = "g"
) -> _Fold:
    fold = fold or _Fold()
    start_over, snapshots = fold.reader.unread(timeline)
    if start_over:
        fold = _Fold(reader=fold.reader)
    for snapshot in snapshots:
        fold.read(snapshot, topic, group_id)
    return fold


def _segments_until(fold: _Fold, until_ms: int) -> list[Segment]:
    segments = [
        Segment(s.partition, s.owner, s.start_ms, min(s.end_ms, until_ms))
        for s in fold.closed
        if s.start_ms < until_ms
    ]
    for partition, (owner, since) in fold.open.items():
        if since < until_ms:
            segments.append(Segment(partition, owner, since, until_ms))
    return sorted(segments, key=lambda s: (s.partition, s.start_ms))


def ownership_segments(
    timeline: Timeline[Snapshot], topic: str, until_ms: int | None = None
) -> list[Segment]:
    """Every stretch of time each partition of ``topic`` was owned by one member, or paused,
    from the first snapshot in which a consumer reads ``topic`` until ``until_ms`` (the end
    of the recording if None), by partition then time."""
    if not timeline:
        return []
    end = timeline.latest.at_ms if until_ms is None else until_ms
    return _segments_until(_fold(timeline, topic), end)


def paused_partition_ms(
    timeline: Timeline[Snapshot], topic: str, start_ms: int, end_ms: int | None = None
) -> int:
    """Partition-milliseconds paused between ``start_ms`` and ``end_ms``: for each partition,
    how long no live member owned it, summed."""
    total = 0
    for s in ownership_segments(timeline, topic, end_ms):
        if s.paused:
            total += max(0, s.end_ms - max(s.start_ms, start_ms))
    return total


def describe_owners(snapshot: Snapshot, topic: str) -> str:
    """One line per member: the partitions it owns; then the paused ones."""
    by_owner: dict[str, list[int]] = {}
    for partition, owner in sorted(owners(snapshot, topic).items()):
        by_owner.setdefault(owner, []).append(partition)
    lines = [
        f"{c.name}: {by_owner.get(c.name, [])}" + ("" if c.alive else " (crashed)")
        for c in snapshot.consumers
        if c.topic == topic
    ]
    lines.append(f"paused: {by_owner.get(PAUSED, [])}")
    return "\n".join(lines)


class GroupView(TimelineView[Snapshot]):
    """Each partition's owner over time, and its pauses, for the members reading ``topic``;
    beside it, each partition's lag now.

    ``member_settings`` are the settings (``add_consumer``'s) of the members its button adds;
    with ``static_members`` each of them also gets its name as ``group.instance.id``."""

    def __init__(
        self,
        cluster: Cluster,
        topic: str,
        *,
        group_id: str = "g",
        window_ms: int = 10_000,
        static_members: bool = False,
        **member_settings: Any,
    ) -> None:
        super().__init__(cluster, step_ms=500)
        self.cluster = cluster
        self.topic = topic
        self.group_id = group_id
        self.window_ms = window_ms  # how much of the past the figure shows
        self.static_members = static_members
        self.member_settings = member_settings  # for the members its button adds
        self.partitions = cluster.partitions_of(topic)
        self._fold = _Fold()
        self.figure = go.FigureWidget(self.base_figure())
        self.buttons = {
            "add a consumer": self.button("add a consumer", "plus", self._add),
            "a consumer leaves": self.button("a consumer leaves", "sign-out", self._leave),
            "crash a consumer": self.button("crash a consumer", "times", self._crash),
            "restart a crashed one": self.button("restart a crashed one", "redo", self._restart),
        }
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.start(widgets.HBox(list(self.buttons.values())), self.status, self.figure, self.table)

    # -- the figure -------------------------------------------------------------------
    def base_figure(self) -> go.Figure:
        # Left: ownership over time; right, on the same rows: each partition's lag now.
        figure = make_subplots(
            rows=1, cols=2, shared_yaxes=True, column_widths=[0.72, 0.28],
            horizontal_spacing=0.03,
        )  # fmt: skip
        for name, colour, col in (
            ("owned by (label: the member)", MEMBER_COLOURS[0], 1),
            ("paused", PAUSED_COLOUR, 1),
            ("the group at its coordinator", STATE_COLOURS["Stable"], 1),
            ("lag: read, not committed", READ_NOT_COMMITTED_COLOUR, 2),
            ("lag: not read yet", NOT_READ_COLOUR, 2),
        ):
            figure.add_bar(
                name=name,
                orientation="h",
                x=[],
                y=[],
                base=[],
                text=[],
                textposition="inside",
                insidetextanchor="middle",
                # The lag's numbers carry its hover text (the stored frames stay small).
                hoverinfo="text" if col == 1 else "skip",
                marker={"color": colour, "line": {"width": 0}},
                row=1,
                col=col,
            )
        figure.add_scatter(  # each partition's lag as a number, right of its bar
            x=[], y=[], text=[], mode="text", textposition="middle right", showlegend=False,
            hoverinfo="text", row=1, col=2,
        )  # fmt: skip
        labels = [COORDINATOR_ROW] + [f"{self.topic}-{p}" for p in self.partitions]
        figure.update_yaxes(type="category", categoryorder="array", categoryarray=labels[::-1])
        figure.update_xaxes(title="simulated time (ms)", row=1, col=1)
        figure.update_xaxes(
            title="lag (records)", rangemode="tozero", gridcolor="#eeeeee", row=1, col=2
        )
        figure.update_layout(
            height=150 + 32 * len(self.partitions),
            barmode="overlay",
            bargap=0.25,
            margin={"t": 40, "b": 40, "l": 90, "r": 20},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            plot_bgcolor="white",
        )
        return figure

    def static_base_figure(self) -> go.Figure:
        figure = self.base_figure()
        figure.update_layout(margin={"t": 100}, legend={"y": 1.0, "yanchor": "bottom"})
        return figure

    def _colour(self, name: str) -> str:
        names = sorted(self.cluster.consumers)
        index = names.index(name) if name in names else 0
        return MEMBER_COLOURS[index % len(MEMBER_COLOURS)]

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot) -> None:
        self._fold = _fold(self.cluster.timeline, self.topic, self._fold, self.group_id)
        end = snapshot.at_ms
        start = max(0, end - self.window_ms)
        traces: dict[bool, dict[str, list[Any]]] = {
            paused: {"x": [], "y": [], "base": [], "text": [], "hovertext": [], "colour": []}
            for paused in (False, True)
        }
        for s in _segments_until(self._fold, end):
            if s.end_ms <= start and s.end_ms < end:
                continue  # out of the window
            begin = max(s.start_ms, start)
            t = traces[s.paused]
            t["x"].append(max(s.end_ms - begin, 1))
            t["y"].append(f"{self.topic}-{s.partition}")
            t["base"].append(begin)
            t["text"].append("" if s.paused else s.owner)
            who = "paused: no member owned it" if s.paused else f"owned by {s.owner}"
            t["hovertext"].append(f"{self.topic}-{s.partition} {who}, {s.start_ms}-{s.end_ms} ms")
            t["colour"].append(PAUSED_COLOUR if s.paused else self._colour(s.owner))
        for trace, paused in zip(figure.data[:2], (False, True), strict=True):
            t = traces[paused]
            trace.x, trace.y, trace.base = t["x"], t["y"], t["base"]
            trace.text, trace.hovertext = t["text"], t["hovertext"]
            trace.marker.color = t["colour"]
        states = list(self._fold.states)
        if self._fold.state is not None:
            states.append((*self._fold.state, end))
        states = [(label, max(a, start), b) for label, a, b in states if a < end and b > start]
        coordinator = figure.data[2]
        coordinator.x = [max(b - a, 1) for _, a, b in states]
        coordinator.y = [COORDINATOR_ROW] * len(states)
        coordinator.base = [a for _, a, _ in states]
        coordinator.text = [label for label, _, _ in states]
        coordinator.hovertext = [f"{label}, {a}-{b} ms" for label, a, b in states]
        coordinator.marker.color = [STATE_COLOURS[label.split(" ·")[0]] for label, _, _ in states]
        figure.update_xaxes(range=[start, max(end, start + 1_000)], row=1, col=1)
        self._draw_lag(figure, snapshot)

    def _draw_lag(self, figure: go.Figure, snapshot: Snapshot) -> None:
        # A row for every partition in every frame (none read yet: no bar), so that the rows
        # are the same in all the stored frames and stored once.
        # No live coordinator holds the group (its broker is down, or the group not formed
        # yet): its committed offsets are not known, so no lag is drawn.
        held = group_at_coordinator(snapshot, self.group_id) is not None
        known = {lag.partition: lag for lag in partition_lags(snapshot, self.topic, self.group_id)}
        lags = [
            known[p] if held and p in known else PartitionLag(p, PAUSED, 0, None, 0)
            for p in self.partitions
        ]
        rows = [f"{self.topic}-{p}" for p in self.partitions]
        read, unread, numbers = figure.data[3:6]
        read.y = unread.y = rows
        # A colour per bar, as the other traces have: JupyterLab's FigureWidget drew these two
        # in plotly's default colours when their colour was one value, set only at creation.
        read.marker.color = [READ_NOT_COMMITTED_COLOUR] * len(lags)
        unread.marker.color = [NOT_READ_COLOUR] * len(lags)
        read_not_committed = [lag.read_not_committed for lag in lags]
        read.base = [0] * len(lags)
        # Not "unread.base = read.x": inside a batch, a read gives the value before it.
        read.x = unread.base = read_not_committed
        unread.x = [lag.lag - lag.read_not_committed for lag in lags]
        total = sum(lag.lag for lag in lags)
        numbers.x = [lag.lag for lag in lags] + [0]
        numbers.y = [*rows, COORDINATOR_ROW]
        numbers.text = [f" {lag.lag}" if held else "" for lag in lags] + [
            f" total lag {total}" if held else " no live coordinator: lag not known"
        ]
        numbers.hovertext = [
            f"committed {'-' if lag.committed is None else lag.committed}, log end {lag.log_end}"
            for lag in lags
        ] + ["log end - committed offset, summed"]
        # A scale that moves in steps of 25 records, so that it does not jump at every frame.
        most = max((lag.lag for lag in lags), default=0)
        figure.update_xaxes(range=[0, 25 * (most * 1.4 // 25 + 1)], row=1, col=2)

    def _paused_now(self, snapshot: Snapshot) -> list[int]:
        return [p for p, owner in sorted(owners(snapshot, self.topic).items()) if owner == PAUSED]

    def static_title(self, snapshot: Snapshot) -> str:
        paused = self._paused_now(snapshot)
        return (
            f"<b>t = {snapshot.at_ms} ms</b> · paused now: {paused or 'none'}<br>"
            f"{describe_group(snapshot, self.group_id)}"
        )

    def draw_text(self, snapshot: Snapshot) -> None:
        consumers = [c for c in snapshot.consumers if c.topic == self.topic]
        running = sum(1 for c in consumers if c.alive)
        group = group_at_coordinator(snapshot, self.group_id)
        # A consumer that left (or is not yet let in) runs without being a member.
        joined = "" if group is None else f", {len(group.members)} in the group"
        paused = self._paused_now(snapshot)
        self.status.value = (
            f"<b>t = {snapshot.at_ms} ms</b> · {running} consumer(s) running{joined} · "
            f"paused now: {paused or 'none'}<br>{describe_group(snapshot, self.group_id)}"
        )
        self.table.value = f"<pre>{describe_lag(snapshot, self.topic, self.group_id)}</pre>"

    # -- controls ---------------------------------------------------------------------
    def _members(self) -> list[str]:
        return [
            name
            for name, c in self.cluster.consumers.items()
            if c.topic == self.topic and c.core is not None and not _closing(c)
        ]

    def _add(self) -> None:
        name = next(f"c{i}" for i in range(len(self.cluster.consumers) + 1)
                    if f"c{i}" not in self.cluster.consumers)  # fmt: skip
        settings = dict(self.member_settings)
        if self.static_members:
            settings["group_instance_id"] = name
        self.cluster.add_consumer(name, self.topic, group_id=self.group_id, **settings)
        self.cluster.run_for(100)

    def _leave(self) -> str:
        members = self._members()
        if not members:
            return "no consumer is running to leave"
        member = self.cluster.consumers[members[-1]]
        close = getattr(member, "close", None)
        if close is not None:
            close()
        self.cluster.run_for(100)
        if self.static_members:  # KIP-345: a static member's close sends no LeaveGroup
            return (
                f"{members[-1]} closed; a static member sends no LeaveGroup, so it stays in "
                "the group until its session times out"
            )
        return f"{members[-1]} left the group (a LeaveGroup request)"

    def _crash(self) -> str | None:
        members = self._members()
        if not members:
            return "no consumer is running to crash"
        self.cluster.crash(members[0])
        return f"crashed {members[0]}: the coordinator notices when its session times out"

    def _restart(self) -> str | None:
        crashed = [
            name
            for name, c in self.cluster.consumers.items()
            if c.topic == self.topic and c.core is None
        ]
        if not crashed:
            return "no crashed consumer to restart"
        self.cluster.restart(crashed[0])
        return None  # the cluster says "restarted cN"


def _closing(consumer: Any) -> bool:
    group = getattr(consumer.consumer, "group", None) if consumer.core is not None else None
    return bool(group is not None and (group.closing or group.closed))
