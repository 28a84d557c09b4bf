"""The in-kernel cluster that notebooks and scenario tests build, run, watch and break.

``Cluster(seed=1, brokers=3, controllers=1)`` puts a KRaft cluster on one seeded
:class:`~reflog.sim.world.Simulation`: a Raft quorum of controllers that keeps the
metadata log, brokers that register with it, heartbeat and follow that log (a
broker always does: there is no standalone broker), reflog's own producers and
consumers as workloads, and an ``admin`` client node through which the cluster
sends real requests (CreateTopics, Metadata, Produce). Logs and Raft state are
real files under ``data_dir``. The same seed gives the same run, event for event.

Node names (they appear in traces, timelines and printed summaries):

* controllers are named by their node id: ``"3000"``, ``"3001"``, ``"3002"``
  (Kafka's examples number controllers from 3000);
* brokers are ``"broker-1"`` … ``"broker-N"``, with node ids 1 … N;
* producers and consumers have the names they are added with;
* ``"admin"`` is the cluster's own client.

Every step of a run is recorded in :attr:`Cluster.timeline` (a
:class:`~reflog.sim.timeline.Timeline` of frozen
:class:`~reflog.sim.timeline.Snapshot`\\ s), together with the actions taken
(:meth:`crash`, :meth:`isolate`, :meth:`produce`, ...). Views read only the
timeline; ``Cluster(record=False)`` skips recording for benchmarks and long tests
(``keep_trace=False`` also skips keeping the simulation's trace).
Run the cluster through its own methods (``run_for``, ``run_until``, ``step``,
``play``): events run straight on ``cluster.sim`` are not recorded one by one.

Timings are shortened so that failures play out in simulated seconds: a broker's
session times out after 1 s (``broker.session.timeout.ms``), brokers heartbeat
every 200 ms, and a controller calls an election after 150-300 ms of silence.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.consumer import ConsumerConfig
from reflog.controller.config import ControllerConfig
from reflog.controller.image import MetadataImage
from reflog.controller.quorum_controller import QuorumController
from reflog.producer import ProducerConfig
from reflog.raft.core import RaftConfig
from reflog.records.batch import NewRecord, build_batch, iter_batches
from reflog.replication.partition import Partition
from reflog.sim import cluster_admin
from reflog.sim.admin import ACKS, AdminNode, ProduceResult
from reflog.sim.controller_nodes import ControllerSimNode
from reflog.sim.group_consumers import group_member
from reflog.sim.kafka_nodes import BrokerNode, wire_roundtrip
from reflog.sim.network import LinkConfig
from reflog.sim.pacing import Paced, Pacer
from reflog.sim.processor import TransactionalProcessor, committed_offset
from reflog.sim.recording import ClusterRecorder, run_recorded, run_recorded_until
from reflog.sim.timeline import Snapshot, Timeline, UserAction
from reflog.sim.workloads import ConsumerWorkload, ProducerWorkload
from reflog.sim.world import Simulation
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from reflog.wire.schema import Request, Response

__all__ = [
    "BROKER_PORT",
    "FIRST_CONTROLLER_ID",
    "HEARTBEAT_INTERVAL_MS",
    "SESSION_TIMEOUT_MS",
    "Cluster",
    "ClusterError",
    "records_of",
]

BROKER_PORT = 9092
FIRST_CONTROLLER_ID = 3000
SESSION_TIMEOUT_MS = 1_000
HEARTBEAT_INTERVAL_MS = 200
DEFAULT_LINK = LinkConfig(latency_ms_min=1, latency_ms_max=5)


class ClusterError(Exception):
    """A request the cluster refused; ``error_code`` is Kafka's error, named in the message."""

    def __init__(self, what: str, error_code: int) -> None:
        self.error_code = ErrorCode(error_code)
        super().__init__(f"{what}: {self.error_code.name}")


class Cluster(Paced):
    def __init__(
        self,
        *,
        seed: int = 0,
        brokers: int = 3,
        controllers: int = 1,
        data_dir: Path | None = None,
        network: LinkConfig | None = None,
        wire_roundtrip_requests: bool = False,
        record: bool = True,
        keep_trace: bool = True,
        max_snapshots: int = 50_000,
        unclean_leader_election_enable: bool = False,
        metadata_snapshot_batches: int = 1_000,
        **broker_settings: Any,
    ) -> None:
        """``broker_settings`` are :class:`~reflog.config.BrokerConfig` fields given to every
        broker (``replica_lag_time_max_ms=1_000``, ``truncation_policy=...``).
        ``unclean_leader_election_enable`` is the controllers' cluster-wide default (a
        topic's ``unclean.leader.election.enable`` config overrides it).
        ``keep_trace=False`` does not keep the simulation's trace of every event (see
        :class:`~reflog.sim.trace.Trace`): with ``record=False``, for a run nobody scrubs or
        compares (a benchmark, a long soak), it saves a fifth or so of the run's time."""
        if brokers < 1 or controllers < 1:
            raise ValueError("a cluster has at least one broker and one controller")
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="reflog-cluster-"))
            # A cluster that made its own directory removes it when it is garbage-collected.
            weakref.finalize(self, shutil.rmtree, data_dir, True)
        self.data_dir = data_dir
        self.sim = Simulation(
            seed,
            network or DEFAULT_LINK,
            payload_filter=wire_roundtrip if wire_roundtrip_requests else None,
            keep_trace=keep_trace,
        )
        controller_ids = [FIRST_CONTROLLER_ID + i for i in range(controllers)]
        self.controllers: dict[str, ControllerSimNode] = {}
        for cid in controller_ids:
            config = ControllerConfig(
                cid,
                tuple(controller_ids),
                broker_session_timeout_ms=SESSION_TIMEOUT_MS,
                unclean_leader_election_enable=unclean_leader_election_enable,
                metadata_snapshot_batches=metadata_snapshot_batches,
                raft=RaftConfig(election_timeout_ms=150, heartbeat_interval_ms=40),
            )
            node = ControllerSimNode(config, data_dir)
            self.controllers[node.name] = node
            self.sim.add_node(node)
        self.brokers: dict[int, BrokerNode] = {}  # node id -> broker node
        self.broker_nodes: dict[str, BrokerNode] = {}  # node name -> broker node
        for broker_id in range(1, brokers + 1):
            name = f"broker-{broker_id}"
            broker_config = dataclasses.replace(
                BrokerConfig(node_id=broker_id, log_dir=data_dir / name, host=name),
                **broker_settings,
            )
            broker = BrokerNode(name, broker_config, controller_ids, HEARTBEAT_INTERVAL_MS)
            self.brokers[broker_id] = broker
            self.broker_nodes[name] = broker
            self.sim.add_node(broker)
        self.admin = AdminNode()
        self.sim.add_node(self.admin)
        self.producers: dict[str, ProducerWorkload] = {}
        self.consumers: dict[str, ConsumerWorkload] = {}
        self.actions: list[UserAction] = []  # everything done to the cluster, in order
        self.produce_results: list[ProduceResult] = []  # every send()/produce(), in order
        self._listeners: list[Callable[[], None]] = []
        self._all_brokers_registered = False
        self.recording = record
        self._recorder = ClusterRecorder(self, max_snapshots, track_wire=record)
        self.pacer = Pacer(self.run_for)
        self.sim.start()
        if record:
            self._recorder.record()

    # -- what it is -------------------------------------------------------------------
    @property
    def now_ms(self) -> int:
        return self.sim.now_ms

    @property
    def bootstrap(self) -> tuple[tuple[str, int], ...]:
        """``bootstrap.servers`` for a client: every broker's (host, port)."""
        return tuple((b.name, b.config.port) for b in self.brokers.values())

    @property
    def timeline(self) -> Timeline[Snapshot]:
        """Every recorded step of the run (empty with ``record=False``)."""
        return self._recorder.timeline

    def snapshot(self) -> Snapshot:
        """The cluster as it is now (not recorded; without messages in flight when
        ``record=False``)."""
        return self._recorder.capture()

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every run, step, play frame or action (views redraw)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def _act(self, kind: str, target: str, description: str) -> None:
        action = UserAction(self.sim.now_ms, kind, target, description)
        self.actions.append(action)
        if self.recording:
            self._recorder.action(action)
        self._changed()

    # -- running ----------------------------------------------------------------------
    def run_for(self, ms: int) -> None:
        """Run ``ms`` of simulated time; the clock then reads exactly ``now + ms``."""
        self._run_to(self.sim.now_ms + ms)
        self._changed()

    def _run_to(self, end_ms: int) -> None:
        if self.recording:
            run_recorded(self.sim, end_ms, self._recorder.record)
        else:
            self.sim.run_until_time(end_ms)

    def run_until(self, condition: Callable[[], bool], timeout_ms: int = 10_000) -> bool:
        """Run until ``condition()`` holds (checked after every event) or ``timeout_ms``
        has passed; whether it holds."""
        if self.recording:
            held = run_recorded_until(self.sim, condition, timeout_ms, self._recorder.record)
        else:
            held = self.sim.run_until(condition, timeout_ms)
        self._changed()
        return held

    def wait_until(
        self, condition: Callable[[], bool], timeout_ms: int = 10_000, what: str = "condition"
    ) -> None:
        """:meth:`run_until`, raising ``TimeoutError`` if ``condition`` never holds."""
        if not self.run_until(condition, timeout_ms):
            raise TimeoutError(f"{what} not met within {timeout_ms} simulated ms")

    def step(self) -> bool:
        """Run exactly one event; False if there is none."""
        stepped = self.sim.step()
        if self.recording:
            self._recorder.record()
        self._changed()
        return stepped

    # Live play (play, pause, playing, speed) comes from Paced, through self.pacer.

    # -- faults -----------------------------------------------------------------------
    def _node(self, name: str) -> str:
        if name not in self.sim.nodes:
            raise KeyError(f"no node named {name!r} (nodes: {', '.join(self.sim.nodes)})")
        return name

    def crash(self, name: str) -> None:
        """A power cut: the node stops at once, and whatever its logs had not fsynced is
        lost (``flush.messages`` decides what was). Its files stay for :meth:`restart`.
        Crashing a node that is down does nothing."""
        if not self.sim.is_up(self._node(name)):
            return
        self.sim.crash(name)
        self._act("crash", name, f"crashed {name}")

    def restart(self, name: str) -> None:
        """Start a crashed node again: it recovers its logs (or Raft state) from disk.
        Restarting a node that is up does nothing."""
        if self.sim.is_up(self._node(name)):
            return
        self.sim.restart(name)
        self._act("restart", name, f"restarted {name}")

    def last_crashed_down(self) -> str | None:
        """The node crashed most recently that is still down (None: every crashed node is
        back): what a "restart" button means once the leader it killed has changed."""
        for action in reversed(self.actions):
            if action.kind == "crash" and not self.sim.is_up(action.target):
                return action.target
        return None

    def isolate(self, name: str) -> None:
        """Cut every link to and from ``name`` (it keeps running, alone)."""
        self.sim.isolate(self._node(name))
        self._act("isolate", name, f"isolated {name}")

    def cut(self, a: str, b: str, *, one_way: bool = False) -> None:
        """Cut the link between ``a`` and ``b`` (both directions unless ``one_way``:
        then only messages from ``a`` to ``b`` are lost)."""
        self._node(a), self._node(b)
        if one_way:
            self.sim.cut(a, b)
        else:
            self.sim.partition({a}, {b})
        arrow = "->" if one_way else "<->"
        self._act("cut", f"{a}{arrow}{b}", f"cut {a} {arrow} {b}")

    def partition(self, side_a: Sequence[str], side_b: Sequence[str]) -> None:
        """Cut every link between the two sides (a network partition)."""
        for name in (*side_a, *side_b):
            self._node(name)
        self.sim.partition(set(side_a), set(side_b))
        what = f"{' '.join(side_a)} | {' '.join(side_b)}"
        self._act("partition", what, f"partitioned {what}")

    def slow(self, a: str, b: str | None, latency_ms: int) -> None:
        """Messages between ``a`` and ``b`` (every other node if None) take ``latency_ms``
        (up to 10% more), both ways."""
        self._node(a)
        others = [self._node(b)] if b is not None else [n for n in self.sim.nodes if n != a]
        link = LinkConfig(latency_ms_min=latency_ms, latency_ms_max=latency_ms * 11 // 10)
        for other in others:
            self.sim.network.configure(a, other, link)
            self.sim.network.configure(other, a, link)
        target = f"{a}<->{b or '*'}"
        self._act("slow", target, f"slowed {a} <-> {b or 'everyone'} to {latency_ms} ms")

    def heal(self) -> None:
        """Every cut link is whole again and every slowed link back to normal latency."""
        network = self.sim.network
        for a in self.sim.nodes:
            for b in self.sim.nodes:
                if a != b and network.link(a, b) != network.default:
                    network.configure(a, b, network.default)
        self.sim.heal()
        self._act("heal", "network", "healed the network")

    # -- topics -----------------------------------------------------------------------
    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int | None = None,
        configs: dict[str, str] | None = None,
        timeout_ms: int = 10_000,
    ) -> None:
        """Create a topic with a real CreateTopics request and return once its leaders are
        elected and every live broker knows them; raises :class:`ClusterError` with Kafka's
        error (``TOPIC_ALREADY_EXISTS``, ``INVALID_REPLICATION_FACTOR``, ...).

        The request goes to a broker, which forwards it to the active controller (KIP-590),
        as a Kafka admin client's does. ``replication_factor`` defaults to min(3, brokers).
        """
        if replication_factor is None:
            replication_factor = min(3, len(self.brokers))
        self.wait_for_active_controller(timeout_ms)
        self._wait_for_brokers(replication_factor, timeout_ms)
        topic = CreatableTopic(
            name=name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            configs=[CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
        )
        via = next((b for b in self.brokers if self.sim.is_up(f"broker-{b}")), 1)
        response = self.request(via, CreateTopicsRequest(topics=[topic]), 4, timeout_ms)
        assert isinstance(response, CreateTopicsResponse)
        error = response.topics[0].error_code
        description = f"created {name} ({partitions} partition(s), RF {replication_factor})"
        if error != ErrorCode.NONE:
            description = f"creating {name} refused: {ErrorCode(error).name}"
        self._act("create_topic", name, description)
        if error != ErrorCode.NONE:
            raise ClusterError(f"creating topic {name!r}", error)
        self.wait_caught_up(timeout_ms)

    # -- operating the cluster (reflog.sim.cluster_admin) ------------------------------
    def alter_config(
        self, topic: str | None, configs: dict[str, str | None], broker: int | None = None
    ) -> None:
        """Change a topic's configs live (IncrementalAlterConfigs), or with ``topic=None``
        the dynamic config of ``broker`` (None: every broker's default); a None value
        removes the override. Raises :class:`ClusterError` (``INVALID_CONFIG``...)."""
        cluster_admin.alter_config(self, topic, configs, broker)

    def reassign(self, topic: str, partition: int, replicas: list[int]) -> None:
        """Start moving a partition's replicas (AlterPartitionReassignments)."""
        cluster_admin.reassign(self, topic, partition, replicas)

    def elect_leaders(
        self, topic: str, partitions: list[int] | None = None, election_type: str = "preferred"
    ) -> dict[int, str]:
        """A preferred or unclean leader election (ElectLeaders); each partition's outcome."""
        return cluster_admin.elect_leaders(self, topic, partitions, election_type)

    def delete_topic(self, topic: str) -> None:
        cluster_admin.delete_topic(self, topic)

    def create_partitions(self, topic: str, count: int) -> None:
        cluster_admin.create_partitions(self, topic, count)

    def _wait_for_brokers(self, replication_factor: int, timeout_ms: int) -> None:
        """At first, every broker that is up registers (so replicas spread over all of
        them); later, enough live brokers for ``replication_factor``."""
        if not self._all_brokers_registered:
            up = [b for b in self.brokers if self.sim.is_up(f"broker-{b}")]
            self.wait_unfenced(*up, timeout_ms=timeout_ms)
            self._all_brokers_registered = True
        if replication_factor > len(self.brokers):
            return  # no wait can make room: the controller refuses it at once
        self.run_until(lambda: len(self._live_brokers()) >= replication_factor, timeout_ms)

    # -- waiting for the control plane ------------------------------------------------
    def active_controller(self) -> str | None:
        """The name of the active controller (the Raft leader of the metadata quorum)."""
        active = [
            name
            for name, node in self.controllers.items()
            if node.controller is not None and node.controller.is_active()
        ]
        return active[0] if len(active) == 1 else None

    def controller(self) -> QuorumController:
        """The active controller's core (raises if there is none right now)."""
        active = self.active_controller()
        if active is None:
            raise LookupError("no active controller right now")
        core = self.controllers[active].controller
        assert core is not None
        return core

    def wait_for_active_controller(self, timeout_ms: int = 10_000) -> str:
        self.wait_until(
            lambda: self.active_controller() is not None, timeout_ms, "an active controller"
        )
        active = self.active_controller()
        assert active is not None
        return active

    def _live_brokers(self) -> set[int]:
        active = self.active_controller()
        if active is None:
            return set()
        core = self.controllers[active].controller
        assert core is not None
        return {b.broker_id for b in core.image.live_brokers()}

    def wait_unfenced(self, *broker_ids: int, timeout_ms: int = 10_000) -> None:
        """Until the active controller counts these brokers as registered and unfenced."""
        self.wait_until(
            lambda: set(broker_ids) <= self._live_brokers(),
            timeout_ms,
            f"brokers {sorted(broker_ids)} unfenced",
        )

    def wait_caught_up(self, timeout_ms: int = 10_000) -> None:
        """Until every unfenced broker has applied everything the active controller has."""

        def caught_up() -> bool:
            active = self.active_controller()
            if active is None:
                return False
            core = self.controllers[active].controller
            assert core is not None
            # A fenced broker (isolated, or still catching up after a restart) is not live.
            live = {b.broker_id for b in core.image.live_brokers()}
            return all(
                node.broker is None
                or broker_id not in live
                or (node.broker.image is not None and node.broker.image.offset >= core.image.offset)
                for broker_id, node in self.brokers.items()
            )

        self.wait_until(caught_up, timeout_ms, "brokers caught up with the metadata log")

    # -- requests ---------------------------------------------------------------------
    def send_request(
        self,
        to: int | str,
        body: Request,
        version: int,
        on_answer: Callable[[Response], None] | None = None,
    ) -> int:
        """Send ``body`` from the admin node and return at once (the correlation id);
        ``on_answer`` gets the response when it arrives. ``to``: a broker id, or a node
        name (a controller answers CreateTopics itself, as with KIP-919's
        ``bootstrap.controllers``)."""
        dst = f"broker-{to}" if isinstance(to, int) else self._node(to)
        return self.admin.send(dst, body, version, on_answer or _ignore)

    def request(
        self, to: int | str, body: Request, version: int, timeout_ms: int = 10_000
    ) -> Response:
        """Send ``body`` (see :meth:`send_request`) and run until its answer comes."""
        answers: list[Response] = []
        self.send_request(to, body, version, answers.append)
        self.wait_until(lambda: bool(answers), timeout_ms, f"an answer from {to}")
        return answers[0]

    def metadata(self, broker_id: int, topics: list[str] | None = None) -> MetadataResponse:
        request = MetadataRequest(
            topics=None if topics is None else [MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=False,
        )
        response = self.request(broker_id, request, version=8)
        assert isinstance(response, MetadataResponse)
        return response

    def send(
        self,
        tp: TopicPartition,
        values: Sequence[bytes],
        *,
        acks: int = -1,
        broker: int | None = None,
        request_timeout_ms: int = 5_000,
        producer: tuple[int, int, int] | None = None,
    ) -> ProduceResult:
        """Send one produce request of ``values`` (to the leader unless ``broker``) and
        return at once; the result fills in when the answer comes. ``request_timeout_ms``
        is how long the leader may wait for the ISR (acks=all). ``producer`` stamps the
        batch as an idempotent producer's: (producer id, epoch, base sequence)."""
        target = self.leader_of(tp) if broker is None else broker
        if target <= 0:
            target = next(iter(self.brokers))  # no leader: any broker answers with the error
        request = ProduceRequest(
            acks=acks,
            timeout_ms=request_timeout_ms,
            topic_data=[
                TopicProduceData(
                    name=tp.topic,
                    partition_data=[
                        PartitionProduceData(
                            index=tp.partition,
                            records=_batch(values, producer),
                        )
                    ],
                )
            ],
        )
        result = ProduceResult(target, acks, len(values), self.sim.now_ms)

        def answered(response: Response) -> None:
            assert isinstance(response, ProduceResponse)
            partition = response.responses[0].partition_responses[0]
            result.answered_ms = self.sim.now_ms
            result.error_code = partition.error_code
            result.base_offset = partition.base_offset

        correlation = self.send_request(target, request, 7, answered)
        if acks == 0:
            self.admin.forget(correlation)  # a broker never answers acks=0
        self.produce_results.append(result)
        what = f"sent {len(values)} record(s) to broker-{target}, acks={ACKS[acks]}"
        self._act("produce", str(tp), what)
        return result

    def produce(
        self,
        tp: TopicPartition,
        values: Sequence[bytes],
        *,
        acks: int = -1,
        broker: int | None = None,
        request_timeout_ms: int = 5_000,
        timeout_ms: int = 10_000,
        producer: tuple[int, int, int] | None = None,
    ) -> ProduceResult:
        """:meth:`send`, then run until the answer comes (acks=0: for 10 ms), at most
        ``timeout_ms`` (then ``TimeoutError``)."""
        result = self.send(
            tp,
            values,
            acks=acks,
            broker=broker,
            request_timeout_ms=request_timeout_ms,
            producer=producer,
        )
        if acks == 0:
            self.run_for(10)
        else:
            self.wait_until(lambda: result.answered_ms is not None, timeout_ms, "a produce answer")
        return result

    # -- workloads --------------------------------------------------------------------
    def add_producer(
        self,
        name: str,
        topic: str,
        *,
        rate_per_s: float,
        keys: Sequence[bytes] | None = None,
        key_weights: Sequence[float] | None = None,
        acks: int = -1,
        linger_ms: int = 5,
        batch_size: int = 16_384,
        request_timeout_ms: int = 2_000,
        enable_idempotence: bool | None = None,
        delivery_timeout_ms: int = 120_000,
    ) -> ProducerWorkload:
        """A reflog producer sending ``rate_per_s`` records a second (keys drawn from
        ``keys``, by ``key_weights``) to ``topic``. ``enable_idempotence`` None is Kafka's
        default: idempotent when ``acks`` is all. A record not acknowledged
        ``delivery_timeout_ms`` after it was sent fails (REQUEST_TIMED_OUT)."""
        config = ProducerConfig(
            bootstrap_servers=self.bootstrap,
            client_id=name,
            acks=acks,
            linger_ms=linger_ms,
            batch_size=batch_size,
            request_timeout_ms=request_timeout_ms,
            enable_idempotence=enable_idempotence,
            delivery_timeout_ms=delivery_timeout_ms,
        )
        producer = ProducerWorkload(
            name, config, topic, rate_per_s=rate_per_s, keys=keys, key_weights=key_weights
        )
        self.sim.add_node(producer)
        self.producers[name] = producer
        what = f"added producer {name} -> {topic} at {rate_per_s:g}/s, acks={ACKS[acks]}"
        self._act("add_producer", name, what)
        return producer

    def set_rate(self, producer: str, rate_per_s: float) -> None:
        """Change a producer's send rate; it applies from its next record on."""
        self.producers[producer].set_rate(rate_per_s)
        self._act("set_rate", producer, f"{producer} now sends {rate_per_s:g} records/s")

    def add_consumer(
        self,
        name: str,
        topic: str,
        partitions: Sequence[int] | None = None,
        *,
        auto_offset_reset: str = "earliest",
        group_id: str | None = None,
        isolation_level: str = "read_uncommitted",
        **group_settings: Any,
    ) -> ConsumerWorkload:
        """A reflog consumer reading ``partitions`` of ``topic`` (all of them if None:
        the topic must exist) from ``auto_offset_reset``; with ``group_id``, a member of
        that consumer group instead (see :func:`~reflog.sim.group_consumers.group_member`
        for ``assignment_strategy`` and the other group settings). ``isolation_level``
        "read_committed" reads only what committed transactions wrote (not with a group)."""
        if group_id is not None:
            if partitions is not None:
                raise ValueError("a group member is assigned its partitions by the group")
            member = group_member(
                name, topic, self.bootstrap, group_id, auto_offset_reset, **group_settings
            )
            self.sim.add_node(member)
            self.consumers[name] = member
            self._act("add_consumer", name, f"added consumer {name} <- {topic} in {group_id}")
            return member
        if partitions is None:
            partitions = self.partitions_of(topic)
            if not partitions:
                raise LookupError(f"topic {topic!r} does not exist (create it first)")
        config = ConsumerConfig(
            bootstrap_servers=self.bootstrap,
            client_id=name,
            auto_offset_reset=auto_offset_reset,
            fetch_max_wait_ms=200,
            request_timeout_ms=2_000,
            isolation_level=isolation_level,
        )
        consumer = ConsumerWorkload(
            name, config, [TopicPartition(topic, p) for p in partitions], topic=topic
        )
        self.sim.add_node(consumer)
        self.consumers[name] = consumer
        self._act("add_consumer", name, f"added consumer {name} <- {topic} {list(partitions)}")
        return consumer

    def add_processor(
        self,
        name: str,
        input_topic: str,
        output_topic: str,
        *,
        transactional_id: str,
        group_id: str,
        records_per_txn: int = 4,
        processing_ms: int = 200,
        transaction_timeout_ms: int = 10_000,
    ) -> TransactionalProcessor:
        """A consume-transform-produce processor (see :mod:`reflog.sim.processor`): its
        consumer ``<name>-in`` reads partition 0 of ``input_topic`` read_committed, and each
        transaction writes ``records_per_txn`` results to ``output_topic`` with the input
        offset committed for ``group_id``. A second processor with the same
        ``transactional_id`` fences the first."""
        source = self.add_consumer(f"{name}-in", input_topic, [0], isolation_level="read_committed")
        config = ProducerConfig(
            bootstrap_servers=self.bootstrap,
            client_id=name,
            transactional_id=transactional_id,
            transaction_timeout_ms=transaction_timeout_ms,
            request_timeout_ms=1_000,
        )
        processor = TransactionalProcessor(
            name,
            config,
            source,
            output_topic,
            len(self.partitions_of(output_topic)),
            group_id,
            lambda: committed_offset(self, group_id, source.partitions[0]),
            records_per_txn=records_per_txn,
            processing_ms=processing_ms,
        )
        self.sim.add_node(processor)
        self.producers[name] = processor
        what = f"added processor {name}: {input_topic} -> {output_topic} ({transactional_id})"
        self._act("add_producer", name, what)
        return processor

    # -- looking ----------------------------------------------------------------------
    def image(self, broker_id: int | None = None) -> MetadataImage:
        """The metadata image a broker has applied (the active controller's if None)."""
        if broker_id is None:
            return self.controller().image
        image = self.broker(broker_id).image
        assert image is not None
        return image

    def _latest_image(self) -> MetadataImage | None:
        active = self.active_controller()
        if active is not None:
            core = self.controllers[active].controller
            assert core is not None
            return core.image
        for node in self.controllers.values():
            if node.controller is not None:
                return node.controller.image
        return None

    def partitions_of(self, topic: str) -> list[int]:
        image = self._latest_image()
        found = None if image is None else image.topics.get(topic)
        return [] if found is None else sorted(found.partitions)

    def leader_of(self, topic: TopicPartition | str, partition: int = 0) -> int:
        """The leader the controller committed for a partition (-1: none, or no active
        controller right now)."""
        tp = topic if isinstance(topic, TopicPartition) else TopicPartition(topic, partition)
        active = self.active_controller()
        if active is None:
            return -1
        core = self.controllers[active].controller
        assert core is not None
        state = core.image.partition(tp)
        return -1 if state is None else state.leader

    def broker(self, broker_id: int) -> Broker:
        """A live broker's core (raises while it is down)."""
        core = self.brokers[broker_id].broker
        if core is None:
            raise LookupError(f"broker-{broker_id} is down")
        return core

    def replica(self, broker_id: int, tp: TopicPartition) -> Partition | None:
        """A broker's replica of ``tp`` (None while it is down or holds none)."""
        core = self.brokers[broker_id].broker
        replicas = None if core is None else core.replicas
        return None if replicas is None else replicas.partitions.get(tp)

    def _log(self, tp: TopicPartition) -> Log | None:
        """The leader's log of ``tp`` (the longest live replica's while it has no leader)."""
        leader = self.leader_of(tp)
        if leader > 0 and self.brokers[leader].broker is not None:
            return self.broker(leader).logs.get(tp)
        logs = [
            log
            for node in self.brokers.values()
            if node.broker is not None and (log := node.broker.logs.get(tp)) is not None
        ]
        return max(logs, key=lambda log: log.log_end_offset, default=None)

    def log_end_offsets(self, topic: str) -> dict[int, int]:
        """Partition -> the leader's log end offset (records written)."""
        out = {}
        for p in self.partitions_of(topic):
            log = self._log(TopicPartition(topic, p))
            out[p] = 0 if log is None else log.log_end_offset
        return out

    def high_watermarks(self, topic: str) -> dict[int, int]:
        """Partition -> the leader's high watermark (what consumers may read)."""
        out = {}
        for p in self.partitions_of(topic):
            tp = TopicPartition(topic, p)
            leader = self.leader_of(tp)
            replica = None if leader <= 0 else self.replica(leader, tp)
            out[p] = 0 if replica is None else replica.high_watermark
        return out

    def log_sizes(self, topic: str) -> dict[int, int]:
        """Partition -> bytes in the leader's ``.log`` files."""
        out = {}
        for p in self.partitions_of(topic):
            log = self._log(TopicPartition(topic, p))
            out[p] = 0 if log is None else log.size_in_bytes
        return out

    def records(self, broker_id: int, tp: TopicPartition) -> list[tuple[int, bytes | None]]:
        """Every (offset, value) in a broker's log of ``tp`` (empty while it is down)."""
        core = self.brokers[broker_id].broker
        log = None if core is None else core.logs.get(tp)
        return [] if log is None else records_of(log)

    def describe(self, topic: str | None = None) -> str:
        """A table of every partition (of ``topic``): leader, epoch, ISR, and per replica
        its log end offset and high watermark. Deterministic: notebooks print it."""
        snapshot = self.snapshot()
        lines = [f"t = {snapshot.at_ms} ms, active controller {snapshot.active_controller}"]
        for p in snapshot.partitions:
            if topic is not None and p.topic != topic:
                continue
            leader = f"broker-{p.leader}" if p.leader > 0 else "none"
            replicas = "  ".join(
                f"{r.broker_id}:{r.role[0] if r.alive else 'x'} LEO {r.log_end_offset} "
                f"HW {r.high_watermark}"
                for r in p.replicas
            )
            lines.append(
                f"{p.topic}-{p.partition}  leader {leader} epoch {p.leader_epoch} "
                f"ISR {list(p.isr)}  {replicas}"
            )
        return "\n".join(lines)


def _ignore(_: Response) -> None:
    pass


def _batch(values: Sequence[bytes], producer: tuple[int, int, int] | None) -> bytes:
    """One batch of ``values``, stamped with (producer id, epoch, base sequence) if given."""
    records = [NewRecord(key=None, value=v, timestamp=0) for v in values]
    if producer is None:
        return build_batch(records)
    producer_id, epoch, sequence = producer
    return build_batch(
        records, producer_id=producer_id, producer_epoch=epoch, base_sequence=sequence
    )


def records_of(log: Log, end: int | None = None) -> list[tuple[int, bytes | None]]:
    """Every (offset, value) in ``log`` from its start, up to ``end`` if given."""
    out: list[tuple[int, bytes | None]] = []
    offset = log.log_start_offset
    stop = log.log_end_offset if end is None else end
    while offset < stop:
        read = log.read(offset, 1 << 20, max_offset=stop)
        if read.records is None:
            break
        for batch in iter_batches(read.records.read()):
            for record in batch.records():
                if offset <= record.offset < stop:
                    out.append((record.offset, record.value))
            offset = batch.last_offset + 1
    return out
