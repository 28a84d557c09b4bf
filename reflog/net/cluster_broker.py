"""A broker process in a cluster: the broker server plus its link to the controllers.

Beside the :class:`BrokerServer` that serves clients, a loop drives the broker's
:class:`BrokerLifecycle` (register, heartbeat, follow the metadata log) and its
:class:`ForwardQueue` (CreateTopics sent on to the active controller). Every
metadata change that arrives is applied to the broker core at once. Follower
fetches go to the leaders' Kafka listeners, ISR changes to the active controller.
"""

from __future__ import annotations

import asyncio
import contextlib

from reflog.broker import Forward, SendToBroker, ToController
from reflog.controller.broker_lifecycle import BrokerLifecycle, BrokerState
from reflog.controller.forwarding import ForwardQueue
from reflog.net.peer_link import PeerLink
from reflog.net.server import BrokerServer, now_ms
from reflog.wire.apis import API_TABLE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
from reflog.wire.messages.quorum import (
    AlterPartitionResponse,
    BrokerHeartbeatRequest,
    BrokerHeartbeatResponse,
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
)
from reflog.wire.schema import Response

__all__ = ["ClusterBroker"]

REPLICA_TIMEOUT_MS = 1_000  # beyond replica.fetch.wait.max.ms, before a leader counts as gone


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
        self.forwards = ForwardQueue()
        self.lifecycle: BrokerLifecycle | None = None
        self._wake = asyncio.Event()
        self.running = asyncio.Event()  # set once the controller has unfenced this broker
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._stopped = False

    async def start(self) -> None:
        """Join the cluster: from now on the broker answers from the controller's metadata."""
        now = now_ms()
        config = self.broker.config
        self.lifecycle = BrokerLifecycle(
            config.node_id,
            config.host,
            config.port,
            list(self.voters),
            now,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        self.server.on_cluster_action = self._on_cluster_action
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        # As Kafka stops its replica fetchers before its socket server: from now on the
        # core's requests to other nodes (a follower's next fetch) are not sent.
        self._stopped = True
        for task in [self._task, *self._calls]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        for link in [*self.links.values(), *self.broker_links.values()]:
            await link.close()

    def _on_cluster_action(self, action: Forward | SendToBroker | ToController) -> None:
        if self._stopped:
            return
        if isinstance(action, Forward):
            self.forwards.add(now_ms(), action)
            self._wake.set()
            return
        lifecycle = self.lifecycle
        assert lifecycle is not None
        timeout_s = (self.broker.config.replica_fetch_wait_max_ms + REPLICA_TIMEOUT_MS) / 1000
        if isinstance(action, SendToBroker):
            link = self._broker_link(action.broker_id)
            if link is None:
                self.broker.on_broker_unreachable(action.broker_id, now_ms())
                self.server.deliver([])  # re-arm the broker's timer for the end of the backoff
                return
        else:
            link = self.links[lifecycle.controller_id]
        link.request(action.request, timeout_s, lambda result: self._answered(action, result))

    def _answered(self, action: SendToBroker | ToController, result: Response | Exception) -> None:
        """A leader's or the controller's answer (or its failure), straight into the core."""
        if isinstance(action, SendToBroker):
            if isinstance(result, Exception):
                self.broker.on_broker_unreachable(action.broker_id, now_ms())
                self.server.deliver([])  # re-arm the broker's timer for the end of the backoff
                return
            actions = self.broker.on_broker_response(action.broker_id, result, now_ms())
        else:
            answer = result
            if not isinstance(answer, AlterPartitionResponse):
                answer = AlterPartitionResponse(error_code=ErrorCode.REQUEST_TIMED_OUT)
            actions = self.broker.on_alter_partition_response(answer, action.request, now_ms())
        self.server.deliver(actions)

    def _broker_link(self, broker_id: int) -> PeerLink | None:
        assert self.lifecycle is not None
        registration = self.lifecycle.image.brokers.get(broker_id)
        if registration is None:
            return None
        link = self.broker_links.get(broker_id)
        if link is None or (link.host, link.port) != (registration.host, registration.port):
            if link is not None:  # the broker came back elsewhere: its old address is dead
                self._track(asyncio.create_task(link.close()))
            link = PeerLink(
                registration.host,
                registration.port,
                f"replica-{self.broker.config.node_id}",
                apis=API_TABLE,
            )
            self.broker_links[broker_id] = link
        return link

    async def _run(self) -> None:
        lifecycle = self.lifecycle
        assert lifecycle is not None
        while True:
            now = now_ms()
            for out in lifecycle.tick(now):
                self._call(out.controller_id, out.request)
            for forward_id, request in self.forwards.to_send(lifecycle.controller_id):
                self._call(lifecycle.controller_id, request, forward_id)
            self.server.deliver(list(self.forwards.expired(now)))
            deadline = lifecycle.next_deadline_ms()
            forward_deadline = self.forwards.next_deadline_ms()
            if forward_deadline is not None:
                deadline = min(deadline, forward_deadline)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, (deadline - now_ms()) / 1000))

    def _call(
        self,
        controller: int,
        request: BrokerRegistrationRequest | BrokerHeartbeatRequest | CreateTopicsRequest,
        forward_id: int | None = None,
    ) -> None:
        self._track(asyncio.create_task(self._exchange(controller, request, forward_id)))

    def _track(self, task: asyncio.Task[None]) -> None:
        """Keep a reference until it is done, and cancel it on stop()."""
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _exchange(
        self,
        controller: int,
        request: BrokerRegistrationRequest | BrokerHeartbeatRequest | CreateTopicsRequest,
        forward_id: int | None,
    ) -> None:
        lifecycle = self.lifecycle
        assert lifecycle is not None
        try:
            response = await self.links[controller].call(
                request, timeout_s=lifecycle.request_timeout_ms / 1000
            )
        except (ConnectionError, TimeoutError):
            if forward_id is not None:
                lifecycle.request_metadata_soon(now_ms())
                self.forwards.resend(forward_id)
            return  # the lifecycle notices the missing answer by its own timeout
        now = now_ms()
        if isinstance(response, BrokerRegistrationResponse):
            lifecycle.on_registration(now, response)
        elif isinstance(response, BrokerHeartbeatResponse):
            if lifecycle.on_heartbeat(now, response):
                self.server.deliver(self.broker.apply_metadata(lifecycle.image, now))
            if lifecycle.state == BrokerState.RUNNING:
                self.running.set()
        elif isinstance(response, CreateTopicsResponse) and forward_id is not None:
            lifecycle.request_metadata_soon(now)
            self.server.deliver(list(self.forwards.answered(forward_id, response)))
        self._wake.set()
