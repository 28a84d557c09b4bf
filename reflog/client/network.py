"""The client side of the protocol: connections, ApiVersions, metadata, in-flight requests.

Kafka's Java client calls this ``NetworkClient`` plus ``Metadata``. A client
knows only bootstrap addresses at first (reflog numbers them -1, -2, ...);
the first Metadata answer names the brokers by id. On every new connection
the client asks ApiVersions (v3, falling back to v0 when the broker answers
UNSUPPORTED_VERSION) and then uses, per API, the highest version both sides
speak.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from reflog.client.actions import ClientAction, Connect, Disconnect, Send
from reflog.wire.apis import API_TABLE
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.schema import Request, Response

__all__ = ["ClientNetwork", "PartitionInfo", "ResponseCallback"]

# Called with the response, or with None and an error code when the request failed
# (disconnect, timeout, no common version).
ResponseCallback = Callable[[Response | None, int], None]

# A request that never reached a broker or got no answer: retriable, like Kafka's
# NetworkException.
NETWORK_EXCEPTION = 13


# Topic errors that say "not yet" rather than "never" (Kafka: InvalidMetadataException).
_NOT_THERE_YET = (ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)


class NodeState(Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    NEGOTIATING = "negotiating"
    READY = "ready"


@dataclass
class _InFlight:
    api_key: int
    version: int
    sent_ms: int
    callback: ResponseCallback
    timeout_ms: int = 0  # longer than request.timeout.ms for this request


@dataclass
class _Node:
    node_id: int
    host: str
    port: int
    state: NodeState = NodeState.DISCONNECTED
    versions: dict[int, int] = field(default_factory=dict)
    waiting: deque[tuple[Request, ResponseCallback, int]] = field(default_factory=deque)
    in_flight: dict[int, _InFlight] = field(default_factory=dict)
    api_versions_version: int = ApiVersionsRequest.MAX_VERSION
    last_failure_ms: int | None = None  # when its connection last failed or timed out


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


class ClientNetwork:
    def __init__(
        self,
        bootstrap: list[tuple[str, int]],
        *,
        client_id: str = "reflog",
        request_timeout_ms: int = 30_000,
        metadata_max_age_ms: int = 300_000,
    ) -> None:
        if not bootstrap:
            raise ValueError("at least one bootstrap server is needed")
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.metadata_max_age_ms = metadata_max_age_ms
        self._nodes: dict[int, _Node] = {
            -(i + 1): _Node(-(i + 1), host, port) for i, (host, port) in enumerate(bootstrap)
        }
        self._correlation_ids = itertools.count(1)
        self._actions: list[ClientAction] = []
        # Metadata: what the last answer said.
        self.brokers: dict[int, tuple[str, int]] = {}
        self.topics: dict[str, list[PartitionInfo]] = {}
        self.topic_errors: dict[str, int] = {}
        self._wanted_topics: set[str] = set()
        self._metadata_in_flight = False
        self._metadata_again = False  # asked for while a request was in flight
        self._metadata_due_ms: int | None = 0
        self.metadata_updated_ms: int | None = None
        # The time of the event being handled, for callbacks that need it.
        self.now_ms = 0

    # -- events from the runtime ------------------------------------------------------
    def connected(self, node_id: int, now_ms: int) -> None:
        self.now_ms = now_ms
        node = self._nodes[node_id]
        node.state = NodeState.NEGOTIATING
        self._send_api_versions(node, now_ms)

    def disconnected(self, node_id: int, now_ms: int) -> None:
        """The connection failed or closed: fail what was in flight; retry later."""
        self.now_ms = now_ms
        node = self._nodes.get(node_id)
        if node is None:
            return
        node.state = NodeState.DISCONNECTED
        node.last_failure_ms = now_ms
        failed = list(node.in_flight.values()) + [
            _InFlight(0, 0, now_ms, cb) for _, cb, _ in node.waiting
        ]
        node.in_flight.clear()
        node.waiting.clear()
        for request in failed:
            request.callback(None, NETWORK_EXCEPTION)

    def response(self, node_id: int, correlation_id: int, body: Response, now_ms: int) -> None:
        self.now_ms = now_ms
        node = self._nodes.get(node_id)
        if node is None:
            return
        request = node.in_flight.pop(correlation_id, None)
        if request is not None:
            request.callback(body, ErrorCode.NONE)

    def expected(self, node_id: int, correlation_id: int) -> tuple[int, int] | None:
        """``(api_key, version)`` of an in-flight request: what a runtime decodes with."""
        request = (
            self._nodes[node_id].in_flight.get(correlation_id) if node_id in self._nodes else None
        )
        return None if request is None else (request.api_key, request.version)

    def tick(self, now_ms: int) -> None:
        self.now_ms = now_ms
        timed_out = [  # the nodes whose oldest request in flight has timed out
            node
            for node in self._nodes.values()
            if node.in_flight and now_ms >= self._oldest_sent_ms(node) + self.request_timeout_ms
        ]
        for node in timed_out:
            expired = [
                c
                for c, r in node.in_flight.items()
                if now_ms - r.sent_ms >= max(r.timeout_ms, self.request_timeout_ms)
            ]
            if not expired:
                continue  # the oldest is a request allowed longer (a JoinGroup)
            for correlation_id in expired:
                node.in_flight.pop(correlation_id).callback(None, ErrorCode.REQUEST_TIMED_OUT)
            # As Kafka's NetworkClient does: a broker that let a request time out is
            # presumed gone; close the connection, so the next metadata request goes
            # elsewhere and a later request reconnects.
            self._actions.append(Disconnect(node.node_id))
            self.disconnected(node.node_id, now_ms)
        if self._metadata_due_ms is not None and now_ms >= self._metadata_due_ms:
            self._request_metadata(now_ms)

    @staticmethod
    def _oldest_sent_ms(node: _Node) -> int:
        """When the oldest request in flight to ``node`` went out. Requests enter
        ``in_flight`` in the order they are sent, at a clock that never goes back, so the
        first is the oldest: the client asks this on every tick, and scanning every
        request each time was a noticeable part of a simulated producer's run."""
        return next(iter(node.in_flight.values())).sent_ms

    def _request_deadline_ms(self, node: _Node) -> int:
        """When the first request in flight to ``node`` times out: the oldest one's
        deadline, unless that has passed and a request allowed longer is what is left."""
        deadline = self._oldest_sent_ms(node) + self.request_timeout_ms
        if deadline > self.now_ms:
            return deadline
        return min(
            r.sent_ms + max(r.timeout_ms, self.request_timeout_ms) for r in node.in_flight.values()
        )

    def take_actions(self) -> list[ClientAction]:
        actions, self._actions = self._actions, []
        return actions

    def next_deadline_ms(self) -> int | None:
        deadlines = [self._request_deadline_ms(n) for n in self._nodes.values() if n.in_flight]
        if self._metadata_due_ms is not None and not self._metadata_in_flight:
            deadlines.append(self._metadata_due_ms)
        return min(deadlines, default=None)

    # -- requests from the client cores -----------------------------------------------
    def request(
        self,
        node_id: int,
        body: Request,
        now_ms: int,
        callback: ResponseCallback,
        *,
        timeout_ms: int = 0,
    ) -> None:
        """Send ``body`` to ``node_id``; ``timeout_ms`` (if above ``request.timeout.ms``) for a
        request a broker may hold longer, as a coordinator holds a JoinGroup."""
        node = self._node_for(node_id)
        if node is None:
            callback(None, ErrorCode.LEADER_NOT_AVAILABLE)
            return
        node.waiting.append((body, callback, timeout_ms))
        self._pump(node, now_ms)

    def add_node(self, node_id: int, host: str, port: int) -> None:
        """Know ``node_id`` by its address, as a FindCoordinator answer gives it (Kafka's
        consumer talks to its coordinator on a connection of its own, numbered
        ``2**31 - 1 - broker id``): metadata may not list that broker yet."""
        node = self._nodes.get(node_id)
        if node is not None and (node.host, node.port) == (host, port):
            return
        if node is not None:
            self._actions.append(Disconnect(node_id))
            self.disconnected(node_id, self.now_ms)
        self._nodes[node_id] = _Node(node_id, host, port)

    def in_flight_count(self, node_id: int) -> int:
        node = self._nodes.get(node_id)
        return 0 if node is None else len(node.in_flight) + len(node.waiting)

    def want_topics(self, topics: set[str], now_ms: int) -> None:
        """Make sure metadata covers ``topics`` (fetching it now if some are new)."""
        if not topics <= self._wanted_topics:
            self._wanted_topics |= topics
            self.request_metadata_update(now_ms)

    def request_metadata_update(self, now_ms: int) -> None:
        if self._metadata_in_flight:
            # The answer on its way was asked before whatever made us want a new one (a
            # topic wanted since, a leader gone): ask again as soon as it comes, as Kafka's
            # Metadata does by comparing request versions.
            self._metadata_again = True
        else:
            self._metadata_due_ms = now_ms

    def partitions(self, topic: str) -> list[PartitionInfo] | None:
        return self.topics.get(topic)

    def leader_for(self, topic: str, partition: int) -> int | None:
        for info in self.topics.get(topic, []):
            if info.partition == partition and info.leader >= 0:
                return info.leader
        return None

    def any_node(self) -> int:
        """A broker to ask cluster-wide questions (Kafka's least-loaded node): a ready one
        if any, else the one whose connection failed longest ago (or never)."""
        known = sorted(self.brokers) or sorted(self._nodes, reverse=True)
        nodes = [n for n in (self._node_for(i) for i in known) if n is not None]
        for node in nodes:
            if node.state == NodeState.READY:
                return node.node_id
        never = -(2**62)
        return min(nodes, key=lambda n: n.last_failure_ms or never).node_id

    # -- internals --------------------------------------------------------------------
    def _node_for(self, node_id: int) -> _Node | None:
        node = self._nodes.get(node_id)
        if node is None and node_id in self.brokers:
            host, port = self.brokers[node_id]
            node = self._nodes[node_id] = _Node(node_id, host, port)
        return node

    def _pump(self, node: _Node, now_ms: int) -> None:
        if node.state == NodeState.DISCONNECTED:
            node.state = NodeState.CONNECTING
            self._actions.append(Connect(node.node_id, node.host, node.port))
            return
        if node.state != NodeState.READY:
            return
        while node.waiting:
            body, callback, timeout_ms = node.waiting.popleft()
            version = node.versions.get(body.API_KEY)
            if version is None:
                callback(None, ErrorCode.UNSUPPORTED_VERSION)
                continue
            self._send(node, body, version, now_ms, callback, timeout_ms)

    def _send(
        self,
        node: _Node,
        body: Request,
        version: int,
        now_ms: int,
        callback: ResponseCallback,
        timeout_ms: int = 0,
    ) -> None:
        correlation_id = next(self._correlation_ids)
        header = RequestHeader(body.API_KEY, version, correlation_id, self.client_id)
        node.in_flight[correlation_id] = _InFlight(
            body.API_KEY, version, now_ms, callback, timeout_ms
        )
        self._actions.append(Send(node.node_id, header, body))

    def _send_api_versions(self, node: _Node, now_ms: int) -> None:
        def on_versions(response: Response | None, error: int) -> None:
            if response is None:
                return  # disconnected: the next request reconnects
            assert isinstance(response, ApiVersionsResponse)
            if (
                response.error_code == ErrorCode.UNSUPPORTED_VERSION
                and node.api_versions_version > 0
            ):
                node.api_versions_version = 0
                self._send_api_versions(node, now_ms)
                return
            node.versions = {}
            for theirs in response.api_keys:
                api = API_TABLE.get(theirs.api_key)
                if api is None:
                    continue
                top = min(api.max_version, theirs.max_version)
                if top >= max(api.min_version, theirs.min_version):
                    node.versions[api.key] = top
            node.state = NodeState.READY
            self._pump(node, now_ms)

        request = ApiVersionsRequest(client_software_name="reflog", client_software_version="0.1.0")
        self._send(node, request, node.api_versions_version, now_ms, on_versions)

    def _request_metadata(self, now_ms: int) -> None:
        self._metadata_due_ms = None
        self._metadata_in_flight = True
        self._metadata_again = False
        topics = [MetadataRequestTopic(name=t) for t in sorted(self._wanted_topics)]

        def on_metadata(response: Response | None, error: int) -> None:
            self._metadata_in_flight = False
            if response is None:
                self._metadata_due_ms = now_ms + 100  # retry.backoff.ms
                return
            assert isinstance(response, MetadataResponse)
            if not response.brokers:
                # A broker that has just started may not know the cluster yet and answer
                # with no brokers at all: Kafka's client ignores such an answer and asks again
                # (kept, it would leave no broker to reach until metadata.max.age.ms).
                self._metadata_due_ms = self.now_ms + 100  # retry.backoff.ms
                return
            self._apply_metadata(response)
            self.metadata_updated_ms = now_ms
            if self._metadata_again:
                self._metadata_due_ms = self.now_ms
            elif any(self.topic_errors.get(t) in _NOT_THERE_YET for t in self._wanted_topics):
                # A wanted topic is missing (perhaps being auto-created by the controller):
                # as Kafka's Metadata does on these retriable errors, ask again soon.
                self._metadata_due_ms = now_ms + 100  # retry.backoff.ms
            else:
                self._metadata_due_ms = now_ms + self.metadata_max_age_ms

        self.request(self.any_node(), MetadataRequest(topics=topics), now_ms, on_metadata)

    def _apply_metadata(self, response: MetadataResponse) -> None:
        self.brokers = {b.node_id: (b.host, b.port) for b in response.brokers}
        for topic in response.topics:
            if topic.name is None:
                continue  # only a topic asked for by id has none; reflog asks by name
            self.topic_errors[topic.name] = topic.error_code
            if topic.error_code == ErrorCode.NONE:
                self.topics[topic.name] = sorted(
                    (
                        PartitionInfo(
                            p.partition_index,
                            p.leader_id,
                            p.leader_epoch,
                            tuple(p.replica_nodes),
                            tuple(p.isr_nodes),
                        )
                        for p in topic.partitions
                    ),
                    key=lambda p: p.partition,
                )
            else:
                self.topics.pop(topic.name, None)
