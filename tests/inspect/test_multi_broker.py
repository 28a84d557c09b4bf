"""In front of one broker of a three-broker cluster, the inspector still sees everything: each
broker Metadata names gets a listener of the inspector's own, so a producer writing to
partitions led by all three brokers sends every Produce through it."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from reflog.net.local_cluster import LocalCluster
from reflog.topic_partition import TopicPartition

from .test_real_clients import InspectorThread, produced_values

pytestmark = pytest.mark.clients
T = TypeVar("T")


class ClusterThread:
    """A LocalCluster of three brokers on an event loop of its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.cluster = LocalCluster(brokers=3)
        self.run(self.cluster.start())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def close(self) -> None:
        self.run(self.cluster.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def cluster() -> Iterator[ClusterThread]:
    running = ClusterThread()
    try:
        yield running
    finally:
        running.close()


def test_a_producer_reaches_every_leader_through_the_inspector(cluster: ClusterThread) -> None:
    if importlib.util.find_spec("confluent_kafka") is None:
        pytest.fail("confluent-kafka is missing")
    import confluent_kafka

    cluster.run(cluster.cluster.create_topic("spread", partitions=3, replication_factor=1))
    first = ("127.0.0.1", cluster.cluster.brokers[1].port)
    image = cluster.cluster.server(1).broker.image
    assert image is not None
    leaders = {}
    for p in range(3):
        state = image.partition(TopicPartition("spread", p))
        assert state is not None
        leaders[p] = state.leader
    assert len(set(leaders.values())) > 1, f"the test needs leaders on several brokers: {leaders}"
    inspector = InspectorThread(first)
    try:
        producer = confluent_kafka.Producer({"bootstrap.servers": inspector.bootstrap})
        delivered: list[object] = []
        for partition in range(3):
            for i in range(4):
                producer.produce(
                    "spread",
                    value=b"%d-%d" % (partition, i),
                    partition=partition,
                    on_delivery=lambda err, msg: delivered.append(err),
                )
        assert producer.flush(30) == 0
        assert delivered == [None] * 12
        events = inspector.seen()
        assert produced_values(events, "spread") == 12  # no Produce went around the inspector
        brokers = {("127.0.0.1", n.port) for n in cluster.cluster.brokers.values()}
        assert brokers <= set(inspector.inspector.routes)  # a listener for each broker
        produce_connections = {e.connection for e in events if e.api == "Produce"}
        assert len(produce_connections) == len(set(leaders.values()))
    finally:
        inspector.close()
