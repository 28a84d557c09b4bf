"""A live view of idempotent producing: each replica's producer-state table, and the records.

:class:`ProducerStateView` draws, from a :class:`~reflog.sim.cluster.Cluster`'s recorded
timeline, what every replica of one partition remembers of its idempotent producers (Kafka's
``ProducerStateManager``): per producer id, its epoch and the sequence ranges of its last five
batches, each with the offsets it was written at. Beside it, over the run: the records a
producer sent, the ones acknowledged, and the records in the leader's log; a producer whose
retries were written twice shows a log that outgrows its acknowledgements.

Its buttons act on the cluster: drop the brokers' answers to the producer (or heal the
links), kill the leader, restart what was killed; play, step, scrub back and go live.
:func:`describe_producer_state` prints the same table as text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.sim.cluster import Cluster
from reflog.sim.network import LinkConfig
from reflog.sim.timeline import (
    PartitionSnapshot,
    ProducerSnapshot,
    ProducerStateSnapshot,
    Snapshot,
    SnapshotReader,
)
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import TimelineView

__all__ = ["ProducerStateView", "describe_producer_state", "format_batches"]

EPOCH_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
# With idempotence the log keeps level with the acknowledgements: the log's line is dotted over
# a wider acknowledged line, so that both stay visible where they coincide.
SERIES = (
    ("sent", {"color": "#7f7f7f", "width": 2}),
    ("acknowledged", {"color": "#2ca02c", "width": 5}),
    ("in the leader's log", {"color": "#d62728", "width": 2, "dash": "dot"}),
)


def _partition(snapshot: Snapshot, tp: TopicPartition) -> PartitionSnapshot | None:
    try:
        return snapshot.partition(tp.topic, tp.partition)
    except KeyError:
        return None  # not created yet


def format_batches(entry: ProducerStateSnapshot) -> str:
    """``seq 5-9 @ 5-9`` for each remembered batch: its sequence range, then its offsets."""
    return " | ".join(
        f"seq {b.first_seq}-{b.last_seq} @ {b.first_offset}-{b.last_offset}" for b in entry.batches
    )


def describe_producer_state(snapshot: Snapshot, tp: TopicPartition) -> str:
    """A line per replica and producer: its role, the producer id and epoch, the batches."""
    partition = _partition(snapshot, tp)
    if partition is None:
        return f"({tp} does not exist yet)"
    lines = []
    for replica in sorted(partition.replicas, key=lambda r: r.broker_id):
        where = f"broker-{replica.broker_id}  {replica.role:8}"
        if not replica.producers:
            lines.append(f"{where}  no producers")
        for entry in replica.producers:
            lines.append(
                f"{where}  producer {entry.producer_id} epoch {entry.producer_epoch}: "
                f"{format_batches(entry)}"
            )
    return "\n".join(lines)


@dataclass
class _Series:
    """(time, sent, acknowledged, leader's log end offset) per recorded snapshot, folded in
    as the timeline grows."""

    at: list[int] = field(default_factory=list)
    values: list[tuple[int, int, int]] = field(default_factory=list)


class ProducerStateView(TimelineView[Snapshot]):
    """Each replica's producer-state table, the records sent, acknowledged and stored."""

    def __init__(
        self,
        cluster: Cluster,
        topic: str,
        partition: int = 0,
        producer: str | None = None,
        answer_loss: float = 0.3,
    ) -> None:
        super().__init__(cluster, step_ms=500)
        self.cluster = cluster
        self.tp = TopicPartition(topic, partition)
        self.producer = producer if producer is not None else next(iter(cluster.producers), "")
        self.answer_loss = answer_loss
        self.broker_ids = sorted(cluster.brokers)
        self._series = _Series()
        self._reader: SnapshotReader[Snapshot] = SnapshotReader()
        self.figure = go.FigureWidget(self.base_figure())
        self.buttons = {
            "drop answers": self.button("drop answers", "random", self._drop_answers),
            "heal": self.button("heal", "link", self.cluster.heal),
            "kill the leader": self.button("kill the leader", "times", self._kill_leader),
            "restart": self.button("restart", "redo", self._restart),
        }
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.start(widgets.HBox(list(self.buttons.values())), self.status, self.figure, self.table)

    # -- the figure -------------------------------------------------------------------
    def base_figure(self) -> go.Figure:
        figure = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.55, 0.45],
            horizontal_spacing=0.12,
            subplot_titles=(
                "producer state per replica: the last 5 batches",
                "records of the producer",
            ),
        )
        figure.add_bar(
            name="a remembered batch (colour: epoch)",
            orientation="h",
            x=[],
            y=[],
            base=[],
            text=[],
            textposition="inside",
            insidetextanchor="middle",
            hoverinfo="text",
            marker={"line": {"color": "white", "width": 2}},
            row=1,
            col=1,
        )
        for name, line in SERIES:
            figure.add_scatter(
                x=[], y=[], mode="lines", name=name, line={**line, "shape": "hv"}, row=1, col=2
            )
        labels = [f"broker-{b}" for b in self.broker_ids]
        figure.update_yaxes(
            type="category", categoryorder="array", categoryarray=labels[::-1], row=1, col=1
        )
        figure.update_xaxes(title="sequence number", row=1, col=1)
        figure.update_xaxes(title="simulated time (ms)", row=1, col=2)
        figure.update_yaxes(title="records", rangemode="tozero", row=1, col=2)
        figure.update_layout(
            height=380,
            barmode="overlay",
            margin={"t": 40, "b": 40, "l": 60, "r": 20},
            legend={"orientation": "h", "y": -0.2},
            plot_bgcolor="white",
        )
        return figure

    def static_base_figure(self) -> go.Figure:
        figure = self.base_figure()
        figure.update_layout(
            margin={"t": 70}, legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"}
        )
        return figure

    def _fold_series(self) -> _Series:
        start_over, snapshots = self._reader.unread(self.cluster.timeline)
        if start_over:
            self._series = _Series()
        series = self._series
        for snapshot in snapshots:
            values = self._counts(snapshot)
            if not series.values or series.values[-1] != values:
                series.at.append(snapshot.at_ms)
                series.values.append(values)
        return series

    def _counts(self, snapshot: Snapshot) -> tuple[int, int, int]:
        producer = self._producer(snapshot)
        p = _partition(snapshot, self.tp)
        stored = 0
        if p is not None and p.leader > 0:
            leader = p.replica(p.leader)
            stored = leader.log_end_offset - leader.log_start_offset
        if producer is None:
            return (0, 0, stored)
        return (producer.sent, producer.acked, stored)

    def _producer(self, snapshot: Snapshot) -> ProducerSnapshot | None:
        return next((p for p in snapshot.producers if p.name == self.producer), None)

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot) -> None:
        p = _partition(snapshot, self.tp)
        xs: list[int] = []
        ys: list[str] = []
        bases: list[int] = []
        texts: list[str] = []
        hovers: list[str] = []
        colours: list[str] = []
        ticks: list[str] = []
        for b in self.broker_ids:
            replica = None if p is None else p.replica(b)
            role = "-" if p is None else p.role_of(b)
            entries = () if replica is None else replica.producers
            ids = ", ".join(f"id {e.producer_id} epoch {e.producer_epoch}" for e in entries)
            ticks.append(f"broker-{b} ({role})<br>{ids or 'no producer'}")
            for entry in entries:
                for batch in entry.batches:
                    xs.append(batch.last_seq - batch.first_seq + 1)
                    ys.append(f"broker-{b}")
                    bases.append(batch.first_seq)
                    texts.append(f"@{batch.first_offset}")
                    hovers.append(
                        f"producer {entry.producer_id} epoch {entry.producer_epoch}: sequences "
                        f"{batch.first_seq}-{batch.last_seq} at offsets "
                        f"{batch.first_offset}-{batch.last_offset}"
                    )
                    colours.append(EPOCH_COLOURS[entry.producer_epoch % len(EPOCH_COLOURS)])
        data = figure.data
        data[0].x, data[0].y, data[0].base = xs, ys, bases
        data[0].text, data[0].hovertext = texts, hovers
        data[0].marker.color = colours
        labels = [f"broker-{b}" for b in self.broker_ids]
        figure.update_yaxes(tickvals=labels, ticktext=ticks, row=1, col=1)
        # The window of five batches, not every sequence number since 0.
        low = min(bases, default=0)
        high = max((b + x for b, x in zip(bases, xs, strict=True)), default=0)
        figure.update_xaxes(range=[low - 0.5, max(high, low + 10) + 0.5], row=1, col=1)
        series = self._fold_series()
        end = bisect.bisect_right(series.at, snapshot.at_ms)
        times = [*series.at[:end], snapshot.at_ms]
        rows = [*series.values[:end], self._counts(snapshot)]
        for i, trace in enumerate(data[1:4]):
            trace.x, trace.y = times, [row[i] for row in rows]

    def draw_text(self, snapshot: Snapshot) -> None:
        p = _partition(snapshot, self.tp)
        producer = self._producer(snapshot)
        parts = [f"<b>t = {snapshot.at_ms} ms</b>"]
        if producer is not None:
            who = (
                f"id {producer.producer_id}, epoch {producer.producer_epoch}"
                if producer.producer_id >= 0
                else "not idempotent"
            )
            parts.append(
                f"producer {producer.name} ({who}): sent {producer.sent}, acknowledged "
                f"{producer.acked}, batches retried {producer.retried_batches}"
            )
        if p is not None:
            parts.append(f"leader {p.describe_leader()}")
        lossy = [a for a, b in self._lossy_links() if b == self.producer]
        parts.append(f"answers dropped from: {', '.join(lossy) or 'none'}")
        self.status.value = " · ".join(parts)
        table = describe_producer_state(snapshot, self.tp)
        self.table.value = f"<pre>{table}</pre>"

    def static_title(self, snapshot: Snapshot) -> str:
        producer = self._producer(snapshot)
        if producer is None:
            return f"<b>t = {snapshot.at_ms} ms</b>"
        return (
            f"<b>t = {snapshot.at_ms} ms</b> · sent {producer.sent}, acknowledged "
            f"{producer.acked}, batches retried {producer.retried_batches}"
        )

    # -- controls ---------------------------------------------------------------------
    def _lossy_links(self) -> list[tuple[str, str]]:
        network = self.cluster.sim.network
        return [
            (broker, self.producer)
            for broker in sorted(self.cluster.broker_nodes)
            if network.link(broker, self.producer).loss > 0
        ]

    def _drop_answers(self) -> str:
        """The brokers' answers to the producer are lost ``answer_loss`` of the time."""
        link = LinkConfig(latency_ms_min=1, latency_ms_max=5, loss=self.answer_loss)
        for broker in self.cluster.broker_nodes:
            self.cluster.sim.network.configure(broker, self.producer, link)
        self.cluster.run_for(100)
        return (
            f"the brokers' answers to {self.producer} are lost {self.answer_loss:.0%} of the time"
        )

    def _kill_leader(self) -> str | None:
        leader = self.cluster.leader_of(self.tp)
        if leader <= 0:
            return f"{self.tp} has no leader to kill right now"
        if not self.cluster.sim.is_up(f"broker-{leader}"):
            return f"broker-{leader} is down already; the controller has not noticed yet"
        self.cluster.crash(f"broker-{leader}")
        return None  # the cluster says "crashed broker-N"

    def _restart(self) -> str | None:
        down = self.cluster.last_crashed_down()
        if down is None:
            return "nothing to restart: every broker is up"
        self.cluster.restart(down)
        return None  # the cluster says "restarted broker-N"
