"""Drive a client core's network by hand: connect a node, answer its requests."""

from __future__ import annotations

from reflog.client.actions import ClientAction, Send
from reflog.consumer import Consumer
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsResponse
from reflog.wire.messages.metadata import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from reflog.wire.schema import Response

# Fetch, ListOffsets, Metadata, FindCoordinator, JoinGroup, ApiVersions: up to these versions.
HIGHEST = {1: 11, 2: 5, 3: 4, 10: 2, 11: 5, 18: 0}


def answer(consumer: Consumer, node: int, action: ClientAction, body: Response, at: int) -> None:
    assert isinstance(action, Send)
    consumer.network.response(node, action.header.correlation_id, body, at)


def ready(consumer: Consumer, node: int, at: int) -> None:
    """Connect ``node`` and answer its ApiVersions."""
    consumer.network.connected(node, at)
    [versions] = consumer.network.take_actions()
    offer = [ApiVersion(api_key=k, min_version=0, max_version=v) for k, v in HIGHEST.items()]
    answer(consumer, node, versions, ApiVersionsResponse(error_code=0, api_keys=offer), at)


def led_by_broker_1(topic: str = "t") -> MetadataResponse:
    """Metadata: broker 1 at b:1 leads partition 0 of ``topic``."""
    return MetadataResponse(
        brokers=[MetadataResponseBroker(node_id=1, host="b", port=1)],
        topics=[
            MetadataResponseTopic(
                error_code=0,
                name=topic,
                partitions=[
                    MetadataResponsePartition(error_code=0, partition_index=0, leader_id=1)
                ],
            )
        ],
    )
