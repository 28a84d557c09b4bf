"""A :class:`QuorumController` on a simulated node, its Raft state in real files.

Raft messages travel between controllers as reflog's typed wire messages (the
same objects the network runtime encodes); brokers' requests arrive as
:class:`SimRequest` and are answered, through the real codec, as
:class:`SimResponse`. Each Ready is persisted before its messages leave.
"""

from __future__ import annotations

from pathlib import Path

from reflog.controller.config import ControllerConfig
from reflog.controller.quorum_controller import ControllerReady, QuorumController
from reflog.controller.raft_wire import RAFT_WIRE_TYPES, from_wire, to_wire
from reflog.raft.storage import FileRaftStorage, persist_ready
from reflog.sim.events import Scheduled
from reflog.sim.kafka_nodes import SimRequest, SimResponse
from reflog.sim.node import NodeContext
from reflog.wire.apis import CONTROLLER_API_TABLE, decode_response, encode_response
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.create_topics import CreateTopicsRequest
from reflog.wire.messages.quorum import (
    AllocateProducerIdsRequest,
    AlterPartitionRequest,
    BrokerHeartbeatRequest,
    BrokerRegistrationRequest,
)

__all__ = ["ControllerSimNode"]


class ControllerSimNode:
    def __init__(self, config: ControllerConfig, data_dir: Path) -> None:
        self.name = str(config.node_id)
        self.config = config
        self.storage = FileRaftStorage(data_dir / f"controller-{config.node_id}")
        self.controller: QuorumController | None = None
        self._timer: Scheduled | None = None

    def start(self, ctx: NodeContext) -> None:
        self.controller = QuorumController(self.config, self.storage.load(), ctx.rng, ctx.now_ms)
        self._arm(ctx)

    def crash(self) -> None:
        self.controller = None

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        controller = self.controller
        if controller is None:
            return
        now = ctx.now_ms
        if isinstance(payload, RAFT_WIRE_TYPES):
            sender, message = from_wire(payload)
            self._do(ctx, controller.step(now, sender, message))
        elif isinstance(payload, SimRequest):
            token = (src, payload.header)
            body = payload.body
            if isinstance(body, BrokerRegistrationRequest):
                self._do(ctx, controller.register_broker(now, token, body))
            elif isinstance(body, BrokerHeartbeatRequest):
                self._do(ctx, controller.broker_heartbeat(now, token, body))
            elif isinstance(body, CreateTopicsRequest):
                self._do(ctx, controller.create_topics(now, token, body))
            elif isinstance(body, AlterPartitionRequest):
                self._do(ctx, controller.alter_partition(now, token, body))
            elif isinstance(body, AllocateProducerIdsRequest):
                self._do(ctx, controller.allocate_producer_ids(now, token, body))

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        if self.controller is not None:
            self._do(ctx, self.controller.tick(ctx.now_ms))

    def _do(self, ctx: NodeContext, out: ControllerReady) -> None:
        for ready in out.raft:
            persist_ready(self.storage, ready)
            for to, message in ready.messages:
                ctx.send(to, to_wire(self.config.node_id, message))
        for token, reply in out.replies:
            assert isinstance(token, tuple)
            src, header = token
            assert isinstance(src, str) and isinstance(header, RequestHeader)
            frame = chunks_to_bytes(encode_response(header, reply, CONTROLLER_API_TABLE))
            _, body = decode_response(
                header.api_key, header.api_version, frame, CONTROLLER_API_TABLE
            )
            ctx.send(
                src, SimResponse(header.correlation_id, header.api_key, header.api_version, body)
            )
        self._arm(ctx)

    def _arm(self, ctx: NodeContext) -> None:
        assert self.controller is not None
        if self._timer is not None:
            ctx.cancel_timer(self._timer)
        deadline = max(self.controller.next_deadline_ms(), ctx.now_ms)
        self._timer = ctx.set_timer(deadline, "tick")
