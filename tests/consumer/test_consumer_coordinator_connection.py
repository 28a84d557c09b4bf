"""A group member reaches its coordinator at the address FindCoordinator gave, on a
connection of its own, even when its metadata does not list that broker (yet)."""

from __future__ import annotations

from reflog.client.actions import Connect, Send
from reflog.consumer import Consumer, ConsumerConfig
from reflog.consumer.consumer import COORDINATOR_CONNECTIONS
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.join_group import JoinGroupRequest
from reflog.wire.messages.metadata import MetadataResponse, MetadataResponseBroker

from .scripted import answer, ready


def test_the_coordinator_is_reached_at_its_address_though_metadata_does_not_name_it() -> None:
    config = ConsumerConfig(bootstrap_servers=(("b1", 1),), group_id="g")
    consumer = Consumer(config)
    consumer.subscribe(["t"])
    [connect] = consumer.tick(0)
    assert isinstance(connect, Connect)
    ready(consumer, -1, 0)
    sent = consumer.network.take_actions()
    [metadata] = [a for a in sent if isinstance(a, Send) and a.header.api_key == 3]
    # Metadata names broker 1 only (broker 7 was down when it was asked).
    only_one = MetadataResponse(brokers=[MetadataResponseBroker(node_id=1, host="b1", port=1)])
    answer(consumer, -1, metadata, only_one, 1)
    actions = consumer.tick(1) + consumer.network.take_actions()
    [find] = [
        a
        for a in sent + actions
        if isinstance(a, Send) and isinstance(a.body, FindCoordinatorRequest)
    ]
    answer(
        consumer, find.node_id, find, FindCoordinatorResponse(node_id=7, host="b7", port=9097), 2
    )
    [to_coordinator] = consumer.tick(2)
    assert to_coordinator == Connect(COORDINATOR_CONNECTIONS - 7, "b7", 9097)
    ready(consumer, COORDINATOR_CONNECTIONS - 7, 3)
    [join] = consumer.network.take_actions()
    assert isinstance(join, Send) and isinstance(join.body, JoinGroupRequest)
