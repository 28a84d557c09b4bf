"""A broker process in a cluster: the broker server plus its link to the controllers.

Beside the :class:`BrokerServer` that serves clients, a loop drives the broker's
:class:`BrokerLifecycle` (register, heartbeat, follow the metadata log) and its
:class:`ForwardQueue` (CreateTopics sent on to the active controller). Every
metadata change that arrives is applied to the broker core at once.
"""

from __future__ import annotations

import asyncio
import contextlib

from reflog.broker import Forward
from reflog.controller.broker_lifecycle import BrokerLifecycle
from reflog.controller.forwarding import ForwardQueue
from reflog.controller.image import MetadataImage
from reflog.net.peer_link import PeerLink
from reflog.net.server import BrokerServer, now_ms
from reflog.wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
from reflog.wire.messages.quorum import (
    BrokerHeartbeatRequest,
    BrokerHeartbeatResponse,
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
)

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
        self.forwards = ForwardQueue()
        self.lifecycle: BrokerLifecycle | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Join the cluster: from now on the broker answers from the controller's metadata."""
        now = now_ms()
        self.broker.apply_metadata(MetadataImage(), now)  # no standalone moment, even at start
        config = self.broker.config
        self.lifecycle = BrokerLifecycle(
            config.node_id,
            config.host,
            config.port,
            list(self.voters),
            now,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        self.server.on_forward = self._on_forward
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        for task in [self._task, *self._calls]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        for link in self.links.values():
            await link.close()

    def _on_forward(self, forward: Forward) -> None:
        self.forwards.add(now_ms(), forward)
        self._wake.set()

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
        task = asyncio.create_task(self._exchange(controller, request, forward_id))
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
                self.broker.apply_metadata(lifecycle.image, now)
        elif isinstance(response, CreateTopicsResponse) and forward_id is not None:
            lifecycle.request_metadata_soon(now)
            self.server.deliver(list(self.forwards.answered(forward_id, response)))
        self._wake.set()
