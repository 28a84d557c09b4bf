"""A live view of transactions: the coordinator's state machine, markers and the LSO.

:class:`TransactionView` draws, from a :class:`~reflog.sim.cluster.Cluster`'s recorded
timeline, one transactional id as its transaction coordinator holds it (Kafka's
``TransactionMetadata``): its state in Kafka's state machine (Empty, Ongoing,
PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, PrepareEpochFence, Dead), the
move it made last, its producer id and epoch. Beside it, the last offsets of each partition
of the output topic (the leader's log): records of committed, aborted and still open
transactions, the COMMIT and ABORT markers, the **last stable offset** next to the high
watermark, and where a ``read_uncommitted`` and a ``read_committed`` consumer have read to.
Below, the records each of the two consumers was given over the run.

Its buttons act on the cluster: abort the processor's next transaction, kill the processor,
start its successor (the same ``transactional.id``: it fences the old one), kill the
coordinator's broker and restart it; play, step, scrub back and go live.
:func:`classify_offsets` and :func:`describe_transaction` read the same snapshot as data
and text.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.sim.cluster import Cluster
from reflog.sim.processor import TransactionalProcessor
from reflog.sim.timeline import (
    ReplicaSnapshot,
    Snapshot,
    SnapshotReader,
    TransactionSnapshot,
)
from reflog.transactions.state import ALLOWED_PREVIOUS, TxnState
from reflog.viz.controls import TimelineView

__all__ = [
    "KINDS",
    "PROCESSOR_LINES",
    "STATE_POSITIONS",
    "TransactionView",
    "classify_offsets",
    "describe_transaction",
    "processor_line_positions",
    "state_changes",
    "transaction_at_coordinator",
]

# Where each state sits in the drawing: commits above, aborts below, the fence under Ongoing.
STATE_POSITIONS: dict[str, tuple[float, float]] = {
    "Empty": (0.0, 1.0),
    "Ongoing": (1.0, 1.0),
    "PrepareCommit": (2.0, 2.0),
    "CompleteCommit": (3.0, 2.0),
    "PrepareAbort": (2.0, 0.0),
    "CompleteAbort": (3.0, 0.0),
    "PrepareEpochFence": (1.0, -1.0),
    "Dead": (0.0, -1.0),
}
# What an offset of a partition holds, and its colour.
KINDS: dict[str, str] = {
    "record": "#1f77b4",  # written outside any transaction
    "committed": "#2ca02c",
    "open": "#ff7f0e",  # its transaction is still open: read_committed does not read it yet
    "aborted": "#d62728",
    "COMMIT marker": "#145a32",
    "ABORT marker": "#7b241c",
}
MARKER_TEXT = {"COMMIT marker": "C", "ABORT marker": "A"}
WINDOW = 24  # offsets shown per partition: the last ones
CONSUMER_COLOURS = {"read_uncommitted": "#9467bd", "read_committed": "#17becf"}
# The processors' lines ("processor-2: up, epoch 2") go in a strip made for them at the bottom
# of the state panel, below every state and its two-line label (about 1.2 units deep at the
# panel's size): the newest three, one under another.
STATE_Y_RANGE = (-3.35, 3.15)
PROCESSOR_LINES = 3
PROCESSOR_LINES_TOP = -2.5
PROCESSOR_LINE_STEP = 0.32


def processor_line_positions(count: int) -> tuple[list[float], list[float]]:
    """Where the state panel writes ``count`` processor lines (left-aligned, from the left)."""
    return [-0.45] * count, [PROCESSOR_LINES_TOP - PROCESSOR_LINE_STEP * i for i in range(count)]


def transaction_at_coordinator(
    snapshot: Snapshot, transactional_id: str
) -> TransactionSnapshot | None:
    """The transactional id as a live coordinator holds it (None while none does)."""
    return next((t for t in snapshot.transactions if t.transactional_id == transactional_id), None)


def describe_transaction(snapshot: Snapshot, transactional_id: str) -> str:
    """``transactional.id doubler at broker-2: Ongoing, producer id 1000 epoch 0, ...``."""
    txn = transaction_at_coordinator(snapshot, transactional_id)
    if txn is None:
        return f"transactional.id {transactional_id}: no live coordinator holds it"
    partitions = ", ".join(str(tp) for tp in txn.partitions) or "none"
    return (
        f"transactional.id {transactional_id} at broker-{txn.coordinator}: {txn.state}, "
        f"producer id {txn.producer_id} epoch {txn.producer_epoch}, partitions {partitions}"
    )


def state_changes(
    snapshots: Iterable[Snapshot], transactional_id: str
) -> list[tuple[int, str, int]]:
    """``(time, state, producer epoch)`` each time the transactional id's state (or epoch)
    at its coordinator changed, over ``snapshots`` (a cluster's timeline)."""
    changes: list[tuple[int, str, int]] = []
    for snapshot in snapshots:
        txn = transaction_at_coordinator(snapshot, transactional_id)
        if txn is not None and (not changes or changes[-1][1:] != (txn.state, txn.producer_epoch)):
            changes.append((snapshot.at_ms, txn.state, txn.producer_epoch))
    return changes


def classify_offsets(replica: ReplicaSnapshot) -> dict[int, str]:
    """offset -> what it holds (a key of :data:`KINDS`), for every offset of the replica's
    log from its start: markers, records of committed, aborted and open transactions."""
    kinds = dict.fromkeys(range(replica.log_start_offset, replica.log_end_offset), "record")
    open_from = dict(replica.ongoing)  # producer id -> first offset of its open transaction
    aborted = replica.aborted
    for batch in replica.txn_batches:
        if batch.marker is not None:
            kind = f"{batch.marker} marker"
        elif batch.base_offset >= open_from.get(batch.producer_id, replica.log_end_offset):
            kind = "open"
        elif any(
            pid == batch.producer_id and first <= batch.base_offset < last
            for pid, first, last in aborted
        ):
            kind = "aborted"
        else:
            kind = "committed"
        for offset in range(batch.base_offset, batch.last_offset + 1):
            if offset in kinds:
                kinds[offset] = kind
    return kinds


def _life(alive: bool, epoch: int, newest_epoch: int) -> str:
    """``up, epoch 2``, ``fenced, epoch 2`` (a newer instance has a higher epoch: the
    coordinator refuses this one), ``starting`` (no epoch yet) or ``down``."""
    if not alive:
        return "down"
    if epoch < 0:
        return "starting"
    return f"fenced, epoch {epoch}" if epoch < newest_epoch else f"up, epoch {epoch}"


def _two_lines(state: str) -> str:
    """``Prepare<br>Commit``: a state's name over two lines, so neighbours do not overlap."""
    for i in range(1, len(state)):
        if state[i].isupper():
            return f"{state[:i]}<br>{state[i:]}"
    return state


@dataclass
class _History:
    """The transactional id's states over the run and the consumers' counts, folded in as
    the timeline grows."""

    state_at: list[int] = field(default_factory=list)
    states: list[tuple[str, int]] = field(default_factory=list)  # (state, producer epoch)
    count_at: list[int] = field(default_factory=list)
    counts: list[tuple[int, int]] = field(default_factory=list)  # (uncommitted, committed)


class TransactionView(TimelineView[Snapshot]):
    """One transactional id's state machine, the output topic's logs, two consumers."""

    def __init__(
        self,
        cluster: Cluster,
        transactional_id: str,
        output_topic: str,
        uncommitted: str,
        committed: str,
    ) -> None:
        super().__init__(cluster, step_ms=200)
        self.cluster = cluster
        self.transactional_id = transactional_id
        self.topic = output_topic
        self.consumers = {"read_uncommitted": uncommitted, "read_committed": committed}
        self._history = _History()
        self._reader: SnapshotReader[Snapshot] = SnapshotReader()
        self.figure = go.FigureWidget(self.base_figure())
        self.buttons = {
            "abort the next transaction": self.button(
                "abort the next transaction", "ban", self._abort_next
            ),
            "kill the processor": self.button("kill the processor", "times", self._kill),
            "start a successor": self.button("start a successor", "plus", self._successor),
            "kill the coordinator": self.button(
                "kill the coordinator", "bolt", self._kill_coordinator
            ),
            "restart brokers": self.button("restart brokers", "redo", self._restart_brokers),
        }
        self.status = widgets.HTML()
        self.start(widgets.HBox(list(self.buttons.values())), self.status, self.figure)

    # -- the figure -------------------------------------------------------------------
    def base_figure(self) -> go.Figure:
        figure = make_subplots(
            rows=2,
            cols=2,
            column_widths=[0.4, 0.6],
            row_heights=[0.62, 0.38],
            horizontal_spacing=0.08,
            vertical_spacing=0.14,
            specs=[[{}, {}], [{"colspan": 2}, None]],
            subplot_titles=(
                "the transaction coordinator's state",
                f"{self.topic}: the leader's log (last {WINDOW} offsets)",
                "records given to each consumer",
            ),
        )
        # The state machine: its moves (grey), the last move taken (thick), the states.
        xs: list[float | None] = []
        ys: list[float | None] = []
        for new, olds in ALLOWED_PREVIOUS.items():
            for old in olds:
                if old == new or (new == TxnState.DEAD and old != TxnState.EMPTY):
                    continue  # self-moves; Dead drawn from Empty only, to keep it readable
                (x0, y0), (x1, y1) = self._pos(old.kafka_name), self._pos(new.kafka_name)
                xs += [x0, x1, None]
                ys += [y0, y1, None]
        figure.add_scatter(
            x=xs, y=ys, mode="lines", line={"color": "#d0d0d0", "width": 1.5},
            hoverinfo="skip", showlegend=False, row=1, col=1,
        )  # fmt: skip
        figure.add_scatter(
            x=[], y=[], mode="lines", line={"color": "#ff7f0e", "width": 5},
            name="its last move", row=1, col=1,
        )  # fmt: skip
        names = list(STATE_POSITIONS)
        figure.add_scatter(
            x=[STATE_POSITIONS[n][0] for n in names],
            y=[STATE_POSITIONS[n][1] for n in names],
            mode="markers+text",
            text=[_two_lines(n) for n in names],
            textposition=[
                "top center" if STATE_POSITIONS[n][1] > 1 else "bottom center" for n in names
            ],
            marker={"size": 22, "color": "white", "line": {"color": "#555", "width": 2}},
            hoverinfo="text",
            showlegend=False,
            row=1,
            col=1,
        )
        figure.add_scatter(
            x=[], y=[], mode="text", textposition="middle right", textfont={"size": 11},
            hoverinfo="skip", cliponaxis=False, showlegend=False, row=1, col=1,
        )  # fmt: skip
        # The log: one bar trace per kind of offset, then HW, LSO and the consumers.
        for kind, colour in KINDS.items():
            figure.add_bar(
                name=kind, orientation="h", x=[], y=[], base=[], text=[], width=0.55,
                marker={"color": colour, "line": {"color": "white", "width": 1}},
                textposition="inside", insidetextanchor="middle", hoverinfo="text",
                row=1, col=2,
            )  # fmt: skip
        for name, colour, symbol in (
            ("high watermark", "#000000", "line-ns"),
            ("last stable offset (LSO)", "#e377c2", "line-ns"),
        ):
            figure.add_scatter(
                x=[], y=[], mode="markers", name=name, hoverinfo="text",
                marker={"symbol": symbol, "size": 20, "line": {"color": colour, "width": 4}},
                row=1, col=2,
            )  # fmt: skip
        for isolation, colour in CONSUMER_COLOURS.items():
            figure.add_scatter(
                x=[], y=[], mode="markers", name=f"{isolation} consumer's position",
                marker={"symbol": "triangle-down", "size": 11, "color": colour},
                hoverinfo="text", row=1, col=2,
            )  # fmt: skip
        for isolation, colour in CONSUMER_COLOURS.items():
            figure.add_scatter(
                x=[], y=[], mode="lines", name=f"{isolation}: records given",
                line={"color": colour, "shape": "hv"}, row=2, col=1,
            )  # fmt: skip
        figure.update_xaxes(visible=False, range=[-0.5, 3.6], row=1, col=1)
        figure.update_yaxes(visible=False, range=list(STATE_Y_RANGE), row=1, col=1)
        figure.update_xaxes(title="offset", row=1, col=2)
        figure.update_yaxes(autorange="reversed", row=1, col=2)
        figure.update_xaxes(title="simulated time (ms)", row=2, col=1)
        figure.update_yaxes(title="records", rangemode="tozero", row=2, col=1)
        figure.update_layout(
            height=720,
            barmode="overlay",
            margin={"t": 40, "b": 40, "l": 50, "r": 20},
            legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
            plot_bgcolor="white",
        )
        return figure

    def static_base_figure(self) -> go.Figure:
        figure = self.base_figure()
        figure.update_layout(
            margin={"t": 80, "b": 40},
            height=780,
            legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"},
        )
        return figure

    @staticmethod
    def _pos(state: str) -> tuple[float, float]:
        return STATE_POSITIONS[state]

    def _fold(self) -> _History:
        start_over, snapshots = self._reader.unread(self.cluster.timeline)
        if start_over:
            self._history = _History()
        history = self._history
        for snapshot in snapshots:
            state = self._state(snapshot)
            if state is not None and (not history.states or history.states[-1] != state):
                history.state_at.append(snapshot.at_ms)
                history.states.append(state)
            counts = self._counts(snapshot)
            if not history.counts or history.counts[-1] != counts:
                history.count_at.append(snapshot.at_ms)
                history.counts.append(counts)
        return history

    def _state(self, snapshot: Snapshot) -> tuple[str, int] | None:
        txn = transaction_at_coordinator(snapshot, self.transactional_id)
        return None if txn is None else (txn.state, txn.producer_epoch)

    def _counts(self, snapshot: Snapshot) -> tuple[int, int]:
        given = {c.name: c.consumed for c in snapshot.consumers}
        return (
            given.get(self.consumers["read_uncommitted"], 0),
            given.get(self.consumers["read_committed"], 0),
        )

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot) -> None:
        data = figure.data
        history = self._fold()
        # The state machine: the state now, and the move that led to it.
        end = bisect.bisect_right(history.state_at, snapshot.at_ms)
        states = history.states[:end]
        now = self._state(snapshot)
        names = list(STATE_POSITIONS)
        current = None if now is None else now[0]
        data[2].marker.color = ["#ff7f0e" if n == current else "white" for n in names]
        data[2].hovertext = names
        last_move = [s for s, _ in states[-2:]]
        if len(last_move) == 2 and last_move[0] != last_move[1] and last_move[1] == current:
            (x0, y0), (x1, y1) = self._pos(last_move[0]), self._pos(last_move[1])
            data[1].x, data[1].y = [x0, x1], [y0, y1]
        else:
            data[1].x, data[1].y = [], []
        processors = self._processor_lines(snapshot)[-PROCESSOR_LINES:]  # the newest
        data[3].x, data[3].y = processor_line_positions(len(processors))
        data[3].text = processors
        # The output topic's partitions, as their leaders' logs hold them.
        partitions = [p for p in snapshot.topic(self.topic)]
        leaders = [p.replica(p.leader) if p.leader > 0 else None for p in partitions]
        high = max((r.log_end_offset for r in leaders if r is not None), default=0)
        low = max(high - WINDOW, 0)
        cells: dict[str, tuple[list[int], list[int], list[str], list[str]]] = {
            kind: ([], [], [], []) for kind in KINDS
        }
        hw: tuple[list[int], list[int], list[str]] = ([], [], [])
        lso: tuple[list[int], list[int], list[str]] = ([], [], [])
        for row, (p, replica) in enumerate(zip(partitions, leaders, strict=True)):
            if replica is None:
                continue
            for offset, kind in classify_offsets(replica).items():
                if offset < low:
                    continue
                xs, ys, texts, hovers = cells[kind]
                xs.append(offset)
                ys.append(row)
                texts.append(MARKER_TEXT.get(kind, ""))
                hovers.append(f"{self.topic}-{p.partition} offset {offset}: {kind}")
            hw[0].append(replica.high_watermark)
            hw[1].append(row)
            hw[2].append(f"{self.topic}-{p.partition}: high watermark {replica.high_watermark}")
            stable = replica.last_stable_offset
            if stable < 0:
                stable = replica.high_watermark  # no transaction ever: the LSO is the HW
            lso[0].append(stable)
            lso[1].append(row)
            lso[2].append(f"{self.topic}-{p.partition}: last stable offset {stable}")
        for i, kind in enumerate(KINDS):
            xs, ys, texts, hovers = cells[kind]
            trace = data[4 + i]
            trace.x, trace.y, trace.base = [1] * len(xs), ys, [x - 0.5 for x in xs]
            trace.text, trace.hovertext = texts, hovers
        first = 4 + len(KINDS)
        for k, (trace, (xs, ys, hovers)) in enumerate(
            zip(data[first : first + 2], (hw, lso), strict=True)
        ):  # the high watermark's line a little above the LSO's: both show when equal
            trace.x, trace.hovertext = [x - 0.5 for x in xs], hovers
            trace.y = [y - 0.14 + 0.28 * k for y in ys]
        for j, (isolation, name) in enumerate(self.consumers.items()):
            consumer = next((c for c in snapshot.consumers if c.name == name), None)
            at: list[float] = []
            rows: list[float] = []
            reads: list[str] = []
            if consumer is not None:
                for row, p in enumerate(partitions):
                    position = consumer.position(p.partition)
                    if position is not None:
                        at.append(position - 0.5)
                        rows.append(row - 0.45 + 0.12 * j)
                        reads.append(f"{name} ({isolation}) reads {self.topic}-{p.partition} "
                                     f"from offset {position}")  # fmt: skip
            trace = data[first + 2 + j]
            trace.x, trace.y, trace.hovertext = at, rows, reads
        figure.update_xaxes(range=[low - 0.5, max(high, low + WINDOW) + 0.5], row=1, col=2)
        figure.update_yaxes(
            tickvals=list(range(len(partitions))),
            ticktext=[f"{self.topic}-{p.partition}" for p in partitions],
            range=[len(partitions) - 0.4, -0.7],
            row=1,
            col=2,
        )
        # The consumers' counts over the run.
        end = bisect.bisect_right(history.count_at, snapshot.at_ms)
        times = [*history.count_at[:end], snapshot.at_ms]
        counts = [*history.counts[:end], self._counts(snapshot)]
        for j, trace in enumerate(data[first + 4 : first + 6]):
            trace.x, trace.y = times, [c[j] for c in counts]

    def _processor_lines(self, snapshot: Snapshot) -> list[str]:
        """``processor-2: up, epoch 2`` (or ``processor-1: down``) for each processor with
        this transactional id."""
        newest = self._newest_epoch(snapshot)
        return [
            f"{p.name}: {_life(p.alive, p.producer_epoch, newest)}"
            for p in snapshot.producers
            if self._is_processor(p.name)
        ]

    def _newest_epoch(self, snapshot: Snapshot) -> int:
        """The highest producer epoch any processor with this transactional id was given."""
        epochs = [p.producer_epoch for p in snapshot.producers if self._is_processor(p.name)]
        return max(epochs, default=-1)

    def draw_text(self, snapshot: Snapshot) -> None:
        parts = [f"<b>t = {snapshot.at_ms} ms</b>", describe_transaction(snapshot, self.tid)]
        newest = self._newest_epoch(snapshot)
        for producer in snapshot.producers:
            if self._is_processor(producer.name):
                alive = _life(producer.alive, producer.producer_epoch, newest)
                parts.append(
                    f"{producer.name} ({alive}): {producer.sent} results sent, "
                    f"{producer.failed} refused"
                )
        self.status.value = "<br>".join(parts)

    def static_title(self, snapshot: Snapshot) -> str:
        return f"<b>t = {snapshot.at_ms} ms</b> · {describe_transaction(snapshot, self.tid)}"

    @property
    def tid(self) -> str:
        return self.transactional_id

    # -- controls ---------------------------------------------------------------------
    def _is_processor(self, name: str) -> bool:
        node = self.cluster.producers.get(name)
        return isinstance(node, TransactionalProcessor) and node.config.transactional_id == self.tid

    def _processors(self) -> list[TransactionalProcessor]:
        return [
            p
            for p in self.cluster.producers.values()
            if isinstance(p, TransactionalProcessor) and p.config.transactional_id == self.tid
        ]

    def _current(self) -> TransactionalProcessor | None:
        """The newest processor that is up (the one doing the work)."""
        up = [p for p in self._processors() if self.cluster.sim.is_up(p.name)]
        return up[-1] if up else None

    def _abort_next(self) -> str:
        processor = self._current()
        if processor is not None:
            processor.abort_next = True
        self.cluster.run_for(1)
        if processor is None:
            return "no processor is running"
        return f"{processor.name} will abort its next transaction"

    def _kill(self) -> str | None:
        processor = self._current()
        if processor is None:
            return "no processor is running to kill"
        self.cluster.crash(processor.name)
        self.cluster.crash(processor.source.name)
        return None  # the cluster says "crashed ..."

    def _successor(self) -> None:
        processors = self._processors()
        if not processors:
            return
        last = processors[-1]
        stem = last.name.rsplit("-", 1)[0]
        self.cluster.add_processor(
            f"{stem}-{len(processors) + 1}",
            last.source.topic,
            last.topic,
            transactional_id=self.tid,
            group_id=last.group,
            records_per_txn=last.records_per_txn,
            processing_ms=last.processing_ms,
            transaction_timeout_ms=last.config.transaction_timeout_ms,
        )

    def _kill_coordinator(self) -> str | None:
        txn = transaction_at_coordinator(self.cluster.snapshot(), self.tid)
        if txn is None:
            return f"no live coordinator of {self.tid} to kill right now"
        if not self.cluster.sim.is_up(f"broker-{txn.coordinator}"):
            return f"broker-{txn.coordinator}, its coordinator, is down already"
        self.cluster.crash(f"broker-{txn.coordinator}")
        return None  # the cluster says "crashed broker-N"

    def _restart_brokers(self) -> str | None:
        down = [
            name for name in sorted(self.cluster.broker_nodes) if not self.cluster.sim.is_up(name)
        ]
        if not down:
            return "nothing to restart: every broker is up"
        for name in down:
            self.cluster.restart(name)
        return None  # the cluster says "restarted broker-N"
