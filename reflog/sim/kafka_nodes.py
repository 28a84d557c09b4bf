"""Simulation adapters: a broker core and client cores as nodes of the simulation.

Requests and responses travel as typed messages (:class:`SimRequest`,
:class:`SimResponse`). Responses always pass through the real wire codec on
the way out (that is also how a fetch's file slice becomes bytes); requests do
too when the cluster is built with ``wire_roundtrip=True``, so the two runtimes
cannot drift apart.

reflog simplification: opening a connection takes no simulated time. Connecting
to a broker that is down fails at once (as a TCP reset would); a broker that is
only cut off is noticed when requests to it time out (``request.timeout.ms``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reflog.broker import Action, Broker, Forward, SendToBroker, ToController
from reflog.client.actions import ClientAction, Connect, Disconnect, Send
from reflog.client.core import ClientCore
from reflog.config import BrokerConfig
from reflog.controller.broker_lifecycle import BrokerLifecycle
from reflog.controller.forwarding import ForwardQueue
from reflog.controller.image import MetadataImage
from reflog.sim.events import Scheduled
from reflog.sim.node import NodeContext
from reflog.wire.apis import (
    CONTROLLER_API_TABLE,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.create_topics import (
    CreateTopicsResponse,
)
from reflog.wire.messages.quorum import (
    AlterPartitionResponse,
    BrokerHeartbeatResponse,
    BrokerRegistrationResponse,
)
from reflog.wire.schema import Request, Response

__all__ = ["BrokerNode", "ClientNode", "SimRequest", "SimResponse", "wire_roundtrip"]

# How long a broker waits for another node's answer before treating it as unreachable.
REPLICA_SOCKET_TIMEOUT_MS = 1_000


@dataclass(frozen=True)
class SimRequest:
    header: RequestHeader
    body: Request


@dataclass(frozen=True)
class SimResponse:
    correlation_id: int
    api_key: int
    api_version: int
    body: Response


def wire_roundtrip(payload: object) -> object:
    """Encode a request with the Kafka codec and decode it again (the simulation's switch)."""
    if isinstance(payload, SimRequest):
        apis = CONTROLLER_API_TABLE if payload.header.api_key >= 10_000 else None
        frame = chunks_to_bytes(encode_request(payload.header, payload.body))
        decoded = decode_request(frame) if apis is None else decode_request(frame, apis)
        return SimRequest(decoded.header, decoded.body)
    return payload


class BrokerNode:
    """A :class:`~reflog.broker.Broker` core on a simulated node; its log dir is real.

    A broker always follows the metadata log of its ``controllers`` (their node ids,
    which are also their simulation names): a :class:`BrokerLifecycle` registers and
    heartbeats, and every metadata change it receives is applied to the broker.
    """

    def __init__(
        self,
        name: str,
        config: BrokerConfig,
        controllers: list[int],
        heartbeat_interval_ms: int = 2_000,
    ) -> None:
        if not controllers:
            raise ValueError("a broker follows a controller quorum: name at least one")
        self.name = name
        self.config = config
        self.controllers = controllers
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.broker: Broker | None = None
        self.lifecycle: BrokerLifecycle | None = None  # created when the node starts
        self._conn_ids: dict[str, int] = {}
        self._timer: Scheduled | None = None
        self._timer_at: int | None = None
        self._correlation = 0
        self.forwards = ForwardQueue()
        self._forward_ids: dict[int, int] = {}  # correlation id -> forward id
        # correlation id -> (deadline, what it was): follower fetches and ISR changes in flight
        self._outstanding: dict[int, tuple[int, SendToBroker | ToController]] = {}

    def start(self, ctx: NodeContext) -> None:
        # A restart reopens the logs from disk, as a restarted broker process does.
        self.broker = Broker(self.config, ctx.now_ms)
        self._conn_ids.clear()
        self.forwards = ForwardQueue()
        self._forward_ids.clear()
        self._outstanding.clear()
        self._timer_at = None
        self.lifecycle = BrokerLifecycle(
            self.config.node_id,
            self.name,
            self.config.port,
            self.controllers,
            ctx.now_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        # Following the (still empty) metadata log from the start: never a moment without it.
        self._deliver(ctx, self.broker.apply_metadata(MetadataImage(), ctx.now_ms))

    def crash(self) -> None:
        # A power cut, not a shutdown: what the logs had not fsynced is gone, and the
        # next start recovers the logs from what is on disk.
        if self.broker is not None:
            self.broker.crash()
        self.broker = None

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        if self.broker is None:
            return
        if isinstance(payload, SimResponse):
            outstanding = self._outstanding.pop(payload.correlation_id, None)
            if outstanding is not None:
                self._deliver(ctx, self._answered(ctx, outstanding[1], payload.body))
            else:
                self._deliver(ctx, self._from_controller(ctx, payload))
            return
        if not isinstance(payload, SimRequest):
            return
        conn = self._conn_ids.setdefault(src, len(self._conn_ids) + 1)
        self._deliver(ctx, self.broker.handle(conn, payload.header, payload.body, ctx.now_ms))

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        if self.broker is not None:
            self._timer_at = None
            actions: list[Action] = list(self.broker.tick(ctx.now_ms))
            actions += self._expire_outstanding(ctx)
            assert self.lifecycle is not None
            for out in self.lifecycle.tick(ctx.now_ms):
                self._send_to_controller(ctx, out.controller_id, out.request)
            actions += self.forwards.expired(ctx.now_ms)
            self._deliver(ctx, actions)

    # -- the controller side ----------------------------------------------------------
    def _send_to_controller(self, ctx: NodeContext, controller: int, body: Request) -> int:
        return self._send_request(ctx, str(controller), body)

    def _send_request(self, ctx: NodeContext, node: str, body: Request) -> int:
        """Send ``body`` at its newest version (peers run the same reflog); its correlation id."""
        self._correlation += 1
        header = RequestHeader(body.API_KEY, body.MAX_VERSION, self._correlation, self.name)
        ctx.send(node, SimRequest(header, body))
        return self._correlation

    def _from_controller(self, ctx: NodeContext, payload: SimResponse) -> list[Action]:
        assert self.broker is not None and self.lifecycle is not None
        body = payload.body
        if isinstance(body, BrokerRegistrationResponse):
            self.lifecycle.on_registration(ctx.now_ms, body)
        elif isinstance(body, BrokerHeartbeatResponse):
            if self.lifecycle.on_heartbeat(ctx.now_ms, body):
                return self.broker.apply_metadata(self.lifecycle.image, ctx.now_ms)
        elif isinstance(body, CreateTopicsResponse):
            forward_id = self._forward_ids.pop(payload.correlation_id, None)
            self.lifecycle.request_metadata_soon(ctx.now_ms)
            if forward_id is not None:
                return list(self.forwards.answered(forward_id, body))
        return []

    # -- replication: requests to leaders and to the controller -------------------------------
    def _send_out(self, ctx: NodeContext, action: SendToBroker | ToController) -> None:
        assert self.lifecycle is not None
        if isinstance(action, SendToBroker):
            broker = self.lifecycle.image.brokers.get(action.broker_id)
            if broker is None:
                assert self.broker is not None
                self.broker.on_broker_unreachable(action.broker_id, ctx.now_ms)
                return
            correlation = self._send_request(ctx, broker.host, action.request)
            timeout = self.config.replica_fetch_wait_max_ms + REPLICA_SOCKET_TIMEOUT_MS
        else:
            correlation = self._send_to_controller(
                ctx, self.lifecycle.controller_id, action.request
            )
            timeout = REPLICA_SOCKET_TIMEOUT_MS
        self._outstanding[correlation] = (ctx.now_ms + timeout, action)

    def _answered(
        self, ctx: NodeContext, action: SendToBroker | ToController, body: Response
    ) -> list[Action]:
        assert self.broker is not None
        if isinstance(action, SendToBroker):
            return self.broker.on_broker_response(action.broker_id, body, ctx.now_ms)
        assert isinstance(body, AlterPartitionResponse)
        return self.broker.on_alter_partition_response(body, action.request, ctx.now_ms)

    def _expire_outstanding(self, ctx: NodeContext) -> list[Action]:
        """Requests nobody answered (the other node is down or cut off) fail, as a socket
        timeout would: the fetcher backs off, the ISR change may be proposed again."""
        assert self.broker is not None
        actions: list[Action] = []
        for correlation, (deadline, action) in list(self._outstanding.items()):
            if deadline > ctx.now_ms:
                continue
            del self._outstanding[correlation]
            if isinstance(action, SendToBroker):
                self.broker.on_broker_unreachable(action.broker_id, ctx.now_ms)
            else:
                timed_out = AlterPartitionResponse(error_code=ErrorCode.REQUEST_TIMED_OUT)
                actions += self.broker.on_alter_partition_response(
                    timed_out, action.request, ctx.now_ms
                )
        return actions

    def _send_forwards(self, ctx: NodeContext) -> None:
        assert self.lifecycle is not None
        for forward_id, request in self.forwards.to_send(self.lifecycle.controller_id):
            correlation = self._send_to_controller(ctx, self.lifecycle.controller_id, request)
            self._forward_ids[correlation] = forward_id

    def _deliver(self, ctx: NodeContext, actions: list[Action]) -> None:
        names = {conn: name for name, conn in self._conn_ids.items()}
        for action in actions:
            if isinstance(action, Forward):
                self.forwards.add(ctx.now_ms, action)
                continue
            if isinstance(action, SendToBroker | ToController):
                self._send_out(ctx, action)
                continue
            if action.response is None:
                continue
            header = action.header
            frame = chunks_to_bytes(encode_response(header, action.response))
            _, body = decode_response(header.api_key, header.api_version, frame)
            ctx.send(
                names[action.conn],
                SimResponse(header.correlation_id, header.api_key, header.api_version, body),
            )
        assert self.broker is not None
        self._send_forwards(ctx)
        assert self.lifecycle is not None
        deadline = min(self.broker.next_deadline_ms(), self.lifecycle.next_deadline_ms())
        forward_deadline = self.forwards.next_deadline_ms()
        if forward_deadline is not None:
            deadline = min(deadline, forward_deadline)
        for outstanding_deadline, _ in self._outstanding.values():
            deadline = min(deadline, outstanding_deadline)
        deadline = max(deadline, ctx.now_ms)
        if deadline != self._timer_at:
            if self._timer is not None:
                ctx.cancel_timer(self._timer)
            self._timer_at = deadline
            self._timer = ctx.set_timer(deadline, "tick")


class ClientNode:
    """A client core (producer, consumer, admin) on a simulated node.

    ``on_tick`` lets an application step run before the core each time the
    node wakes (e.g. a workload deciding to send records).
    """

    def __init__(self, name: str, make_core: Callable[[NodeContext], ClientCore]) -> None:
        self.name = name
        self._make_core = make_core
        self.core: ClientCore | None = None
        self._hosts: dict[int, str] = {}
        self._routes: dict[tuple[str, int], int] = {}  # (broker, correlation id) -> node id
        self._timer: Scheduled | None = None
        self._timer_at: int | None = None

    def start(self, ctx: NodeContext) -> None:
        self.core = self._make_core(ctx)
        self._hosts.clear()
        self._routes.clear()
        self._timer_at = None
        self.wake(ctx)

    def crash(self) -> None:
        self.core = None

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        if self.core is None or not isinstance(payload, SimResponse):
            return
        node_id = self._routes.pop((src, payload.correlation_id), None)
        if node_id is not None:
            self.core.network.response(node_id, payload.correlation_id, payload.body, ctx.now_ms)
        self.wake(ctx)

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        self._timer_at = None
        self.wake(ctx)

    def on_wake(self, ctx: NodeContext) -> None:
        """Application logic hook: runs before the core each time the node wakes."""

    def wake(self, ctx: NodeContext) -> None:
        if self.core is None:
            return
        self.on_wake(ctx)
        # Executing actions can produce more (a connect answers at once): loop until quiet.
        actions = self.core.tick(ctx.now_ms)
        while actions:
            for action in actions:
                self._execute(ctx, action)
            actions = self.core.tick(ctx.now_ms)
        self._arm_timer(ctx)

    def _arm_timer(self, ctx: NodeContext) -> None:
        assert self.core is not None
        deadline = self.core.next_deadline_ms()
        hook = self.next_wake_ms()
        if hook is not None:
            deadline = hook if deadline is None else min(deadline, hook)
        if deadline is None or deadline == self._timer_at:
            return
        if self._timer is not None:
            ctx.cancel_timer(self._timer)
        self._timer_at = max(deadline, ctx.now_ms + 1)
        self._timer = ctx.set_timer(self._timer_at, "wake")

    def next_wake_ms(self) -> int | None:
        """When the application hook wants to run next (None: only on events)."""
        return None

    def _execute(self, ctx: NodeContext, action: ClientAction) -> None:
        assert self.core is not None
        if isinstance(action, Connect):
            self._hosts[action.node_id] = action.host
            if ctx.refuses_connections(action.host):
                self.core.network.disconnected(action.node_id, ctx.now_ms)
            else:
                self.core.network.connected(action.node_id, ctx.now_ms)
        elif isinstance(action, Send):
            host = self._hosts[action.node_id]
            self._routes[(host, action.header.correlation_id)] = action.node_id
            ctx.send(host, SimRequest(action.header, action.body))
        elif isinstance(action, Disconnect):
            self.core.network.disconnected(action.node_id, ctx.now_ms)
