"""Simulation adapters: a broker core and client cores as nodes of the simulation.

Requests and responses travel as typed messages (:class:`SimRequest`,
:class:`SimResponse`). A simulated broker reads a fetch answer's records into bytes
as it builds the answer, which it sends at once (the network runtime sends them as
file slices, with sendfile, when it sends the answer). Both directions
pass through the real wire codec when the cluster is built with
``wire_roundtrip_requests=True`` (tests turn it on), so the two runtimes cannot
drift apart; otherwise the typed messages go as they are (encoding and decoding
every answer was about a fifth of a simulated cluster's run time).

reflog simplification: opening a connection takes no simulated time. Connecting
to a broker that is down fails at once (as a TCP reset would); a broker that is
only cut off is noticed when requests to it time out (``request.timeout.ms``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

from reflog.broker import Action, Broker, Respond
from reflog.client.actions import ClientAction, Connect, Disconnect, Send
from reflog.client.core import ClientCore
from reflog.config import BrokerConfig
from reflog.controller.broker_lifecycle import BrokerLifecycle
from reflog.outbound import Outbound, OutboundRequests
from reflog.sim.events import Scheduled
from reflog.sim.node import NodeContext
from reflog.wire.apis import (
    API_TABLE,
    CONTROLLER_API_TABLE,
    Api,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.schema import Request, Response

__all__ = ["BrokerNode", "ClientNode", "SimRequest", "SimResponse", "wire_roundtrip"]


# NamedTuples rather than frozen dataclasses: one is built for every message of a run, and
# building a frozen dataclass costs about three times as much.
class SimRequest(NamedTuple):
    header: RequestHeader
    body: Request


class SimResponse(NamedTuple):
    correlation_id: int
    api_key: int
    api_version: int
    body: Response


def wire_roundtrip(payload: object) -> object:
    """Encode a request or response with the Kafka codec and decode it again (the
    simulation's switch)."""
    if isinstance(payload, SimRequest):
        apis = _apis_of(payload.header.api_key)
        frame = chunks_to_bytes(encode_request(payload.header, payload.body))
        decoded = decode_request(frame, apis)
        return SimRequest(decoded.header, decoded.body)
    if isinstance(payload, SimResponse):
        apis = _apis_of(payload.api_key)
        header = RequestHeader(payload.api_key, payload.api_version, payload.correlation_id)
        frame = chunks_to_bytes(encode_response(header, payload.body, apis))
        _, body = decode_response(payload.api_key, payload.api_version, frame, apis)
        return SimResponse(payload.correlation_id, payload.api_key, payload.api_version, body)
    return payload


def _apis_of(api_key: int) -> dict[int, Api]:
    """The table that knows ``api_key``: Kafka's, or the controllers' own (quorum APIs)."""
    return API_TABLE if api_key in API_TABLE else CONTROLLER_API_TABLE


class BrokerNode:
    """A :class:`~reflog.broker.Broker` core on a simulated node; its log dir is real.

    A broker always follows the metadata log of its ``controllers`` (their node ids,
    which are also their simulation names): its requests to other nodes (the
    lifecycle's registration and heartbeats, forwarded CreateTopics, ISR changes,
    follower fetches) are kept by an :class:`OutboundRequests` core, the same one the
    network runtime drives; this node only carries them as simulated messages. A
    message the network loses is never answered: the core's deadline ends it.
    """

    def __init__(
        self,
        name: str,
        config: BrokerConfig,
        controllers: list[int],
        heartbeat_interval_ms: int = 2_000,
    ) -> None:
        if not controllers:
            raise ValueError("a broker follows the metadata log of at least one controller")
        self.name = name
        self.config = config
        self.controllers = controllers
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.broker: Broker | None = None
        self.requests: OutboundRequests | None = None
        self._conn_ids: dict[str, int] = {}  # peer node name -> connection id
        self._conn_names: dict[int, str] = {}  # and back, to address answers
        self._timer: Scheduled | None = None
        self._timer_at: int | None = None
        # The correlation ids of this node's requests: one sequence across restarts.
        self._request_ids = itertools.count(1)

    @property
    def lifecycle(self) -> BrokerLifecycle | None:
        return None if self.requests is None else self.requests.lifecycle

    def start(self, ctx: NodeContext) -> None:
        # A restart reopens the logs from disk, as a restarted broker process does.
        # No sendfile here: the broker reads the records of a fetch answer as it builds it,
        # which is when the answer is sent (a later truncation or retention must not change
        # what was sent), rather than leave file slices that would be read afterwards.
        self.broker = Broker(self.config, ctx.now_ms, zero_copy=False)
        self._conn_ids.clear()
        self._conn_names.clear()
        self._timer_at = None
        lifecycle = BrokerLifecycle(
            self.config.node_id,
            self.name,
            self.config.port,
            self.controllers,
            ctx.now_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        self.requests = OutboundRequests(self.broker, lifecycle, self._request_ids)
        self._do(ctx, self.requests.deliver(ctx.now_ms, []))

    def crash(self) -> None:
        # A power cut, not a shutdown: what the logs had not fsynced is gone, and the
        # next start recovers the logs from what is on disk.
        if self.broker is not None:
            self.broker.crash()
        self.broker = None
        self.requests = None

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        if self.broker is None:
            return
        if isinstance(payload, SimResponse):
            assert self.requests is not None
            answer = self.requests.on_answer(ctx.now_ms, payload.correlation_id, payload.body)
            self._do(ctx, answer)
            return
        if not isinstance(payload, SimRequest):
            return
        conn = self._conn_ids.get(src)
        if conn is None:
            conn = self._conn_ids[src] = len(self._conn_ids) + 1
            self._conn_names[conn] = src
        self._deliver(ctx, self.broker.handle(conn, payload.header, payload.body, ctx.now_ms))

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        if self.broker is not None:
            self._timer_at = None
            assert self.requests is not None
            self._do(ctx, self.requests.tick(ctx.now_ms, self.broker.tick(ctx.now_ms)))

    # -- carrying out what the cores say ----------------------------------------------
    def _deliver(self, ctx: NodeContext, actions: list[Action]) -> None:
        assert self.requests is not None
        self._do(ctx, self.requests.deliver(ctx.now_ms, actions))

    def _do(self, ctx: NodeContext, out: list[Respond | Outbound]) -> None:
        for item in out:
            if isinstance(item, Outbound):
                # At its newest version: peers run the same reflog.
                body = item.request
                header = RequestHeader(body.API_KEY, body.MAX_VERSION, item.request_id, self.name)
                to = str(item.to) if isinstance(item.to, int) else item.to.host
                ctx.send(to, SimRequest(header, body))
                continue
            if item.response is None:
                continue
            header = item.header
            ctx.send(
                self._conn_names[item.conn],
                SimResponse(
                    header.correlation_id, header.api_key, header.api_version, item.response
                ),
            )
        assert self.broker is not None and self.requests is not None
        deadline = min(self.broker.next_deadline_ms(), self.requests.next_deadline_ms())
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
        # A tick returns all there is to do at this time; only news told back to the core
        # while carrying it out (a connection made or lost: the simulation answers a
        # connect at once) gives it more, so only then does it tick again.
        actions = self.core.tick(ctx.now_ms)
        while actions:
            told = False
            for action in actions:
                told |= self._execute(ctx, action)
            actions = self.core.tick(ctx.now_ms) if told else []
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

    def _execute(self, ctx: NodeContext, action: ClientAction) -> bool:
        """Carry out one action; True if the core was told something back."""
        assert self.core is not None
        if isinstance(action, Send):
            host = self._hosts[action.node_id]
            self._routes[(host, action.header.correlation_id)] = action.node_id
            ctx.send(host, SimRequest(action.header, action.body))
            return False
        if isinstance(action, Connect):
            self._hosts[action.node_id] = action.host
            if ctx.refuses_connections(action.host):
                self.core.network.disconnected(action.node_id, ctx.now_ms)
            else:
                self.core.network.connected(action.node_id, ctx.now_ms)
            return True
        assert isinstance(action, Disconnect)
        self.core.network.disconnected(action.node_id, ctx.now_ms)
        return True
