"""A broker process in a cluster: the broker server plus its links to the other nodes.

Beside the :class:`BrokerServer` that serves clients, an :class:`OutboundRequests` core
keeps the broker's requests to other nodes: the lifecycle's registration and
heartbeats, CreateTopics forwarded to the active controller, ISR changes, follower
fetches. This runtime only carries them: one :class:`PeerLink` per controller and per
leader it follows, the answers (or failures) straight back into the core, and a timer
for the core's next deadline. Every metadata change that arrives is applied to the
broker core at once.
"""

from __future__ import annotations

import asyncio
import contextlib

from reflog.broker import Forward, Respond, SendToBroker, ToController
from reflog.controller.broker_lifecycle import BrokerLifecycle, BrokerState
from reflog.controller.image import BrokerRegistration
from reflog.net.peer_link import PeerLink
from reflog.net.server import BrokerServer, now_ms
from reflog.outbound import Outbound, OutboundRequests
from reflog.wire.apis import API_TABLE
from reflog.wire.messages.transactions import WriteTxnMarkersRequest
from reflog.wire.schema import Response

__all__ = ["ClusterBroker"]


class ClusterBroker:
    def __init__(
        self,
        server: BrokerServer,
        voters: dict[int, tuple[str, int]],
        heartbeat_interval_ms: int = 2_000,
    ) -> None:
        self.server = server
        self.broker = server.broker
        self.voters = voters
        self.heartbeat_interval_ms = heartbeat_interval_ms
        name = f"broker-{self.broker.config.node_id}"
        self.links = {node: PeerLink(h, p, name) for node, (h, p) in voters.items()}
        self.broker_links: dict[int, PeerLink] = {}  # to the leaders this broker follows
        # Transaction markers go on links of their own (Kafka's TransactionMarkerChannelManager):
        # a broker answers one request of a connection at a time, and a marker waiting for
        # its ISR would otherwise hold back the follower fetch that would complete it.
        self.marker_links: dict[int, PeerLink] = {}
        self.requests: OutboundRequests | None = None
        self.running = asyncio.Event()  # set once the controller has unfenced this broker
        self._timer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False

    async def start(self) -> None:
        """Join the cluster: register, then follow the controller's metadata."""
        config = self.broker.config
        lifecycle = BrokerLifecycle(
            config.node_id,
            config.host,
            config.port,
            list(self.voters),
            now_ms(),
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        self.requests = OutboundRequests(self.broker, lifecycle)
        self.server.on_cluster_action = self._on_cluster_action
        self._do(self.requests.tick(now_ms()))

    async def stop(self) -> None:
        # From now on nothing is sent: closing the links fails what is in flight, and
        # those failures must not wake the core to send anything more.
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        for link in [
            *self.links.values(),
            *self.broker_links.values(),
            *self.marker_links.values(),
        ]:
            await link.close()
        for task in list(self._closing):
            with contextlib.suppress(BaseException):
                await task

    # -- carrying out what the core says ------------------------------------------------
    def _on_cluster_action(self, action: Forward | SendToBroker | ToController) -> None:
        assert self.requests is not None
        self._do(self.requests.deliver(now_ms(), [action]))

    def _do(self, out: list[Respond | Outbound]) -> None:
        assert self.requests is not None
        if self._stopped:
            return
        for item in out:
            if isinstance(item, Outbound):
                self._send(item)
        # Answers to clients; delivering also re-arms the broker's own timer (a follower
        # that found its leader unreachable backs off until then).
        self.server.deliver([item for item in out if isinstance(item, Respond)])
        if self.requests.lifecycle.state == BrokerState.RUNNING:
            self.running.set()
        self._arm()

    def _send(self, outbound: Outbound) -> None:
        markers = isinstance(outbound.request, WriteTxnMarkersRequest)
        link = self._link(outbound.to, self.marker_links if markers else self.broker_links)
        request_id = outbound.request_id

        def answered(result: Response | Exception) -> None:
            assert self.requests is not None
            response = None if isinstance(result, Exception) else result
            self._do(self.requests.on_answer(now_ms(), request_id, response))

        link.request(outbound.request, outbound.timeout_ms / 1000, answered)

    def _link(self, to: int | BrokerRegistration, links: dict[int, PeerLink]) -> PeerLink:
        if isinstance(to, int):
            return self.links[to]
        link = links.get(to.broker_id)
        if link is None or (link.host, link.port) != (to.host, to.port):
            if link is not None:  # the broker came back elsewhere: its old address is dead
                closing = asyncio.create_task(link.close())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            link = PeerLink(
                to.host, to.port, f"replica-{self.broker.config.node_id}", apis=API_TABLE
            )
            links[to.broker_id] = link
        return link

    def _arm(self) -> None:
        """One timer, at the core's next deadline."""
        assert self.requests is not None
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, (self.requests.next_deadline_ms() - now_ms()) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        assert self.requests is not None
        self._timer = None
        self._do(self.requests.tick(now_ms()))
