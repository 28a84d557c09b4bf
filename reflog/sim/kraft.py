"""A KRaft-style cluster in the simulation: controllers (a Raft quorum) and brokers.

Used by the controller and replication scenarios and by the notebooks. Node names
are the controllers' ids ("3000", ...) and "broker-1", "broker-2", ...; a probe
node sends requests to brokers as a client would, so a scenario can produce and
ask for metadata in a few lines. Timings are shortened (a 1 s broker session,
heartbeats every 200 ms, a 150 ms Raft election timeout) so that failures play
out in simulated seconds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.controller.config import ControllerConfig
from reflog.controller.image import MetadataImage
from reflog.raft.core import RaftConfig
from reflog.records.batch import NewRecord, build_batch, iter_batches
from reflog.sim import LinkConfig, Simulation
from reflog.sim.controller_nodes import ControllerSimNode
from reflog.sim.kafka_nodes import BrokerNode, SimRequest, SimResponse
from reflog.sim.node import NodeContext
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.messages.produce import (
    PartitionProduceData,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from reflog.wire.schema import Request, Response

__all__ = ["HEARTBEAT_INTERVAL", "SESSION_TIMEOUT", "KraftCluster", "ProbeNode", "records_of"]

SESSION_TIMEOUT = 1_000
HEARTBEAT_INTERVAL = 200


class ProbeNode:
    """Sends requests like a client and keeps the answers by correlation id."""

    def __init__(self) -> None:
        self.name = "probe"
        self.ctx: NodeContext | None = None
        self.answers: dict[int, Response] = {}

    def start(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    def crash(self) -> None:
        self.ctx = None

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        if isinstance(payload, SimResponse):
            self.answers[payload.correlation_id] = payload.body

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        pass


class KraftCluster:
    def __init__(
        self,
        seed: int,
        data_dir: Path,
        *,
        controllers: int = 3,
        brokers: int = 3,
        snapshot_batches: int = 1_000,
        unclean: bool = False,
        loss: float = 0.0,
        **broker_settings: Any,
    ) -> None:
        """``broker_settings`` are BrokerConfig fields for every broker
        (e.g. ``replica_lag_time_max_ms=1_000``)."""
        self.sim = Simulation(seed, LinkConfig(latency_ms_min=1, latency_ms_max=5, loss=loss))
        self.controller_ids = [3000 + i for i in range(controllers)]
        self.controllers: dict[str, ControllerSimNode] = {}
        for cid in self.controller_ids:
            config = ControllerConfig(
                cid,
                tuple(self.controller_ids),
                broker_session_timeout_ms=SESSION_TIMEOUT,
                unclean_leader_election_enable=unclean,
                metadata_snapshot_batches=snapshot_batches,
                raft=RaftConfig(election_timeout_ms=150, heartbeat_interval_ms=40),
            )
            controller = ControllerSimNode(config, data_dir)
            self.controllers[controller.name] = controller
            self.sim.add_node(controller)
        self.brokers: dict[int, BrokerNode] = {}
        for b in range(1, brokers + 1):
            name = f"broker-{b}"
            broker_config = dataclasses.replace(
                BrokerConfig(node_id=b, log_dir=data_dir / name, host=name), **broker_settings
            )
            broker = BrokerNode(name, broker_config, self.controller_ids, HEARTBEAT_INTERVAL)
            self.brokers[b] = broker
            self.sim.add_node(broker)
        self.probe = ProbeNode()
        self.sim.add_node(self.probe)
        self._correlation = 0
        self.sim.start()

    # -- waiting ------------------------------------------------------------------------
    def until(self, condition: object, timeout_ms: int = 10_000) -> None:
        assert callable(condition)
        assert self.sim.run_until(lambda: bool(condition()), timeout_ms), "condition not met"

    def active_controller(self) -> str | None:
        active = [
            name
            for name, node in self.controllers.items()
            if node.controller is not None and node.controller.is_active()
        ]
        assert len(active) <= 1 or len({self._term(n) for n in active}) == len(active)
        return active[0] if len(active) == 1 else None

    def _term(self, name: str) -> int:
        controller = self.controllers[name].controller
        assert controller is not None
        return controller.raft.current_term

    def wait_for_active_controller(self) -> str:
        self.until(lambda: self.active_controller() is not None)
        active = self.active_controller()
        assert active is not None
        return active

    def image(self, broker_id: int) -> MetadataImage:
        broker = self.brokers[broker_id].broker
        assert broker is not None and broker.image is not None
        return broker.image

    def broker(self, broker_id: int) -> Broker:
        broker = self.brokers[broker_id].broker
        assert broker is not None
        return broker

    def wait_unfenced(self, *broker_ids: int) -> None:
        def all_in() -> bool:
            active = self.active_controller()
            if active is None:
                return False
            controller = self.controllers[active].controller
            assert controller is not None
            live = {b.broker_id for b in controller.image.live_brokers()}
            return set(broker_ids) <= live

        self.until(all_in)

    def wait_caught_up(self) -> None:
        """Every live broker has applied everything the active controller has."""

        def caught_up() -> bool:
            active = self.active_controller()
            if active is None:
                return False
            controller = self.controllers[active].controller
            assert controller is not None
            return all(
                node.broker is None
                or (
                    node.broker.image is not None
                    and node.broker.image.offset >= controller.image.offset - 1
                )
                for node in self.brokers.values()
            )

        self.until(caught_up)

    # -- requests -------------------------------------------------------------------------
    def request(self, broker_id: int, body: Request, version: int) -> Response:
        assert self.probe.ctx is not None
        self._correlation += 1
        correlation = self._correlation
        header = RequestHeader(body.API_KEY, version, correlation, "probe")
        self.probe.ctx.send(f"broker-{broker_id}", SimRequest(header, body))
        self.until(lambda: correlation in self.probe.answers)
        return self.probe.answers.pop(correlation)

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int,
        via: int = 1,
        configs: dict[str, str] | None = None,
    ) -> int:
        topic = CreatableTopic(
            name=name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            configs=[CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
        )
        response = self.request(via, CreateTopicsRequest(topics=[topic]), version=4)
        assert isinstance(response, CreateTopicsResponse)
        return response.topics[0].error_code

    def metadata(self, broker_id: int, topics: list[str] | None = None) -> MetadataResponse:
        request = MetadataRequest(
            topics=None if topics is None else [MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=False,
        )
        response = self.request(broker_id, request, version=8)
        assert isinstance(response, MetadataResponse)
        return response

    # -- records ----------------------------------------------------------------------------
    def leader_of(self, tp: TopicPartition) -> int:
        active = self.active_controller()
        assert active is not None
        controller = self.controllers[active].controller
        assert controller is not None
        state = controller.image.partition(tp)
        assert state is not None
        return state.leader

    def produce(
        self, broker_id: int, tp: TopicPartition, values: list[bytes], acks: int = -1
    ) -> PartitionProduceResponse:
        batch = build_batch([NewRecord(key=None, value=v, timestamp=0) for v in values])
        request = ProduceRequest(
            acks=acks,
            timeout_ms=5_000,
            topic_data=[
                TopicProduceData(
                    name=tp.topic,
                    partition_data=[PartitionProduceData(index=tp.partition, records=batch)],
                )
            ],
        )
        response = self.request(broker_id, request, version=7)
        assert isinstance(response, ProduceResponse)
        return response.responses[0].partition_responses[0]


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
