"""A broker's requests to other nodes: what it sent, to whom, until when, and where each
answer goes. One pure core that both runtimes drive, so they cannot drift apart.

A broker asks other nodes four kinds of things: its :class:`BrokerLifecycle` registers
and heartbeats with the active controller, :class:`ForwardQueue` forwards CreateTopics
to it (KIP-590), leaders get AlterPartition (ISR changes) through it, and a follower
fetches from its leaders (:class:`SendToBroker`). :class:`OutboundRequests` gives each
request an id and a deadline and hands the runtime an :class:`Outbound` to send; the
runtime comes back with the answer, or with ``None`` when the node could not be reached
(a refused connection, a broken one), and calls :meth:`OutboundRequests.tick` when
:meth:`OutboundRequests.next_deadline_ms` comes due. Every request ends exactly once:
answered, failed, or expired, and a failure is handled like an expiry (Kafka's
``NetworkClient`` treats a disconnect and a request timeout alike).

What the runtimes keep: how to reach a node (the simulation sends to a node's name,
the network runtime keeps a connection per node) and what to send to clients.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from reflog.broker import Broker
from reflog.broker_actions import Action, Forward, Respond, SendToBroker, ToController
from reflog.controller.admin import ADMIN_RESPONSES
from reflog.controller.broker_lifecycle import BrokerLifecycle, BrokerState
from reflog.controller.forwarding import ForwardQueue
from reflog.controller.image import BrokerRegistration
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.quorum import (
    AllocateProducerIdsRequest,
    AllocateProducerIdsResponse,
    AlterPartitionResponse,
    BrokerHeartbeatResponse,
    BrokerRegistrationResponse,
)
from reflog.wire.schema import Request, Response

__all__ = ["Outbound", "OutboundRequests"]

# How long past what the other side may hold a request (a leader holds a follower's fetch
# up to replica.fetch.wait.max.ms) before its silence counts as unreachable.
REQUEST_TIMEOUT_MS = 1_000


@dataclass(frozen=True)
class Outbound:
    """Send ``request`` now to ``to``: a controller by node id (the runtime knows the
    voters' addresses, controller.quorum.voters) or a broker as the metadata registers
    it (its Kafka listener). The answer goes to :meth:`OutboundRequests.on_answer` with
    ``request_id``; ``timeout_ms`` is how long the runtime may wait for it."""

    request_id: int
    to: int | BrokerRegistration
    request: Request
    timeout_ms: int


@dataclass(frozen=True)
class _Lifecycle:
    """A registration or heartbeat: the lifecycle keeps its own timeout."""


@dataclass(frozen=True)
class _Forwarded:
    forward_id: int


_Purpose = _Lifecycle | _Forwarded | SendToBroker | ToController


@dataclass(frozen=True)
class _InFlight:
    purpose: _Purpose
    deadline_ms: int


class OutboundRequests:
    def __init__(
        self, broker: Broker, lifecycle: BrokerLifecycle, ids: Iterator[int] | None = None
    ) -> None:
        self.broker = broker
        self.lifecycle = lifecycle
        self.forwards = ForwardQueue()
        self.in_flight: dict[int, _InFlight] = {}
        self._ids = itertools.count(1) if ids is None else ids

    # -- entry points -----------------------------------------------------------------
    def deliver(self, now_ms: int, actions: list[Action]) -> list[Respond | Outbound]:
        """Carry out the broker's actions: answers to clients pass through, in order;
        requests for other nodes become :class:`Outbound` sends."""
        out: list[Respond | Outbound] = []
        for action in actions:
            if isinstance(action, Respond):
                out.append(action)
            elif isinstance(action, Forward):
                self.forwards.add(now_ms, action)
            elif isinstance(action, SendToBroker):
                leader = self.lifecycle.image.brokers.get(action.broker_id)
                if leader is None:  # not registered: nowhere to send it
                    self.broker.on_broker_unreachable(action.broker_id, now_ms)
                    continue
                # A leader holds a follower's fetch up to replica.fetch.wait.max.ms.
                wait = self.broker.config.replica_fetch_wait_max_ms + REQUEST_TIMEOUT_MS
                out.append(self._send(now_ms, leader, action.request, action, wait))
            else:
                controller = self.lifecycle.controller_id
                out.append(
                    self._send(now_ms, controller, action.request, action, REQUEST_TIMEOUT_MS)
                )
        # Forwards not yet sent to the controller the lifecycle names (new, or resent).
        controller = self.lifecycle.controller_id
        for forward_id, request in self.forwards.to_send(controller):
            timeout = self.lifecycle.request_timeout_ms
            out.append(self._send(now_ms, controller, request, _Forwarded(forward_id), timeout))
        return out

    def tick(self, now_ms: int, actions: list[Action] | None = None) -> list[Respond | Outbound]:
        """What is due: requests past their deadline fail, the lifecycle's next request,
        forwards whose client gave up. ``actions`` (the broker's own tick, if the runtime
        ticks both at once) are carried out with them."""
        todo = list(actions or []) + self._expire(now_ms)
        timeout = self.lifecycle.request_timeout_ms
        sends: list[Respond | Outbound] = [
            self._send(now_ms, r.controller_id, r.request, _Lifecycle(), timeout)
            for r in self.lifecycle.tick(now_ms)
        ]
        todo += self.forwards.expired(now_ms)
        return sends + self.deliver(now_ms, todo)

    def on_answer(
        self, now_ms: int, request_id: int, response: Response | None
    ) -> list[Respond | Outbound]:
        """The answer to request ``request_id``; None if the node could not be reached.
        An answer after the request expired is dropped, as a closed socket's would be."""
        flight = self.in_flight.pop(request_id, None)
        if flight is None:
            return []
        if response is None:
            return self.deliver(now_ms, self._failed(now_ms, flight.purpose))
        return self.deliver(now_ms, self._answered(now_ms, flight.purpose, response))

    def next_deadline_ms(self) -> int:
        # Asked after every message the broker handles: usually nothing is in flight.
        deadline = self.lifecycle.next_deadline_ms()
        if self.in_flight:
            deadline = min(deadline, *(f.deadline_ms for f in self.in_flight.values()))
        forward = self.forwards.next_deadline_ms()
        if forward is not None and forward < deadline:
            deadline = forward
        return deadline

    # -- internals --------------------------------------------------------------------
    def _send(
        self, now_ms: int, to: int | BrokerRegistration, request: Request, purpose: _Purpose,
        timeout_ms: int,
    ) -> Outbound:  # fmt: skip
        request_id = next(self._ids)
        self.in_flight[request_id] = _InFlight(purpose, now_ms + timeout_ms)
        return Outbound(request_id, to, request, timeout_ms)

    def _answered(self, now_ms: int, purpose: _Purpose, response: Response) -> list[Action]:
        if isinstance(purpose, SendToBroker):
            return self.broker.on_broker_response(purpose.broker_id, response, now_ms)
        if isinstance(purpose, ToController):
            if isinstance(purpose.request, AllocateProducerIdsRequest):
                if not isinstance(response, AllocateProducerIdsResponse):
                    return self._failed(now_ms, purpose)
                return self.broker.on_allocate_producer_ids_response(response, now_ms)
            if not isinstance(response, AlterPartitionResponse):
                return self._failed(now_ms, purpose)
            return self.broker.on_alter_partition_response(response, purpose.request, now_ms)
        if isinstance(purpose, _Forwarded):
            self.lifecycle.request_metadata_soon(now_ms)  # to learn of the topic at once
            if not isinstance(response, ADMIN_RESPONSES):
                return self._failed(now_ms, purpose)
            return list(self.forwards.answered(purpose.forward_id, response))
        if isinstance(response, BrokerRegistrationResponse):
            self.lifecycle.on_registration(now_ms, response)
            return []
        if not isinstance(response, BrokerHeartbeatResponse):
            return []
        changed = self.lifecycle.on_heartbeat(now_ms, response)
        actions = self.broker.apply_metadata(self.lifecycle.image, now_ms) if changed else []
        if self.lifecycle.state == BrokerState.RUNNING:
            # Unfenced: the image holds everything up to this incarnation's registration.
            self.broker.remove_stray_logs()
        return actions

    def _failed(self, now_ms: int, purpose: _Purpose) -> list[Action]:
        """No answer: the node is down, cut off, or too slow."""
        if isinstance(purpose, SendToBroker):
            self.broker.on_broker_unreachable(purpose.broker_id, now_ms)  # it backs off
            return []
        if isinstance(purpose, ToController):
            if isinstance(purpose.request, AllocateProducerIdsRequest):
                # A block committed but never answered is simply never used.
                lost = AllocateProducerIdsResponse(error_code=ErrorCode.REQUEST_TIMED_OUT)
                return self.broker.on_allocate_producer_ids_response(lost, now_ms)
            # The ISR change may still commit: the leader keeps it pending and asks again.
            timed_out = AlterPartitionResponse(error_code=ErrorCode.REQUEST_TIMED_OUT)
            return self.broker.on_alter_partition_response(timed_out, purpose.request, now_ms)
        if isinstance(purpose, _Forwarded):
            # Send it again, to whichever controller the lifecycle names by then.
            self.lifecycle.request_metadata_soon(now_ms)
            self.forwards.resend(purpose.forward_id)
        return []  # the lifecycle notices a missing answer by its own timeout

    def _expire(self, now_ms: int) -> list[Action]:
        actions: list[Action] = []
        for request_id, flight in list(self.in_flight.items()):
            if flight.deadline_ms <= now_ms:
                del self.in_flight[request_id]
                actions += self._failed(now_ms, flight.purpose)
        return actions
