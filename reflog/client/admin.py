"""A tiny admin client core: create topics and describe the cluster (``kafka-topics``)."""

from __future__ import annotations

from dataclasses import dataclass

from reflog.client.actions import ClientAction
from reflog.client.network import ClientNetwork
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.schema import Response

__all__ = ["Admin", "AdminResult"]


@dataclass(frozen=True)
class AdminResult:
    error_code: int
    message: str | None = None
    metadata: MetadataResponse | None = None


class Admin:
    def __init__(self, bootstrap: list[tuple[str, int]], request_timeout_ms: int = 30_000) -> None:
        self.network = ClientNetwork(
            bootstrap, client_id="reflog-admin", request_timeout_ms=request_timeout_ms
        )
        self.result: AdminResult | None = None
        self._pending: list[tuple[str, object]] = []

    def create_topic(
        self, name: str, partitions: int, replication_factor: int, now_ms: int
    ) -> None:
        request = CreateTopicsRequest(
            topics=[
                CreatableTopic(
                    name=name, num_partitions=partitions, replication_factor=replication_factor
                )
            ],
            timeout_ms=self.network.request_timeout_ms,
        )
        self.network.request(self.network.any_node(), request, now_ms, self._on_create)

    def describe(self, now_ms: int) -> None:
        # No auto-creation: describing must not create the topics it names.
        request = MetadataRequest(topics=None, allow_auto_topic_creation=False)
        self.network.request(self.network.any_node(), request, now_ms, self._on_metadata)

    def tick(self, now_ms: int) -> list[ClientAction]:
        self.network.tick(now_ms)
        return self.network.take_actions()

    def next_deadline_ms(self) -> int | None:
        return self.network.next_deadline_ms()

    def _on_create(self, response: Response | None, error: int) -> None:
        if not isinstance(response, CreateTopicsResponse):
            self.result = AdminResult(error)
            return
        [topic] = response.topics
        self.result = AdminResult(topic.error_code, topic.error_message)

    def _on_metadata(self, response: Response | None, error: int) -> None:
        if not isinstance(response, MetadataResponse):
            self.result = AdminResult(error)
            return
        self.result = AdminResult(0, metadata=response)
