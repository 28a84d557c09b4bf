"""The transactional producer's side, driven by hand: the test plays the brokers."""

from __future__ import annotations

import random

from reflog.client.actions import ClientAction, Connect, Send
from reflog.producer import Producer, ProducerConfig
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.init_producer_id import InitProducerIdRequest
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.schema import Response

# Metadata, FindCoordinator, InitProducerId.
OFFER = [ApiVersion(api_key=k, min_version=0, max_version=v) for k, v in ((3, 8), (10, 3), (22, 2))]


def answer(producer: Producer, request: ClientAction, body: Response, now_ms: int) -> None:
    assert isinstance(request, Send)
    producer.network.response(request.node_id, request.header.correlation_id, body, now_ms)


def connect(producer: Producer, node_id: int, now_ms: int) -> None:
    """The connection is up and ApiVersions answered."""
    producer.network.connected(node_id, now_ms)
    [versions] = producer.tick(now_ms)
    assert isinstance(versions, Send) and isinstance(versions.body, ApiVersionsRequest)
    answer(producer, versions, ApiVersionsResponse(error_code=0, api_keys=OFFER), now_ms)


def test_the_transaction_coordinator_is_reached_at_the_address_find_coordinator_gave() -> None:
    # The broker asked for metadata had just restarted and listed no broker; the coordinator
    # FindCoordinator names must still be reached (seed 42 of the transaction fault test
    # sat in InitProducerId, its coordinator unknown to metadata, for metadata.max.age.ms).
    config = ProducerConfig(bootstrap_servers=(("b", 1),), transactional_id="t")
    producer = Producer(config, random.Random(0))
    producer.init_transactions()
    assert producer.tick(0) == [Connect(-1, "b", 1)]
    connect(producer, -1, 0)
    asked = {type(a.body): a for a in producer.tick(1) if isinstance(a, Send)}
    answer(producer, asked[MetadataRequest], MetadataResponse(), 2)
    find = asked[FindCoordinatorRequest]
    answer(producer, find, FindCoordinatorResponse(node_id=2, host="coordinator", port=2), 2)
    assert producer.tick(3) == [Connect(2, "coordinator", 2)]
    connect(producer, 2, 3)
    [init] = producer.tick(4)
    assert isinstance(init, Send) and isinstance(init.body, InitProducerIdRequest)
    assert init.node_id == 2
