"""A consumer asks ListOffsets with its own isolation level, as Kafka's does: the broker then
answers a read_committed consumer's "latest" with the last stable offset, not a high
watermark past an open transaction whose records it would never read."""

from __future__ import annotations

import pytest

from reflog.client.actions import Connect, Send
from reflog.consumer import Consumer, ConsumerConfig
from reflog.topic_partition import TopicPartition
from reflog.wire.messages.list_offsets import ListOffsetsRequest

from .scripted import answer, led_by_broker_1, ready


def reset_request(isolation_level: str) -> ListOffsetsRequest:
    """The ListOffsets a new consumer sends to reset partition t-0 to its latest offset."""
    consumer = Consumer(
        ConsumerConfig(
            bootstrap_servers=(("b", 1),),
            auto_offset_reset="latest",
            isolation_level=isolation_level,
        )
    )
    consumer.assign([TopicPartition("t", 0)], 0)
    consumer.tick(0)
    ready(consumer, -1, 0)
    [metadata] = consumer.network.take_actions()
    answer(consumer, -1, metadata, led_by_broker_1(), 1)
    [connect] = consumer.tick(1)
    assert isinstance(connect, Connect) and connect.node_id == 1
    ready(consumer, 1, 1)
    [request] = [
        a.body
        for a in consumer.network.take_actions()
        if isinstance(a, Send) and isinstance(a.body, ListOffsetsRequest)
    ]
    assert isinstance(request, ListOffsetsRequest)
    return request


@pytest.mark.parametrize(("isolation", "level"), [("read_committed", 1), ("read_uncommitted", 0)])
def test_a_consumer_resets_with_its_own_isolation_level(isolation: str, level: int) -> None:
    request = reset_request(isolation)
    assert request.isolation_level == level
    [topic] = request.topics
    assert [p.timestamp for p in topic.partitions] == [-1]  # latest
