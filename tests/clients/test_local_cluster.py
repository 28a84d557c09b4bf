"""A whole cluster inside one event loop (what the zero-copy notebook runs in its kernel):
aiokafka, on the same loop, produces with acks=all to a topic with three replicas and reads
it back; the leader served both the consumer and its two followers with sendfile."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reflog.net.local_cluster import LocalCluster
from reflog.topic_partition import TopicPartition

from .conftest import require

pytestmark = pytest.mark.clients

N = 200
VALUE = b"x" * 1_000


def leader_of(cluster: LocalCluster, topic: str) -> int:
    state = cluster.server(1).broker.image.partition(TopicPartition(topic, 0))
    assert state is not None
    return state.leader


async def produce(cluster: LocalCluster, topic: str, count: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(count):
            await producer.send(topic, key=b"%d" % i, value=VALUE, partition=0)
        await producer.flush()
    finally:
        await producer.stop()


async def consume(cluster: LocalCluster, topic: str, count: int) -> list[int]:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as Tp

    consumer = AIOKafkaConsumer(
        bootstrap_servers=cluster.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    offsets: list[int] = []
    try:
        consumer.assign([Tp(topic, 0)])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + 20
        while len(offsets) < count and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                offsets += [m.offset for m in messages]
    finally:
        await consumer.stop()
    return offsets


def test_the_leader_sends_to_its_consumer_and_its_followers_with_sendfile(tmp_path: Path) -> None:
    require(importlib.util.find_spec("aiokafka") is not None, "aiokafka")

    async def scenario() -> None:
        cluster = LocalCluster(brokers=3, data_dir=tmp_path)
        await cluster.start()
        try:
            await cluster.create_topic("clicks", partitions=1, replication_factor=3)
            leader = leader_of(cluster, "clicks")
            await produce(cluster, "clicks", N)
            assert await consume(cluster, "clicks", N) == list(range(N))
            log = cluster.server(leader).broker.logs.get(TopicPartition("clicks", 0))
            assert log is not None
            stored = log.size_in_bytes
            stats = {b: cluster.sendfile_bytes(b) for b in cluster.brokers}
            # acks=all came back: both followers have fetched every batch from the leader.
            assert stats[leader].follower_sendfile_bytes >= 2 * stored
            assert stats[leader].consumer_sendfile_bytes >= stored
            assert stats[leader].copied_bytes == 0
            for b, s in stats.items():  # followers serve no one
                if b != leader:
                    assert s.consumer_sendfile_bytes == s.follower_sendfile_bytes == 0
        finally:
            await cluster.stop()

    asyncio.run(scenario())


def test_a_killed_leader_is_replaced_and_catches_up_when_restarted(tmp_path: Path) -> None:
    require(importlib.util.find_spec("aiokafka") is not None, "aiokafka")

    async def scenario() -> None:
        cluster = LocalCluster(
            brokers=3,
            data_dir=tmp_path,
            broker_heartbeat_interval_ms=100,
            broker_session_timeout_ms=1_000,
        )
        await cluster.start()
        try:
            await cluster.create_topic("orders", partitions=1, replication_factor=3)
            first = leader_of(cluster, "orders")
            await produce(cluster, "orders", 10)
            await cluster.kill_broker(first)
            survivor = next(b for b in cluster.brokers if b != first)
            await until(lambda: led_by_other(cluster, survivor, first), 10)
            await produce(cluster, "orders", 10)
            await cluster.restart_broker(first)
            # Back in the ISR: it fetched the ten records it missed.
            await until(lambda: in_isr(cluster, first), 10)
            assert await consume(cluster, "orders", 20) == list(range(20))
        finally:
            await cluster.stop()

    asyncio.run(scenario())


def led_by_other(cluster: LocalCluster, asker: int, gone: int) -> bool:
    state = cluster.server(asker).broker.image.partition(TopicPartition("orders", 0))
    return state is not None and state.leader not in (-1, gone)


def in_isr(cluster: LocalCluster, broker: int) -> bool:
    state = cluster.server(broker).broker.image.partition(TopicPartition("orders", 0))
    return state is not None and broker in state.isr


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)  # a poll interval; the deadline decides
