"""A tiny admin client core: create topics and describe the cluster (``kafka-topics``), and
send any other admin request to a broker (``kafka-configs``, ``kafka-reassign-partitions``...)."""

from __future__ import annotations

from dataclasses import dataclass

from reflog.client.actions import ClientAction
from reflog.client.network import ClientNetwork
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.schema import Request, Response

__all__ = ["Admin", "AdminResult"]


@dataclass(frozen=True)
class AdminResult:
    error_code: int
    message: str | None = None
    metadata: MetadataResponse | None = None
    response: Response | None = None  # the answer to :meth:`Admin.send`


class Admin:
    def __init__(self, bootstrap: list[tuple[str, int]], request_timeout_ms: int = 30_000) -> None:
        self.network = ClientNetwork(
            bootstrap, client_id="reflog-admin", request_timeout_ms=request_timeout_ms
        )
        self.result: AdminResult | None = None
        self._pending: list[tuple[str, object]] = []

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int,
        now_ms: int,
        configs: dict[str, str] | None = None,
    ) -> None:
        request = CreateTopicsRequest(
            topics=[
                CreatableTopic(
                    name=name,
                    num_partitions=partitions,
                    replication_factor=replication_factor,
                    configs=[
                        CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()
                    ],
                )
            ],
            timeout_ms=self.network.request_timeout_ms,
        )
        self.network.request(self.network.any_node(), request, now_ms, self._on_create)

    def describe(self, now_ms: int) -> None:
        # No auto-creation: describing must not create the topics it names.
        request = MetadataRequest(topics=None, allow_auto_topic_creation=False)
        self.network.request(self.network.any_node(), request, now_ms, self._on_metadata)

    def send(self, request: Request, now_ms: int, node_id: int | None = None) -> None:
        """Send ``request`` to broker ``node_id`` (None: any); its answer becomes the result."""
        self.result = None
        target = self.network.any_node() if node_id is None else node_id
        self.network.request(target, request, now_ms, self._on_response)

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

    def _on_response(self, response: Response | None, error: int) -> None:
        self.result = AdminResult(error if response is None else 0, response=response)

    def _on_metadata(self, response: Response | None, error: int) -> None:
        if not isinstance(response, MetadataResponse):
            self.result = AdminResult(error)
            return
        self.result = AdminResult(0, metadata=response)
