"""Zero-copy reads on a real in-kernel cluster: who sent record bytes by ``sendfile``.

:class:`ZeroCopyRun` drives a :class:`~reflog.net.local_cluster.LocalCluster` (asyncio
servers on the kernel's loop, real TCP) with reflog's own producer and consumer, and
records, after every action, each broker's byte counters as a
:class:`ZeroCopySample`: record bytes sent by ``os.sendfile`` to clients (every fetch that
is not a follower's, as Kafka counts a consumer's: the run's consumer and the notebook's timed
fetches alike), to followers (replica fetches), and record bytes read into Python to be written the
ordinary way (zero only while every broker serves by ``sendfile``).

:class:`ZeroCopyView` draws the recorded samples: the counters per broker at the moment
shown, and their totals over the run, with buttons that produce, consume, and switch
the brokers between ``sendfile`` and read-then-send, under the shared time slider and
"live" button (:mod:`reflog.viz.controls`).

:func:`fetch_everything` is the other half of the chapter: a bare client that fetches
a topic from its leaders over blocking sockets and keeps the bytes, so timing it
measures the brokers' way of sending rather than a client's decoding;
:func:`comparison_figure` draws the two ways side by side, one measure per panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.consumer import Consumer, ConsumerConfig
from reflog.net.client import ClientRunner, now_ms, parse_bootstrap
from reflog.net.local_cluster import LocalCluster
from reflog.producer import Producer, ProducerConfig
from reflog.records import iter_batches
from reflog.sim.pacing import Paced, Pacer
from reflog.sim.timeline import Timeline
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import TimelineView
from reflog.viz.static import scrubbable_figure
from reflog.wire.apis import decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic

__all__ = [
    "BrokerBytes",
    "FetchTiming",
    "ZeroCopyRun",
    "ZeroCopySample",
    "ZeroCopyView",
    "comparison_figure",
    "counters_figure",
    "describe_history",
    "describe_sample",
    "draw_sample",
    "evict_page_cache",
    "fetch_everything",
    "leaders_of",
    "timed_fetch",
]

# Plotly loads its widget class, and with it nbformat and jsonschema, on first use: seconds,
# during which nothing else runs on the loop. Loaded now, with this module, so that drawing
# the first view does not freeze the brokers that share the kernel's loop.
FigureWidget = go.FigureWidget

MB = 1_000_000
RECORD_BYTES = 1_000  # each record's value: a kilobyte, as a small event would be
COLOURS = {"consumer": "#1f77b4", "follower": "#2ca02c", "copied": "#d62728"}


# -- what is recorded --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BrokerBytes:
    """One broker's record bytes sent since it started, by how and to whom."""

    broker_id: int
    consumer_sendfile_bytes: int
    follower_sendfile_bytes: int
    copied_bytes: int  # read into Python, then written: the read-then-send path


@dataclass(frozen=True, slots=True)
class ZeroCopySample:
    """The counters of every broker at ``at_ms`` (ms since the run started), and the
    action that had just finished ("" for a sample taken while playing)."""

    at_ms: int
    brokers: tuple[BrokerBytes, ...]
    produced_bytes: int  # record values acknowledged by the brokers
    consumed_bytes: int  # record values the consumer received
    zero_copy: bool  # the brokers serve by sendfile (else read-then-send)
    action: str = ""

    def total(self, what: str) -> int:
        """Summed over brokers: "consumer", "follower" (sendfile bytes) or "copied"."""
        return sum(_count(b, what) for b in self.brokers)


def _count(b: BrokerBytes, what: str) -> int:
    if what == "consumer":
        return b.consumer_sendfile_bytes
    if what == "follower":
        return b.follower_sendfile_bytes
    return b.copied_bytes


def leaders_of(cluster: LocalCluster, topic: str) -> dict[int, int]:
    """Partition → leader broker id, as the running brokers' metadata image has it."""
    for node in cluster.brokers.values():
        if node.server is not None:
            image = node.server.broker.image.topics[topic]
            return {p: state.leader for p, state in sorted(image.partitions.items())}
    raise ValueError("no broker is running")


# -- the run -----------------------------------------------------------------------------
class ZeroCopyRun(Paced):
    """A producer and a consumer on ``topic`` of a running cluster, and the recorded
    counters. Actions are coroutines (await them in a notebook cell, or let a button
    start them on the kernel's loop); each records one sample when it is done."""

    def __init__(self, cluster: LocalCluster, topic: str, *, seed: int = 0) -> None:
        self.cluster = cluster
        self.topic = topic
        self.timeline: Timeline[ZeroCopySample] = Timeline()
        self.produced_bytes = 0
        self.consumed_bytes = 0
        self.busy = ""  # the action in progress, for a view's status line
        self.closed = False  # the clients are disconnected: no more actions
        servers = tuple(parse_bootstrap(cluster.bootstrap_servers))
        # Big batches: a few produce requests carry megabytes (Kafka's batch.size).
        self.producer = Producer(
            ProducerConfig(bootstrap_servers=servers, batch_size=256 * 1024, linger_ms=5),
            random.Random(seed),
        )
        self.consumer = Consumer(ConsumerConfig(bootstrap_servers=servers))
        self._producing = ClientRunner(self.producer)
        self._consuming = ClientRunner(self.consumer)
        self._value = random.Random(seed).randbytes(RECORD_BYTES)
        self._partitions: list[int] = []
        self._acked_records = 0
        self._consumed_records = 0
        self._lock = asyncio.Lock()  # one action at a time: a button and play share it
        self._listeners: list[Callable[[], None]] = []
        self._started = time.monotonic()
        self.pacer = Pacer(self._stream, frame_ms=500)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Learn the topic's partitions, point the consumer at their beginnings, and
        record the first sample."""
        self.producer.network.want_topics({self.topic}, now_ms())
        if not await self._producing.run_until(
            lambda: self.producer.network.partitions(self.topic) is not None, timeout_s
        ):
            raise TimeoutError(f"no metadata for {self.topic}")
        self._partitions = sorted(
            p.partition for p in self.producer.network.partitions(self.topic) or []
        )
        tps = [TopicPartition(self.topic, p) for p in self._partitions]
        self.consumer.assign(tps, now_ms())
        for tp in tps:
            self.consumer.seek(tp, 0)
        self.record("started")

    async def close(self) -> None:
        """Stop playing, let an action under way finish, disconnect the clients."""
        self.pause()
        await asyncio.gather(*self._tasks)  # a frame's produce-and-consume under way
        async with self._lock:  # a button's action under way
            await self._producing.close()
            await self._consuming.close()
        self.closed = True
        for listener in list(self._listeners):
            listener()

    # -- actions ------------------------------------------------------------------------
    async def produce(self, mb: float, timeout_s: float = 30.0, action: str | None = None) -> int:
        """Send ``mb`` megabytes of 1 KB records round-robin over the partitions, wait
        until every one is acknowledged (acks=all: in every in-sync replica), record.
        Returns the bytes acknowledged."""
        async with self._lock:
            self.busy = f"producing {mb:g} MB"
            count = max(1, int(mb * MB) // RECORD_BYTES)
            for i in range(count):
                partition = self._partitions[i % len(self._partitions)]
                self.producer.send(self.topic, self._value, partition=partition, now_ms=now_ms())
            self.producer.flush()
            await self._producing.run_until(lambda: self.producer.pending_count == 0, timeout_s)
            acked = sum(r.error == 0 for r in self.producer.take_results())
            self._acked_records += acked
            self.produced_bytes += acked * RECORD_BYTES
            self.busy = ""
            self.record(f"produced {mb:g} MB" if action is None else action)
            return acked * RECORD_BYTES

    async def consume_all(self, timeout_s: float = 30.0, action: str | None = None) -> int:
        """Fetch every acknowledged record not yet consumed; record. Returns the bytes."""
        async with self._lock:
            self.busy = "consuming"
            before = self.consumed_bytes

            def caught_up() -> bool:
                for record in self.consumer.poll():
                    self._consumed_records += 1
                    self.consumed_bytes += len(record.value or b"")
                return self._consumed_records >= self._acked_records

            await self._consuming.run_until(caught_up, timeout_s)
            self.busy = ""
            self.record("consumed all" if action is None else action)
            return self.consumed_bytes - before

    def set_zero_copy(self, on: bool) -> None:
        """Every broker serves record slices by sendfile (True) or reads them into
        Python and writes them (False); records the switch."""
        if on == self.zero_copy:
            return
        for node in self.cluster.brokers.values():
            if node.server is not None:
                node.server.zero_copy = on
        self.record("switched to sendfile" if on else "switched to read-then-send")

    @property
    def zero_copy(self) -> bool:
        return all(n.server.zero_copy for n in self.cluster.brokers.values() if n.server)

    # -- recording ----------------------------------------------------------------------
    def sample(self, action: str = "") -> ZeroCopySample:
        brokers = []
        for broker_id, node in sorted(self.cluster.brokers.items()):
            if node.server is None:
                continue
            stats = node.server.stats
            brokers.append(
                BrokerBytes(
                    broker_id,
                    stats.consumer_sendfile_bytes,
                    stats.follower_sendfile_bytes,
                    stats.copied_bytes,
                )
            )
        at_ms = int((time.monotonic() - self._started) * 1000)
        if self.timeline:  # strictly later than the last: every sample has its own moment
            at_ms = max(at_ms, self.timeline.latest.at_ms + 1)
        return ZeroCopySample(
            at_ms,
            tuple(brokers),
            self.produced_bytes,
            self.consumed_bytes,
            self.zero_copy,
            action,
        )

    def record(self, action: str = "") -> ZeroCopySample:
        sample = self.sample(action)
        self.timeline.append(sample)
        for listener in list(self._listeners):
            listener()
        return sample

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    # -- playing: a steady stream (what the shared controls' play and step do) -----------
    # The Pacer calls _stream every frame with the frame's length times the speed: one
    # megabyte per second of it, so the speed reads as MB/s.
    # play, pause, playing and speed (here MB/s) come from Paced, through self.pacer.
    def run_for(self, ms: int) -> None:
        """Stream for ``ms`` wall-clock ms (on the running loop; returns at once)."""
        self.pacer.play(for_ms=ms)

    def _stream(self, ms: int) -> None:
        if self._lock.locked():
            return  # the last frame's records are still on their way: skip this frame
        task = asyncio.get_running_loop().create_task(self._produce_and_consume(ms / 1000))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _produce_and_consume(self, mb: float) -> None:
        await self.produce(mb, action="")
        await self.consume_all(action="")


# -- drawing the counters ----------------------------------------------------------------
def counters_figure() -> go.Figure:
    """Two panels: per broker, the bytes it sent in the action that ended at the moment
    shown (stacked: to clients by sendfile, to followers by sendfile, copied through
    Python); and the cluster's running totals over the recorded run, the moment marked."""
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        subplot_titles=("sent by the last action, per broker", "all brokers, running total"),
    )
    names = {
        # The brokers count every client's fetches together, as Kafka counts consumer fetches:
        # the run's consumer's and the notebook's timed ones. Said so, the total drawn need not
        # match what the status says the consumer consumed.
        "consumer": "to clients (the consumer, timed fetches), by sendfile",
        "follower": "to followers, by sendfile",
        "copied": "copied into Python (read, then send)",
    }
    for what, name in names.items():
        figure.add_bar(
            name=name,
            x=[],
            y=[],
            marker_color=COLOURS[what],
            legendgroup=what,
            row=1,
            col=1,
        )
    for what, name in names.items():
        figure.add_scatter(
            name=name,
            x=[],
            y=[],
            mode="lines+markers",
            line={"color": COLOURS[what], "shape": "hv"},
            legendgroup=what,
            showlegend=False,
            row=1,
            col=2,
        )
    figure.update_layout(
        barmode="stack",
        height=420,
        margin={"t": 90, "b": 50, "l": 60, "r": 20},
        legend={"orientation": "h", "x": 0, "y": 1.2, "yanchor": "bottom"},
    )
    figure.update_yaxes(title_text="MB", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title_text="MB", rangemode="tozero", row=1, col=2)
    figure.update_xaxes(title_text="seconds since start", row=1, col=2)
    return figure


def draw_sample(
    figure: go.Figure, sample: ZeroCopySample, history: Iterable[ZeroCopySample]
) -> None:
    """Draw, for ``history`` (the samples up to ``sample``, in order): on the left what each
    broker sent between the sample before and ``sample``; on the right the totals."""
    past = list(history)
    before = {b.broker_id: b for b in past[-2].brokers} if len(past) > 1 else {}
    brokers = [f"broker {b.broker_id}" for b in sample.brokers]
    seconds = [s.at_ms / 1000 for s in past]

    def sent(b: BrokerBytes, what: str) -> int:
        earlier = before.get(b.broker_id)
        return _count(b, what) - (_count(earlier, what) if earlier is not None else 0)

    with figure.batch_update():
        for i, what in enumerate(("consumer", "follower", "copied")):
            figure.data[i].x = brokers
            figure.data[i].y = [sent(b, what) / MB for b in sample.brokers]
            figure.data[3 + i].x = seconds
            figure.data[3 + i].y = [s.total(what) / MB for s in past]
        figure.layout.shapes = (
            [
                {
                    "type": "line",
                    "xref": "x2",
                    "yref": "paper",
                    "x0": sample.at_ms / 1000,
                    "x1": sample.at_ms / 1000,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#888", "dash": "dot"},
                }
            ]
            if past
            else []
        )


def describe_sample(sample: ZeroCopySample) -> str:
    """The counters as text, one line per broker (what the figure's left panel draws)."""
    lines = [f"{'':9}{'to clients':>13}{'to followers':>14}{'copied':>8}   (MB)"]
    for b in sample.brokers:
        lines.append(
            f"broker {b.broker_id} {b.consumer_sendfile_bytes / MB:13.2f}"
            f"{b.follower_sendfile_bytes / MB:14.2f}{b.copied_bytes / MB:8.2f}"
        )
    return "\n".join(lines)


def _history(timeline: Timeline[ZeroCopySample], upto: ZeroCopySample) -> list[ZeroCopySample]:
    """The samples recorded up to ``upto``, in order."""
    return [timeline[i] for i in range(timeline.index_at(upto.at_ms) + 1)]


WHO = {"consumer": "to clients", "follower": "to followers", "copied": "copied"}


def describe_history(timeline: Timeline[ZeroCopySample]) -> str:
    """One line per recorded sample: the action, and which counters grew since the one
    before ("to clients", "to followers" by sendfile; "copied" through Python)."""
    lines = []
    previous: ZeroCopySample | None = None
    for sample in timeline:
        grew = [
            label
            for what, label in WHO.items()
            if previous is not None and sample.total(what) > previous.total(what)
        ]
        lines.append(f"{sample.action or '(playing)':42} {', '.join(grew) or '-'}")
        previous = sample
    return "\n".join(lines)


class ZeroCopyView(TimelineView[ZeroCopySample]):
    """The counters of a :class:`ZeroCopyRun`, live, with buttons that act on the cluster."""

    def __init__(self, run: ZeroCopyRun, *, produce_mb: float = 10.0) -> None:
        self.figure = FigureWidget(counters_figure())
        self.status = widgets.HTML()
        super().__init__(run, step_ms=2_000)
        self.zc_run = run
        self.controls.speed.description = "MB/s"
        self.buttons = {
            "produce": self.button(
                f"produce {produce_mb:g} MB", "upload", lambda: self._start(run.produce(produce_mb))
            ),
            "consume": self.button(
                "consume all", "download", lambda: self._start(run.consume_all())
            ),
            "copy": self.button("serve by read-then-send", "copy", self._toggle_zero_copy),
        }
        self._tasks: set[asyncio.Task[int]] = set()
        self.start(widgets.HBox(list(self.buttons.values())), self.status, self.figure)

    def draw(self, snapshot: ZeroCopySample) -> None:
        draw_sample(self.figure, snapshot, _history(self.zc_run.timeline, snapshot))
        way = "sendfile" if snapshot.zero_copy else "read-then-send"
        doing = f" — {self.zc_run.busy}…" if self.zc_run.busy else ""
        self.status.value = (
            f"<b>{snapshot.action or 'streaming'}</b>; brokers serve by {way}; "
            f"produced {snapshot.produced_bytes / MB:.1f} MB, "
            f"consumed {snapshot.consumed_bytes / MB:.1f} MB{doing}"
        )
        self.buttons["copy"].description = (
            "serve by read-then-send" if snapshot.zero_copy else "serve by sendfile"
        )
        if self.zc_run.closed:  # recorded moments can still be scrubbed; nothing can act
            self.status.value = (
                "<b>the cluster is stopped</b> (the notebook's last cell): select that cell "
                "and use <i>Run ▸ Run All Above Selected Cell</i> to start a new one. The "
                "slider still scrubs what was recorded."
            )
            acting = [*self.buttons.values(), self.controls.play_button]
            for button in [*acting, self.controls.step_button, self.controls.speed]:
                button.disabled = True

    def static_figure(self, max_frames: int = 40) -> go.Figure:
        """The recorded run as a plain figure with a frame per sample, which a notebook
        stores so that a reader sees it (and scrubs it) before running anything."""
        timeline = self.zc_run.timeline
        return scrubbable_figure(
            counters_figure(),
            lambda figure, sample: draw_sample(figure, sample, _history(timeline, sample)),
            list(timeline),
            label=lambda sample: sample.action or f"{sample.at_ms / 1000:.1f} s",
            max_frames=max_frames,
        )

    def _start(self, action: object) -> None:
        assert asyncio.iscoroutine(action)
        task: asyncio.Task[int] = asyncio.get_running_loop().create_task(action)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    def _toggle_zero_copy(self) -> None:
        self.zc_run.set_zero_copy(not self.zc_run.zero_copy)


# -- sendfile against read-then-send -----------------------------------------------------
@dataclass(frozen=True)
class FetchTiming:
    """A whole topic fetched ``rounds`` times: the bytes of one round, the wall seconds
    they all took, and the CPU seconds the brokers' thread spent serving them."""

    data: bytes
    rounds: int
    seconds: float
    broker_cpu_seconds: float

    @property
    def mb(self) -> float:
        return len(self.data) * self.rounds / MB

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.seconds

    @property
    def cpu_ms_per_mb(self) -> float:
        return 1000 * self.broker_cpu_seconds / self.mb


async def timed_fetch(
    leaders: dict[int, tuple[str, int]], topic: str, rounds: int = 1
) -> FetchTiming:
    """Fetch the whole topic ``rounds`` times from a thread, while the brokers serve on
    this loop's thread; time it, and measure that thread's CPU time alone (the client's
    own work is on the other thread), so the CPU figure is what the brokers spent."""
    brokers_cpu = time.pthread_getcpuclockid(threading.get_ident())
    started, cpu = time.perf_counter(), time.clock_gettime(brokers_cpu)

    def fetch_rounds() -> bytes:
        data = b""
        for _ in range(rounds):
            data = fetch_everything(leaders, topic)
        return data

    data = await asyncio.to_thread(fetch_rounds)
    return FetchTiming(
        data, rounds, time.perf_counter() - started, time.clock_gettime(brokers_cpu) - cpu
    )


def fetch_everything(
    leaders: dict[int, tuple[str, int]], topic: str, max_bytes: int = 16 * 1024 * 1024
) -> bytes:
    """Fetch every partition of ``topic`` from offset 0 to its high watermark, each from
    its leader's (host, port), over blocking sockets; the record bytes, in partition
    order. Blocking: run it in a thread (``asyncio.to_thread``) when the brokers run on
    this thread's loop."""
    parts = []
    for partition, address in sorted(leaders.items()):
        with socket.create_connection(address) as sock:
            parts.extend(_fetch_partition(sock, topic, partition, max_bytes))
    return b"".join(parts)


def _fetch_partition(
    sock: socket.socket, topic: str, partition: int, max_bytes: int
) -> list[bytes]:
    offset, correlation, chunks = 0, 0, []
    while True:
        correlation += 1
        request = FetchRequest(
            max_wait_ms=0,
            max_bytes=max_bytes,
            topics=[
                FetchTopic(
                    topic=topic,
                    partitions=[
                        FetchPartition(
                            partition=partition, fetch_offset=offset, partition_max_bytes=max_bytes
                        )
                    ],
                )
            ],
        )
        header = RequestHeader(request.API_KEY, FetchRequest.MAX_VERSION, correlation, "zero-copy")
        body = chunks_to_bytes(encode_request(header, request))
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _exactly(sock, 4))[0]
        _, response = decode_response(request.API_KEY, header.api_version, _exactly(sock, size))
        assert isinstance(response, FetchResponse)
        answer = response.responses[0].partitions[0]
        if answer.error_code != ErrorCode.NONE:
            raise RuntimeError(
                f"fetch from {topic}-{partition}: {ErrorCode(answer.error_code).name}"
            )
        records = bytes(answer.records or b"")  # type: ignore[arg-type]
        if records:
            chunks.append(records)
            offset = list(iter_batches(records))[-1].next_offset
        if not records or offset >= answer.high_watermark:
            return chunks


def _exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        received = sock.recv_into(view[got:])
        if received == 0:
            raise ConnectionError("the broker closed the connection")
        got += received
    return bytes(buf)


async def evict_page_cache(cluster: LocalCluster, topic: str) -> None:
    """Write every broker's segments of ``topic`` to disk and drop them from the page cache
    (``posix_fadvise(DONTNEED)``), so the next read must go to the disk.

    The writing (fsync) can take seconds on a busy disk, so it runs in a thread: the
    brokers on this loop keep heartbeating meanwhile, and the controller does not fence
    them as if they had died."""
    paths = [
        segment.log_path
        for node in cluster.brokers.values()
        if node.server is not None
        for tp, log in node.server.broker.logs
        if tp.topic == topic
        for segment in log.segments
    ]
    await asyncio.to_thread(_drop_from_page_cache, paths)


def _drop_from_page_cache(paths: list[Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # dirty pages cannot be dropped
            with contextlib.suppress(OSError):  # not every filesystem takes the hint
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def comparison_figure(timings: dict[str, FetchTiming], copied: dict[str, int]) -> go.Figure:
    """Sendfile against read-then-send, one measure per panel (each on its own axis):
    throughput, CPU time per MB, and record bytes copied into the broker process."""
    paths = list(timings)
    colours = ["#2ca02c", "#d62728", "#9467bd", "#8c564b"][: len(paths)]
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "throughput (MB/s, higher is better)",
            "brokers' CPU time (ms per MB, lower is better)",
            "copied into Python, one fetch (MB)",
        ),
        horizontal_spacing=0.09,
    )
    measures = [
        [t.mb_per_s for t in timings.values()],
        [t.cpu_ms_per_mb for t in timings.values()],
        [copied[p] / MB for p in paths],
    ]
    formats = ["%{y:.0f}", "%{y:.2f}", "%{y:.1f}"]
    for col, (values, fmt) in enumerate(zip(measures, formats, strict=True), start=1):
        figure.add_bar(
            x=paths,
            y=values,
            marker_color=colours,
            texttemplate=fmt,
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            row=1,
            col=col,
        )
        figure.update_yaxes(rangemode="tozero", row=1, col=col)
    figure.update_layout(
        title="One client fetching the whole topic from its leaders over loopback",
        height=360,
        margin={"t": 90, "b": 40, "l": 50, "r": 20},
    )
    return figure
