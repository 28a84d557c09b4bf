"""The cluster's own client node: it sends requests to brokers as a Kafka client would.

:class:`~reflog.sim.cluster.Cluster` creates topics, asks for metadata and sends
single produce requests through it (a test's or a notebook's "produce 5 records
with acks=all" button), so every one of them is a real request on the simulated
network, answered by the broker's real request handling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reflog.sim.kafka_nodes import SimRequest, SimResponse
from reflog.sim.node import NodeContext
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.schema import Request, Response

__all__ = ["ACKS", "ADMIN_NODE", "AdminNode", "ProduceResult"]

ADMIN_NODE = "admin"
ACKS = {0: "0", 1: "1", -1: "all"}


@dataclass
class ProduceResult:
    """One produce request and, once it came, its answer (filled in as the run goes on)."""

    broker: int
    acks: int
    count: int
    sent_ms: int
    answered_ms: int | None = None
    error_code: int | None = None  # None while unanswered (always, for acks=0)
    base_offset: int = -1

    @property
    def error(self) -> str:
        """The Kafka error name ("NONE" on success), or "" while unanswered."""
        return "" if self.error_code is None else ErrorCode(self.error_code).name

    @property
    def latency_ms(self) -> int | None:
        return None if self.answered_ms is None else self.answered_ms - self.sent_ms

    def describe(self) -> str:
        what = f"{self.count} record(s) to broker-{self.broker}, acks={ACKS[self.acks]}"
        if self.acks == 0:
            return f"t = {self.sent_ms} ms: {what}: sent, no answer asked for"
        if self.answered_ms is None:
            return f"t = {self.sent_ms} ms: {what}: waiting"
        result = f"offset {self.base_offset}" if self.error == "NONE" else self.error
        return f"t = {self.sent_ms} ms: {what}: {result} after {self.latency_ms} ms"


class AdminNode:
    """Sends requests and hands each answer to the callback given with its request."""

    def __init__(self, name: str = ADMIN_NODE) -> None:
        self.name = name
        self.ctx: NodeContext | None = None
        self._correlation = 0
        self._waiting: dict[int, Callable[[Response], None]] = {}

    def start(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    def crash(self) -> None:
        self.ctx = None
        self._waiting.clear()

    def send(
        self, dst: str, body: Request, version: int, on_answer: Callable[[Response], None]
    ) -> int:
        """Send ``body`` to node ``dst``; ``on_answer`` gets the response. The correlation id."""
        assert self.ctx is not None, "the admin node is down"
        self._correlation += 1
        header = RequestHeader(body.API_KEY, version, self._correlation, self.name)
        self._waiting[self._correlation] = on_answer
        self.ctx.send(dst, SimRequest(header, body))
        return self._correlation

    def forget(self, correlation: int) -> None:
        """Stop waiting for an answer that will not come (acks=0)."""
        self._waiting.pop(correlation, None)

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        if isinstance(payload, SimResponse):
            callback = self._waiting.pop(payload.correlation_id, None)
            if callback is not None:
                callback(payload.body)

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        pass
