"""A live view of one partition replicated on a simulated 3-broker KRaft cluster.

:class:`ReplicationRecorder` builds the cluster (3 controllers, 3 brokers, one topic
with 3 replicas), runs its simulation one event at a time and keeps a
:class:`Sample` whenever something it shows changed: each replica's role, log end
offset (LEO), high watermark (HW) and leader epoch, and the leader and ISR the
controller has committed. It also sends produce requests without blocking and
keeps their answers, with the simulated time each took.

:class:`ReplicationView` draws the latest sample — LEO and HW bars per broker —
and the ISR membership of each broker over the recorded run, with controls that
act on the live cluster: produce with acks 0, 1 or all; slow down, isolate, kill
or restart a broker; heal the network; play or step the simulation.

``unclean.leader.election.enable`` is a topic config the controller reads when it
elects a leader. reflog has no AlterConfigs request, so it is fixed when the topic
is created: the view's "new cluster" button builds a fresh cluster (same seed)
with the chosen setting.

Run the cluster through the recorder (``run_for``, ``run_until``, ``produce``):
events run straight on the simulation are not recorded one by one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reflog.records.batch import NewRecord, build_batch
from reflog.replication.epoch_cache import EpochEntry
from reflog.replication.partition import Partition, Role
from reflog.sim import LinkConfig
from reflog.sim.kafka_nodes import SimRequest
from reflog.sim.kraft import KraftCluster, records_of
from reflog.topic_partition import TopicPartition
from reflog.viz.recorder import SimRecorder
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)

__all__ = [
    "ACKS",
    "ProduceResult",
    "ReplicaFrame",
    "ReplicationRecorder",
    "ReplicationView",
    "Sample",
]

DOWN = "down"
ACKS = {0: "0", 1: "1", -1: "all"}
BROKER_IDS = (1, 2, 3)
# KraftCluster.request numbers its requests from 1; the recorder's own start far above.
FIRST_CORRELATION = 1 << 24
STATUS_COLOURS = {
    "leader": "#2ca02c",
    "in ISR": "#1f77b4",
    "out of ISR": "#ff7f0e",
    DOWN: "#b0b0b0",
}


@dataclass(frozen=True)
class ReplicaFrame:
    """One broker's replica of the partition at one instant."""

    broker: int
    up: bool
    role: str  # "Leader", "Follower", "Offline", or "down"
    log_end_offset: int
    high_watermark: int
    leader_epoch: int
    epochs: tuple[EpochEntry, ...]


@dataclass(frozen=True)
class Sample:
    at_ms: int
    leader: int  # as the controller committed it; -1: no leader
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[ReplicaFrame, ...]
    links: tuple[tuple[str, str], ...]  # cut links (src, dst)

    def replica(self, broker: int) -> ReplicaFrame:
        return next(r for r in self.replicas if r.broker == broker)

    def same_state(self, other: Sample) -> bool:
        return dataclasses.replace(other, at_ms=self.at_ms) == self


@dataclass
class ProduceResult:
    """One produce request and, once it came, its answer."""

    correlation: int
    broker: int
    acks: int
    count: int
    sent_ms: int
    answered_ms: int | None = None
    error: str = ""  # an ErrorCode name; "" while unanswered (always, for acks=0)
    base_offset: int = -1

    @property
    def latency_ms(self) -> int | None:
        return None if self.answered_ms is None else self.answered_ms - self.sent_ms

    def describe(self) -> str:
        what = f"{self.count} record(s) to broker-{self.broker}, acks={ACKS[self.acks]}"
        if self.acks == 0:
            return f"t = {self.sent_ms} ms: {what}: sent, no answer asked for"
        if self.answered_ms is None:
            return f"t = {self.sent_ms} ms: {what}: waiting"
        result = f"offset {self.base_offset}" if self.error == "NONE" else self.error
        return f"t = {self.sent_ms} ms: {what}: {result} after {self.latency_ms} ms"


class ReplicationRecorder(SimRecorder):
    """A 3-broker cluster with topic ``topic`` (1 partition, 3 replicas), recorded as it runs.

    ``broker_settings`` are BrokerConfig fields (``truncation_policy=...``); the topic gets
    ``min.insync.replicas`` and ``unclean.leader.election.enable``, and with
    ``flush_each_record`` ``flush.messages=1``: every append is fsynced, so a power cut
    tests the replication rules, not fsync timing.
    """

    def __init__(
        self,
        seed: int,
        data_dir: Path,
        *,
        unclean: bool = False,
        min_insync_replicas: int = 2,
        replica_lag_time_max_ms: int = 1_000,
        topic: str = "r",
        flush_each_record: bool = True,
        **broker_settings: Any,
    ) -> None:
        self.seed = seed
        self.data_dir = data_dir
        self.unclean = unclean
        self.min_insync_replicas = min_insync_replicas
        self.replica_lag_time_max_ms = replica_lag_time_max_ms
        self.flush_each_record = flush_each_record
        self.broker_settings = dict(broker_settings)
        self.cluster = KraftCluster(
            seed, data_dir, replica_lag_time_max_ms=replica_lag_time_max_ms, **broker_settings
        )
        self.sim = self.cluster.sim
        self.tp = TopicPartition(topic, 0)
        self.samples: list[Sample] = []
        self.actions: list[tuple[int, str]] = []  # (when, what): what was done to the cluster
        self.results: list[ProduceResult] = []
        self.killed: list[int] = []  # brokers crashed, in order
        self._waiting: dict[int, ProduceResult] = {}
        self._correlation = FIRST_CORRELATION
        super().__init__()
        self._last = self._empty_sample()

        self.cluster.wait_for_active_controller()
        self.cluster.wait_unfenced(*BROKER_IDS)
        configs = {
            "min.insync.replicas": str(min_insync_replicas),
            "unclean.leader.election.enable": "true" if unclean else "false",
        }
        if flush_each_record:
            configs["flush.messages"] = "1"
        error = self.cluster.create_topic(topic, 1, len(BROKER_IDS), configs=configs)
        if error != ErrorCode.NONE:
            raise RuntimeError(f"creating {topic}: {ErrorCode(error).name}")
        self.cluster.wait_caught_up()
        self.run_until(lambda: self.leader() > 0 and self._leader_ready(), timeout_ms=5_000)
        self._act(f"created {topic} (3 replicas, min.insync.replicas={min_insync_replicas})")

    def rebuilt(self, *, unclean: bool) -> ReplicationRecorder:
        """A fresh cluster with the same seed and settings (in a new directory)."""
        n = sum(1 for _ in self.data_dir.glob("rebuild-*"))
        return ReplicationRecorder(
            self.seed,
            self.data_dir / f"rebuild-{n}",
            unclean=unclean,
            min_insync_replicas=self.min_insync_replicas,
            replica_lag_time_max_ms=self.replica_lag_time_max_ms,
            topic=self.tp.topic,
            flush_each_record=self.flush_each_record,
            **self.broker_settings,
        )

    # -- watching ---------------------------------------------------------------------
    def _empty_sample(self) -> Sample:
        replicas = tuple(ReplicaFrame(b, False, DOWN, 0, 0, -1, ()) for b in BROKER_IDS)
        return Sample(0, -1, -1, (), replicas, ())

    def capture(self) -> Sample:
        """The cluster as it is now (not recorded). A down broker shows what it had last."""
        leader, epoch, isr = self._last.leader, self._last.leader_epoch, self._last.isr
        active = self.cluster.active_controller()
        if active is not None:
            controller = self.cluster.controllers[active].controller
            state = None if controller is None else controller.image.partition(self.tp)
            if state is not None:
                leader, epoch, isr = state.leader, state.leader_epoch, tuple(state.isr)
        replicas = []
        for b in BROKER_IDS:
            p = self.partition(b)
            if p is None:
                seen = self._last.replica(b)
                up = self.cluster.brokers[b].broker is not None
                replicas.append(dataclasses.replace(seen, up=up, role="Offline" if up else DOWN))
                continue
            replicas.append(
                ReplicaFrame(
                    b,
                    True,
                    p.role.value,
                    p.log.log_end_offset,
                    p.high_watermark,
                    p.leader_epoch,
                    tuple(p.epoch_cache.entries),
                )
            )
        links = tuple(self.sim.network.cut_links())
        return Sample(self.sim.now_ms, leader, epoch, isr, tuple(replicas), links)

    def _record(self) -> None:
        sample = self.capture()
        self._last = sample
        if not self.samples or not sample.same_state(self.samples[-1]):
            self.samples.append(sample)
        if self._waiting:
            answers = self.cluster.probe.answers
            for correlation in [c for c in self._waiting if c in answers]:
                result = self._waiting.pop(correlation)
                answer = answers.pop(correlation)
                assert isinstance(answer, ProduceResponse)
                partition = answer.responses[0].partition_responses[0]
                result.answered_ms = self.sim.now_ms
                result.error = ErrorCode(partition.error_code).name
                result.base_offset = partition.base_offset

    def _act(self, description: str) -> None:
        self.actions.append((self.sim.now_ms, description))
        self._record()
        self._changed()

    # -- running ----------------------------------------------------------------------
    # -- acting -----------------------------------------------------------------------
    def send(self, values: list[bytes], acks: int = -1, broker: int | None = None) -> ProduceResult:
        """Send one produce request (to the leader unless ``broker``) and return at once."""
        target = self.leader() if broker is None else broker
        if target <= 0:
            target = BROKER_IDS[0]  # no leader: any broker answers with the error
        ctx = self.cluster.probe.ctx
        assert ctx is not None
        self._correlation += 1
        request = ProduceRequest(
            acks=acks,
            timeout_ms=5_000,
            topic_data=[
                TopicProduceData(
                    name=self.tp.topic,
                    partition_data=[
                        PartitionProduceData(
                            index=self.tp.partition,
                            records=build_batch(
                                [NewRecord(key=None, value=v, timestamp=0) for v in values]
                            ),
                        )
                    ],
                )
            ],
        )
        header = RequestHeader(ProduceRequest.API_KEY, 7, self._correlation, "probe")
        ctx.send(f"broker-{target}", SimRequest(header, request))
        result = ProduceResult(self._correlation, target, acks, len(values), self.sim.now_ms)
        self.results.append(result)
        if acks != 0:
            self._waiting[self._correlation] = result
        self._act(f"sent {len(values)} record(s) to broker-{target}, acks={ACKS[acks]}")
        return result

    def produce(
        self,
        values: list[bytes],
        acks: int = -1,
        broker: int | None = None,
        timeout_ms: int = 10_000,
    ) -> ProduceResult:
        """Send, then run until the answer comes (acks=0: until the request is delivered)."""
        result = self.send(values, acks, broker)
        if acks == 0:
            self.run_for(10)
        else:
            self.run_until(lambda: result.answered_ms is not None, timeout_ms)
        return result

    def crash(self, broker: int) -> None:
        self.sim.crash(f"broker-{broker}")
        self.killed.append(broker)
        self._act(f"killed broker-{broker}")

    def restart(self, broker: int) -> None:
        self.sim.restart(f"broker-{broker}")
        self._act(f"restarted broker-{broker}")

    def isolate(self, broker: int) -> None:
        """Cut ``broker`` off from every other node (controllers, brokers, the client)."""
        self.sim.isolate(f"broker-{broker}")
        self._act(f"isolated broker-{broker}")

    def cut_off(self, broker: int) -> None:
        """Cut ``broker`` off from the other brokers and the controllers; the client still
        reaches it."""
        name = f"broker-{broker}"
        self.sim.partition({name}, {n for n in self.sim.nodes if n not in (name, "probe")})
        self._act(f"cut broker-{broker} off from the cluster (not from the client)")

    def cut_link(self, a: int, b: int) -> None:
        """Cut the link between brokers ``a`` and ``b`` (both ways)."""
        self.sim.partition({f"broker-{a}"}, {f"broker-{b}"})
        self._act(f"cut the link between broker-{a} and broker-{b}")

    def heal(self) -> None:
        self.sim.heal()
        self._act("healed the network")

    def slow(self, broker: int, latency_ms: int) -> None:
        """Every message to and from ``broker`` takes ``latency_ms`` (to +10%)."""
        name = f"broker-{broker}"
        link = LinkConfig(latency_ms_min=latency_ms, latency_ms_max=latency_ms * 11 // 10)
        for other in self.sim.nodes:
            if other != name:
                self.sim.network.configure(name, other, link)
                self.sim.network.configure(other, name, link)
        self._act(f"slowed broker-{broker}'s links to {latency_ms} ms")

    def unslow(self, broker: int) -> None:
        name = f"broker-{broker}"
        for other in self.sim.nodes:
            if other != name:
                self.sim.network.configure(name, other, self.sim.network.default)
                self.sim.network.configure(other, name, self.sim.network.default)
        self._act(f"broker-{broker}'s links back to normal")

    # -- reading ----------------------------------------------------------------------
    def leader(self) -> int:
        """The leader the controller committed (-1: none)."""
        return self.capture().leader

    def followers(self) -> list[int]:
        leader = self.leader()
        return [b for b in BROKER_IDS if b != leader]

    def down(self) -> list[int]:
        return [b for b in BROKER_IDS if not self.sim.is_up(f"broker-{b}")]

    def partition(self, broker: int) -> Partition | None:
        core = self.cluster.brokers[broker].broker
        if core is None or core.replicas is None:
            return None
        return core.replicas.partitions.get(self.tp)

    def _leader_ready(self) -> bool:
        p = self.partition(self.leader())
        return p is not None and p.role == Role.LEADER

    def records(self, broker: int) -> list[tuple[int, bytes | None]]:
        """Every (offset, value) in ``broker``'s log (empty while it is down)."""
        p = self.partition(broker)
        return [] if p is None else records_of(p.log)

    def describe(self) -> str:
        """A table: one line per replica."""
        sample = self.capture()
        lines = ["broker    role      LEO  HW  epoch  in ISR  epoch cache (epoch, start offset)"]
        for r in sample.replicas:
            cache = " ".join(f"({e.epoch}, {e.start_offset})" for e in r.epochs) or "-"
            in_isr = "yes" if r.broker in sample.isr else "no"
            lines.append(
                f"broker-{r.broker}  {r.role:8} {r.log_end_offset:>4} {r.high_watermark:>3} "
                f"{r.leader_epoch:>6}  {in_isr:6}  {cache}"
            )
        return "\n".join(lines)

    def isr_history(self) -> list[tuple[int, int, tuple[int, ...]]]:
        """(when, leader, ISR) at every change of either, as the controller committed them."""
        out: list[tuple[int, int, tuple[int, ...]]] = []
        for s in self.samples:
            if not out or (out[-1][1], out[-1][2]) != (s.leader, s.isr):
                out.append((s.at_ms, s.leader, s.isr))
        return out

    def format_isr_history(self, since_ms: int = 0) -> str:
        """The leader and ISR at ``since_ms``, then a line per change."""
        history = self.isr_history()
        start = max((i for i, (at, _, _) in enumerate(history) if at <= since_ms), default=0)
        lines = []
        for at, leader, isr in history[start:]:
            who = f"broker-{leader}" if leader > 0 else "none"
            lines.append(f"t = {max(at, since_ms):>5} ms  leader {who:9} ISR {list(isr)}")
        return "\n".join(lines)

    def status(self, sample: Sample, broker: int) -> str:
        """A broker's place in ``sample``: leader, in ISR, out of ISR or down."""
        if not sample.replica(broker).up:
            return DOWN
        if broker == sample.leader and sample.replica(broker).role == "Leader":
            return "leader"
        return "in ISR" if broker in sample.isr else "out of ISR"


class ReplicationView:
    """LEO and HW bars per broker, the ISR over time, and controls on the live cluster."""

    FRAME_MS = 50  # wall-clock ms per frame while playing

    def __init__(self, recorder: ReplicationRecorder) -> None:
        self.recorder = recorder
        self._task: asyncio.Task[None] | None = None
        self.figure = self._make_figure()

        self.acks = widgets.ToggleButtons(
            options=[("acks=0", 0), ("acks=1", 1), ("acks=all", -1)], value=-1, description=""
        )
        self.count = widgets.BoundedIntText(
            value=5, min=1, max=1_000, description="records", layout=widgets.Layout(width="160px")
        )
        self.broker = widgets.Dropdown(
            options=[("the leader", 0), ("a follower", -1)]
            + [(f"broker-{b}", b) for b in BROKER_IDS],
            value=0,
            description="broker",
            layout=widgets.Layout(width="200px"),
        )
        self.latency = widgets.IntSlider(
            value=400, min=50, max=2_000, step=50, description="latency ms"
        )
        self.unclean = widgets.Checkbox(
            value=recorder.unclean, description="unclean.leader.election.enable", indent=False
        )
        self.play_button = widgets.ToggleButton(value=False, description="Play", icon="play")
        self.speed = widgets.FloatLogSlider(
            value=1.0, base=10, min=-1, max=1, description="speed ×"
        )
        self.buttons: dict[str, widgets.Button] = {}
        rows: list[list[tuple[str, str, Callable[[object], None]]]] = [
            [("produce", "paper-plane", self._on_produce)],
            [
                ("kill", "times", self._on_kill),
                ("restart", "redo", self._on_restart),
                ("isolate", "unlink", self._on_isolate),
                ("heal", "link", self._on_heal),
            ],
            [
                ("slow down", "hourglass", self._on_slow),
                ("normal speed", "forward", self._on_unslow),
            ],
            [("run 500 ms", "step-forward", self._on_run)],
            [("new cluster", "refresh", self._on_rebuild)],
        ]
        for row in rows:
            for label, icon, handler in row:
                button = widgets.Button(
                    description=label, icon=icon, layout=widgets.Layout(width="auto")
                )
                button.on_click(handler)
                self.buttons[label] = button
        self.play_button.observe(self._on_play, names="value")
        self.status = widgets.HTML()
        self.log = widgets.HTML()
        b = self.buttons
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.acks, self.count, b["produce"]]),
                widgets.HBox([self.broker, b["kill"], b["restart"], b["isolate"], b["heal"]]),
                widgets.HBox([self.latency, b["slow down"], b["normal speed"]]),
                widgets.HBox([self.play_button, b["run 500 ms"], self.speed]),
                widgets.HBox(
                    [
                        self.unclean,
                        b["new cluster"],
                        widgets.HTML(
                            "<i>fixed when the topic is created (reflog has no "
                            "AlterConfigs): a new cluster, same seed</i>"
                        ),
                    ]
                ),
                self.status,
                self.figure,
                self.log,
            ]
        )
        recorder.on_change(self.refresh)
        self.refresh()

    # -- the figure -------------------------------------------------------------------
    def _make_figure(self) -> go.FigureWidget:
        base = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.35, 0.65],
            horizontal_spacing=0.1,
            subplot_titles=("log end offset and high watermark", "ISR membership over time"),
        )
        figure = go.FigureWidget(base)
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
        labels = [f"broker-{b}" for b in BROKER_IDS]
        figure.update_xaxes(type="category", row=1, col=1)
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

    def refresh(self) -> None:
        recorder = self.recorder
        now = recorder.capture()
        samples = [*recorder.samples, now]
        with self.figure.batch_update():
            data = self.figure.data
            xs = [self._label(now, b) for b in BROKER_IDS]
            for trace, value in ((data[0], "log_end_offset"), (data[1], "high_watermark")):
                trace.x = xs
                trace.y = [getattr(now.replica(b), value) for b in BROKER_IDS]
            segments: dict[str, tuple[list[int | None], list[str | None]]] = {
                s: ([], []) for s in STATUS_COLOURS
            }
            for b in BROKER_IDS:
                row = f"broker-{b}"
                runs: list[tuple[str, int]] = []  # (status, since when)
                for s in samples:
                    status = recorder.status(s, b)
                    if not runs or runs[-1][0] != status:
                        runs.append((status, s.at_ms))
                ends = [at for _, at in runs[1:]] + [now.at_ms]
                for (status, start), end in zip(runs, ends, strict=True):
                    x_, y_ = segments[status]
                    x_ += [start, end, None]
                    y_ += [row, row, None]
            for trace, status in zip(data[2:6], STATUS_COLOURS, strict=True):
                x_, y_ = segments[status]
                trace.x, trace.y = [None, *x_], [None, *y_]
            data[6].x = [at for at, _ in recorder.actions]
            data[6].y = ["actions"] * len(recorder.actions)
            data[6].hovertext = [f"{at} ms: {what}" for at, what in recorder.actions]
        leader = f"broker-{now.leader}" if now.leader > 0 else "none"
        cut = ", ".join(f"{a}→{b}" for a, b in now.links if not a.startswith("probe"))
        last = recorder.actions[-1][1] if recorder.actions else ""
        self.status.value = (
            f"<b>t = {now.at_ms} ms</b> · leader {leader} (epoch {now.leader_epoch}) · "
            f"ISR {list(now.isr)} · cut links: {cut or 'none'} · "
            f"unclean.leader.election.enable={str(recorder.unclean).lower()} · "
            f"last action: {last}"
        )
        self.log.value = "<br>".join(r.describe() for r in recorder.results[-6:])

    @staticmethod
    def _label(sample: Sample, broker: int) -> str:
        r = sample.replica(broker)
        return f"broker-{broker} ({r.role.lower() if r.up else 'down: last seen'})"

    # -- controls ---------------------------------------------------------------------
    def _target(self) -> int:
        choice = self.broker.value
        assert isinstance(choice, int)
        if choice == 0:
            leader = self.recorder.leader()
            return leader if leader > 0 else BROKER_IDS[0]
        if choice == -1:
            return self.recorder.followers()[0]
        return choice

    def _on_produce(self, _: object) -> None:
        acks = self.acks.value
        count = self.count.value
        assert isinstance(acks, int) and isinstance(count, int)
        first = sum(r.count for r in self.recorder.results)
        values = [f"v{first + i}".encode() for i in range(count)]
        self.recorder.send(values, acks)
        self.recorder.run_for(50)

    def _on_kill(self, _: object) -> None:
        self.recorder.crash(self._target())

    def _on_restart(self, _: object) -> None:
        choice = self.broker.value
        assert isinstance(choice, int)
        if choice > 0:
            self.recorder.restart(choice)
            return
        # "the leader" or "a follower": whoever was killed last (the leader has changed since).
        down = self.recorder.down()
        killed = [b for b in reversed(self.recorder.killed) if b in down]
        if killed:
            self.recorder.restart(killed[0])

    def _on_isolate(self, _: object) -> None:
        self.recorder.isolate(self._target())

    def _on_heal(self, _: object) -> None:
        self.recorder.heal()

    def _on_slow(self, _: object) -> None:
        latency = self.latency.value
        assert isinstance(latency, int)
        self.recorder.slow(self._target(), latency)

    def _on_unslow(self, _: object) -> None:
        self.recorder.unslow(self._target())

    def _on_run(self, _: object) -> None:
        self.recorder.run_for(500)

    def _on_rebuild(self, _: object) -> None:
        self.play_button.value = False
        unclean = self.unclean.value
        assert isinstance(unclean, bool)
        self.recorder = self.recorder.rebuilt(unclean=unclean)
        self.recorder.on_change(self.refresh)
        self.refresh()

    def _on_play(self, change: dict[str, object]) -> None:
        if change["new"]:
            self.play_button.description, self.play_button.icon = "Pause", "pause"
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._play())
        else:
            self.play_button.description, self.play_button.icon = "Play", "play"

    async def _play(self) -> None:
        """Advance simulated time with the wall clock (sim ms = wall ms × speed)."""
        loop = asyncio.get_running_loop()
        while self.play_button.value:
            started = loop.time()
            speed = self.speed.value
            assert isinstance(speed, float)
            self.recorder.run_for(max(1, round(self.FRAME_MS * speed)))
            await asyncio.sleep(max(0.0, self.FRAME_MS / 1000 - (loop.time() - started)))
