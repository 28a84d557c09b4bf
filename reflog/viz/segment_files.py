"""A partition's segments drawn as the files they are, for the leader and a follower.

Each row is one segment file, ``<base offset>.log``, oldest at the top, drawn along
its bytes: every record batch is a block at its position in the file, every entry
of the sparse ``.index`` is a pointer (▼) to the batch it points at. The active
segment, the only one written to, is outlined up to ``segment.bytes``: when it
fills, it rolls and a new row appears below it. Retention deletes whole rows from
the top and moves the log start offset; the cleaner rewrites a compacted row
shorter, with the same offsets. The leader's files are on the left, a follower's on
the right: the same names, the same batches at the same positions.

A batch's colour is the leader epoch that wrote it (from the replica's leader-epoch
cache), so after a leader change the new leader's batches stand out.

The drawing stays readable after any run: at most ``max_segments`` files are drawn
(the older ones are summed up in one line) and at most ``max_blocks`` blocks per
file (beyond that, neighbouring batches are drawn as one block).

:func:`layout_replica` turns one recorded :class:`~reflog.sim.timeline.ReplicaSnapshot`
into what is drawn (pure, tested); :class:`SegmentFilesView` draws it from the
cluster's timeline, so the time slider scrubs back through the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.records.batch import HEADER_SIZE
from reflog.sim.cluster import Cluster
from reflog.sim.timeline import PartitionSnapshot, ReplicaSnapshot, SegmentSnapshot, Snapshot
from reflog.storage.segment import BatchHeader, segment_file_name
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import TimelineView
from reflog.viz.static import scrubbable_figure

__all__ = [
    "BatchBlock",
    "FileRow",
    "IndexPointer",
    "OlderSegments",
    "ReplicaFiles",
    "SegmentFilesView",
    "describe_files",
    "layout_replica",
    "shown_replicas",
]

MAX_SEGMENTS = 6
# A live view draws at most this often (seconds of wall time): playing records a moment every
# 50 ms, and a notebook may show several of these views of one cluster; redrawn that often, their
# hundreds of blocks kept the browser busy until the tab froze. In between, the newest moment
# waits and is drawn when its turn comes, so the last one is always drawn.
DRAW_EVERY_S = 0.3
MAX_BLOCKS = 48
HALF_HEIGHT = 0.22  # a file's half height, in rows
LABEL_OFFSET = 0.36  # a file's name is written this far above the middle of its row
# One colour per leader epoch (epochs beyond the palette reuse it), in two shades so
# that neighbouring batches of one epoch stay apart.
EPOCH_COLOURS = (
    ("#1f77b4", "#4a98cf"),
    ("#ff7f0e", "#ffa04d"),
    ("#2ca02c", "#55c255"),
    ("#9467bd", "#b08fd6"),
    ("#8c564b", "#b07a6e"),
    ("#e377c2", "#f0a3d8"),
)
DOWN_COLOURS = ("#b0b0b0", "#c8c8c8")
EMPTY_COLOURS = ("#e4e4e4", "#f0f0f0")  # a batch the cleaner emptied: its header is kept
# Blocks carry a number into this palette (a stored figure keeps one small number per block,
# not a colour name): two shades of each epoch's colour, then emptied, then down.
PALETTE = tuple(c for pair in (*EPOCH_COLOURS, EMPTY_COLOURS, DOWN_COLOURS) for c in pair)
EMPTY = 2 * len(EPOCH_COLOURS)
DOWN = EMPTY + 2


def colour_number(block: BatchBlock, alive: bool) -> int:
    """Where ``block``'s colour is in :data:`PALETTE`."""
    if block.empty:
        return EMPTY + block.shade
    if not alive:
        return DOWN + block.shade
    return 2 * (block.epoch % len(EPOCH_COLOURS)) + block.shade


@dataclass(frozen=True, slots=True)
class FileRow:
    """One segment file in its row (row 0 is kept for the older segments' summary)."""

    row: int
    name: str  # 00000000000000000846.log, as on disk
    segment: SegmentSnapshot


@dataclass(frozen=True, slots=True)
class BatchBlock:
    """One batch (or, in a very full file, a few neighbouring ones) where it sits."""

    row: int
    start: int  # byte position in the .log
    end: int
    base_offset: int
    last_offset: int
    batches: int  # how many batches the block stands for
    epoch: int  # the leader epoch that wrote it
    shade: int  # 0 or 1, alternating along the file
    empty: bool  # only headers: every record was removed by the cleaner


@dataclass(frozen=True, slots=True)
class IndexPointer:
    """One ``.index`` entry: an offset and the file position of the batch it points at."""

    row: int
    offset: int
    position: int


@dataclass(frozen=True, slots=True)
class OlderSegments:
    """The files not drawn, summed up."""

    count: int
    first_offset: int
    end_offset: int  # the base offset of the first file drawn
    size: int


@dataclass(frozen=True, slots=True)
class ReplicaFiles:
    """What is drawn of one replica's log."""

    broker_id: int
    role: str
    alive: bool
    log_start_offset: int
    log_end_offset: int
    high_watermark: int
    older: OlderSegments | None
    files: tuple[FileRow, ...]
    blocks: tuple[BatchBlock, ...]
    pointers: tuple[IndexPointer, ...]


def _epoch_of(replica: ReplicaSnapshot, offset: int) -> int:
    """The leader epoch that wrote ``offset``: the last epoch-cache entry starting at or
    before it (0 before the first one)."""
    epoch = 0
    for entry in replica.epochs:
        if entry.start_offset > offset:
            break
        epoch = entry.epoch
    return epoch


def _blocks(
    row: int, batches: tuple[BatchHeader, ...], replica: ReplicaSnapshot, max_blocks: int
) -> list[BatchBlock]:
    # Group neighbouring batches when there are more than max_blocks (ceil division).
    per_block = max(1, -(-len(batches) // max_blocks))
    out = []
    for i in range(0, len(batches), per_block):
        group = batches[i : i + per_block]
        first, last = group[0], group[-1]
        out.append(
            BatchBlock(
                row,
                first.position,
                last.position + last.size,
                first.base_offset,
                last.last_offset,
                len(group),
                _epoch_of(replica, first.base_offset),
                (i // per_block) % 2,
                all(b.size == HEADER_SIZE for b in group),
            )
        )
    return out


def layout_replica(
    replica: ReplicaSnapshot, *, max_segments: int = MAX_SEGMENTS, max_blocks: int = MAX_BLOCKS
) -> ReplicaFiles:
    """Where each of ``replica``'s newest ``max_segments`` files, batches and index
    entries is drawn. Segments recorded without their batches are drawn as files only."""
    segments = replica.segments
    hidden, shown = segments[: -max_segments or None], segments[-max_segments:]
    if max_segments <= 0:
        hidden, shown = segments, ()
    older = None
    if hidden:
        older = OlderSegments(
            len(hidden),
            min(replica.log_start_offset, hidden[0].base_offset),
            hidden[-1].next_offset if not shown else shown[0].base_offset,
            sum(s.size for s in hidden),
        )
    files, blocks, pointers = [], [], []
    for row, segment in enumerate(shown, start=1):
        files.append(FileRow(row, segment_file_name(segment.base_offset, ".log"), segment))
        if segment.batches:
            blocks += _blocks(row, segment.batches, replica, max_blocks)
        for entry in segment.index:
            pointers.append(IndexPointer(row, entry.offset, entry.position))
    return ReplicaFiles(
        replica.broker_id,
        replica.role,
        replica.alive,
        replica.log_start_offset,
        replica.log_end_offset,
        replica.high_watermark,
        older,
        tuple(files),
        tuple(blocks),
        tuple(pointers),
    )


def shown_replicas(
    partition: PartitionSnapshot, follower: int | None = None
) -> tuple[ReplicaSnapshot, ReplicaSnapshot | None]:
    """The leader's replica (the first one while there is no leader) and a follower's:
    ``follower`` if given and not the leader, else the next one in assignment order."""
    replicas = partition.replicas
    leader = next((r for r in replicas if r.broker_id == partition.leader), replicas[0])
    others = [r for r in replicas if r is not leader]
    chosen = next((r for r in others if r.broker_id == follower), others[0] if others else None)
    return leader, chosen


def _size(size: int) -> str:
    return f"{size} B" if size < 10_000 else f"{size / 1024:.1f} KiB"


def describe_files(files: ReplicaFiles) -> str:
    """The drawn files as text, one line per file (deterministic: notebooks print it)."""
    state = files.role if files.alive else "down"
    lines = [
        f"broker-{files.broker_id} ({state}): log start {files.log_start_offset}, "
        f"log end {files.log_end_offset}, high watermark {files.high_watermark}"
    ]
    if files.older is not None:
        o = files.older
        lines.append(
            f"  ... {o.count} older segment(s): offsets {o.first_offset}..{o.end_offset - 1}, "
            f"{_size(o.size)}"
        )
    for f in files.files:
        s = f.segment
        lines.append(
            f"  {f.name}  {s.size:5} bytes  {s.batch_count:3} batches  "
            f"{s.index_count:2} index entries  "
            f"offsets {s.base_offset}..{s.next_offset - 1}" + ("  (active)" if s.active else "")
        )
    return "\n".join(lines)


# -- drawing ----------------------------------------------------------------------------
# The traces of one column, in this order (the view updates them in place).
TRACES = ("file", "room", "batches", "index", "log start", "labels")


def _rectangles(spans: Sequence[tuple[int, int, int]]) -> tuple[list[int | float | None], ...]:
    """Closed outlines of (row, x0, x1) rectangles, separated by None, for one trace."""
    xs: list[int | float | None] = []
    ys: list[int | float | None] = []
    for row, x0, x1 in spans:
        top, bottom = row - HALF_HEIGHT, row + HALF_HEIGHT
        xs += [x0, x1, x1, x0, x0, None]
        ys += [top, top, bottom, bottom, top, None]
    return xs, ys


def _file_label(row: FileRow) -> str:
    s = row.segment
    active = " · <b>active</b>" if s.active else ""
    return f"{row.name} · offsets {s.base_offset}..{s.next_offset - 1}{active}"


def column_traces(
    files: ReplicaFiles, segment_bytes: int, *, hover: bool = True
) -> list[dict[str, object]]:
    """The data of each trace in :data:`TRACES` for one replica, as plotly properties
    (without hover texts if not ``hover``: a stored figure keeps only what it draws)."""
    file_x, file_y = _rectangles([(f.row, 0, f.segment.size) for f in files.files])
    room = [
        (f.row, f.segment.size, max(segment_bytes, f.segment.size))
        for f in files.files
        if f.segment.active
    ]
    room_x, room_y = _rectangles(room)
    blocks = files.blocks
    batch: dict[str, object] = {
        "x": [b.end - b.start for b in blocks],
        "base": [b.start for b in blocks],
        "y": [b.row for b in blocks],
        "marker.color": [colour_number(b, files.alive) for b in blocks],
        "hovertext": [
            (
                f"batch, offsets {b.base_offset}..{b.last_offset}"
                if b.batches == 1
                else f"{b.batches} batches, offsets {b.base_offset}..{b.last_offset}"
            )
            + f"<br>bytes {b.start}..{b.end} of the .log<br>leader epoch {b.epoch}"
            + ("<br>emptied by the cleaner: only its header is left" if b.empty else "")
            for b in blocks
        ],
    }
    pointers = files.pointers
    index: dict[str, object] = {
        "x": [p.position for p in pointers],
        "y": [p.row - HALF_HEIGHT - 0.07 for p in pointers],
        "hovertext": [f".index entry: offset {p.offset} → byte {p.position}" for p in pointers],
    }
    if not hover:
        del batch["hovertext"], index["hovertext"]
    start: dict[str, object] = {"x": [], "y": []}
    # The log start offset is marked where it is: on the first file drawn, unless older files
    # (summed up above it) hold it.
    if files.files and files.older is None and files.log_start_offset > 0:
        row = files.files[0].row
        start = {"x": [0, 0], "y": [row + HALF_HEIGHT + 0.05, row - HALF_HEIGHT - 0.05]}
    # Row 0 says what is above the first file drawn: older files, or nothing any more.
    labels = [(0, "")]
    if files.older is not None:
        o = files.older
        labels = [
            (
                0,
                f"⋯ {o.count} older files: offsets {o.first_offset}..{o.end_offset - 1}, "
                f"{_size(o.size)}",
            )
        ]
    elif files.log_start_offset > 0:
        labels = [(0, f"offsets 0..{files.log_start_offset - 1}: deleted by retention")]
    labels += [(f.row, _file_label(f)) for f in files.files]
    text = {
        "x": [0] * len(labels),
        "y": [row - LABEL_OFFSET if row else 0 for row, _ in labels],
        "text": [label for _, label in labels],
        "textfont.color": ["#d62728" if "retention" in labels[0][1] else "#555"]
        + ["#333"] * (len(labels) - 1),
    }
    return [
        {"x": file_x, "y": file_y},
        {"x": room_x, "y": room_y},
        batch,
        index,
        start,
        text,
    ]


def column_title(files: ReplicaFiles | None) -> str:
    if files is None:
        return "(no follower)"
    state = files.role if files.alive else "down: its files as they were"
    return (
        f"<b>broker-{files.broker_id}</b> ({state})<br>"
        f"log start {files.log_start_offset} · HW {files.high_watermark} · "
        f"log end {files.log_end_offset}"
    )


def _legend_swatch(figure: go.Figure, name: str, colour: str) -> None:
    """A legend entry only (the batches' own trace is coloured block by block)."""
    figure.add_bar(
        x=[None],
        y=[None],
        orientation="h",
        name=name,
        marker={"color": colour},
        hoverinfo="skip",
        row=1,
        col=1,
    )


def _empty_figure(max_segments: int, segment_bytes: int, height: int) -> go.Figure:
    figure = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.06, subplot_titles=("leader", "follower")
    )
    for col in (1, 2):
        first = col == 1
        figure.add_scatter(
            x=[],
            y=[],
            mode="lines",
            line={"color": "#555", "width": 1},
            name=".log file",
            legendgroup="file",
            showlegend=first,
            hoverinfo="skip",
            row=1,
            col=col,
        )
        figure.add_scatter(
            x=[],
            y=[],
            mode="lines",
            line={"color": "#999", "width": 1, "dash": "dot"},
            name="room before the roll (segment.bytes)",
            legendgroup="room",
            showlegend=first,
            hoverinfo="skip",
            row=1,
            col=col,
        )
        figure.add_bar(
            x=[],
            y=[],
            base=[],
            orientation="h",
            width=2 * HALF_HEIGHT,
            marker={
                "colorscale": [
                    [i / (len(PALETTE) - 1), colour] for i, colour in enumerate(PALETTE)
                ],
                "cmin": 0,
                "cmax": len(PALETTE) - 1,
                "line": {"color": "white", "width": 1},
            },
            name="record batch",
            showlegend=False,
            hoverinfo="text",
            row=1,
            col=col,
        )
        figure.add_scatter(
            x=[],
            y=[],
            mode="markers",
            marker={"symbol": "triangle-down", "size": 8, "color": "black"},
            name=".index entry → its batch",
            legendgroup="index",
            showlegend=first,
            hoverinfo="text",
            row=1,
            col=col,
        )
        figure.add_scatter(
            x=[],
            y=[],
            mode="lines",
            line={"color": "#d62728", "width": 4},
            name="log start offset",
            legendgroup="start",
            showlegend=first,
            hoverinfo="skip",
            row=1,
            col=col,
        )
        figure.add_scatter(
            x=[],
            y=[],
            mode="text",
            text=[],
            textposition="top right",
            textfont={"size": 11},
            showlegend=False,
            hoverinfo="skip",
            row=1,
            col=col,
        )
        figure.update_xaxes(
            title={"text": "byte position in the .log file", "font": {"size": 12}},
            range=[-0.02 * segment_bytes, segment_bytes * 1.04],
            row=1,
            col=col,
        )
        figure.update_yaxes(range=[max_segments + 0.5, -0.6], visible=False, row=1, col=col)
    _legend_swatch(figure, "record batch (colour: leader epoch)", EPOCH_COLOURS[0][0])
    _legend_swatch(figure, "emptied by the cleaner", EMPTY_COLOURS[0])
    figure.update_annotations(font={"size": 13})
    figure.update_layout(
        barmode="overlay",
        height=height,
        margin={"t": 60, "b": 130, "l": 10, "r": 10},
        legend={"orientation": "h", "x": 0, "y": -0.1, "yanchor": "top", "font": {"size": 11}},
        plot_bgcolor="white",
        hovermode="closest",
    )
    return figure


def _height(max_segments: int) -> int:
    return 190 + 58 * (max_segments + 1)


def segment_figure(
    snapshot: Snapshot,
    topic: str,
    partition: int = 0,
    *,
    follower: int | None = None,
    segment_bytes: int | None = None,
    max_segments: int = MAX_SEGMENTS,
    max_blocks: int = MAX_BLOCKS,
) -> go.Figure:
    """The leader's and a follower's segment files at ``snapshot``, as a plain figure."""
    figure = _empty_figure(max_segments, segment_bytes or 1, _height(max_segments))
    _fill(figure, snapshot, topic, partition, follower, segment_bytes, max_segments, max_blocks)
    return figure


def _fill(
    figure: go.Figure,
    snapshot: Snapshot,
    topic: str,
    partition: int,
    follower: int | None,
    segment_bytes: int | None,
    max_segments: int,
    max_blocks: int,
    *,
    hover: bool = True,
) -> None:
    """Set every trace and title of ``figure`` to ``snapshot``, each trace in one update
    of its own (a live view sends each as one message)."""
    try:
        shown: PartitionSnapshot | None = snapshot.partition(topic, partition)
    except KeyError:  # not created yet at this moment
        shown = None
    leader, other = (None, None) if shown is None else shown_replicas(shown, follower)
    columns = [
        layout_replica(r, max_segments=max_segments, max_blocks=max_blocks)
        if r is not None
        else None
        for r in (leader, other)
    ]
    # "Offline" with a leader elected: a replica back up that has not heard of it yet.
    columns = [
        replace(c, role=shown.role_of(c.broker_id))
        if shown is not None and c is not None and c.role == "Offline" and shown.leader > 0
        else c
        for c in columns
    ]
    widest = max((f.segment.size for c in columns if c is not None for f in c.files), default=1)
    capacity = segment_bytes or widest
    n = len(TRACES)
    for col, files in enumerate(columns):
        empty = ReplicaFiles(0, "", True, 0, 0, 0, None, (), (), ())
        data = column_traces(files or empty, capacity, hover=hover)
        for i, props in enumerate(data):
            figure.data[col * n + i].update(props)
        figure.layout.annotations[col].text = column_title(files)
    width = max(capacity, widest)
    xrange = [-0.02 * width, width * 1.04]
    figure.layout.xaxis.range = xrange
    figure.layout.xaxis2.range = xrange


class SegmentFilesView(TimelineView[Snapshot]):
    """The leader's and a follower's segment files of one partition, live or scrubbed
    back, with buttons that act on the run: the producer's rate, crashing and restarting
    the follower shown."""

    def __init__(
        self,
        cluster: Cluster,
        topic: str | TopicPartition,
        partition: int = 0,
        *,
        follower: int | None = None,
        segment_bytes: int | None = None,
        producer: str | None = None,
        max_segments: int = MAX_SEGMENTS,
        max_blocks: int = MAX_BLOCKS,
        stored_frames: int = 20,
    ) -> None:
        """``segment_bytes``: the topic's ``segment.bytes``, how long the active file may
        grow (the longest file drawn if None); ``producer``: a producer whose rate the
        buttons change; ``stored_frames``: how many moments of the run the figure stored in
        the notebook keeps (each costs a few kilobytes)."""
        if isinstance(topic, TopicPartition):
            partition = topic.partition
            topic = topic.topic
        super().__init__(cluster, step_ms=500)
        self.cluster = cluster
        self.topic = topic
        self.partition = partition
        self.follower = follower
        self.segment_bytes = segment_bytes
        self.producer = producer
        self.max_segments = max_segments
        self.max_blocks = max_blocks
        self.stored_frames = stored_frames
        self._waiting: Snapshot | None = None  # the newest moment, not drawn yet
        self._timer: asyncio.TimerHandle | None = None  # when it will be
        self._drawn_at = 0.0  # time.monotonic() of the last draw
        self.figure = go.FigureWidget(self.base_figure())
        buttons = []
        if producer is not None:
            buttons += [
                self.button("produce faster", "fast-forward", lambda: self._scale_rate(2.0)),
                self.button("slower", "backward", lambda: self._scale_rate(0.5)),
            ]
        buttons += [
            self.button("crash follower", "times", self._crash_follower),
            self.button("restart it", "redo", self._restart_follower),
        ]
        self.start(widgets.HBox(buttons), self.figure)

    def base_figure(self) -> go.Figure:
        return _empty_figure(self.max_segments, self.segment_bytes or 1, _height(self.max_segments))

    def draw(self, snapshot: Snapshot) -> None:
        """Draw ``snapshot``, or, within :data:`DRAW_EVERY_S` of the last draw in a kernel,
        draw the newest moment when that time is up."""
        self._waiting = snapshot
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a plain script or test): draw now
            self._draw_waiting()
            return
        if self._timer is not None:  # a draw is already due: it draws the newest moment
            return
        wait = self._drawn_at + DRAW_EVERY_S - time.monotonic()
        if wait <= 0:
            self._draw_waiting()
        else:
            self._timer = loop.call_later(wait, self._draw_waiting)

    def _draw_waiting(self) -> None:
        self._timer = None
        snapshot, self._waiting = self._waiting, None
        if snapshot is not None:
            self._drawn_at = time.monotonic()
            super().draw(snapshot)

    def draw_figure(self, figure: go.Figure, snapshot: Snapshot, hover: bool = True) -> None:
        _fill(
            figure,
            snapshot,
            self.topic,
            self.partition,
            self.follower,
            self.segment_bytes,
            self.max_segments,
            self.max_blocks,
            hover=hover,
        )

    def static_figure(self, max_frames: int | None = None) -> go.Figure:
        """The recorded run as a plain figure with frames and a slider (no kernel needed)."""
        return scrubbable_figure(
            self.base_figure(),
            lambda figure, snapshot: self.draw_figure(figure, snapshot, hover=False),
            list(self.run.timeline),
            label=lambda s: f"{s.at_ms} ms",
            max_frames=max_frames or self.stored_frames,
        )

    def _shown_follower(self) -> int | None:
        snapshot = self.run.timeline.latest
        _, follower = shown_replicas(snapshot.partition(self.topic, self.partition), self.follower)
        return None if follower is None else follower.broker_id

    def _scale_rate(self, factor: float) -> None:
        assert self.producer is not None
        rate = self.run.timeline.latest.producer(self.producer).rate_per_s
        self.cluster.set_rate(self.producer, max(1.0, rate * factor))

    def _crash_follower(self) -> None:
        broker = self._shown_follower()
        if broker is not None:
            self.follower = broker  # keep showing it while it is down
            self.cluster.crash(f"broker-{broker}")

    def _restart_follower(self) -> None:
        if self.follower is not None:
            self.cluster.restart(f"broker-{self.follower}")
