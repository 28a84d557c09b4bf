"""Each broker counts the record bytes it sends by sendfile to followers and to consumers
apart, and the bytes it copies through Python when switched to read-then-send.

A 3-broker cluster in this process, real TCP, reflog's own producer and consumer: with
acks=all a record is acknowledged once both followers fetched it, so the leader has then
sent its log twice to followers and nothing to consumers; a consumer reading it all adds
the log once to the consumer count.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from reflog.consumer import Consumer, ConsumerConfig
from reflog.net.client import ClientRunner, now_ms, parse_bootstrap
from reflog.net.local_cluster import LocalCluster
from reflog.net.server import SendStats
from reflog.producer import Producer, ProducerConfig
from reflog.topic_partition import TopicPartition

TP = TopicPartition("t", 0)
RECORDS = 200


async def produce(cluster: LocalCluster) -> None:
    servers = tuple(parse_bootstrap(cluster.bootstrap_servers))
    producer = Producer(ProducerConfig(bootstrap_servers=servers, acks=-1), random.Random(1))
    runner = ClientRunner(producer)
    for i in range(RECORDS):
        producer.send("t", bytes(500), key=b"%d" % i, partition=0, now_ms=now_ms())
    producer.flush()
    try:
        assert await runner.run_until(lambda: producer.pending_count == 0, 20)
        assert all(r.error == 0 for r in producer.take_results())
    finally:
        await runner.close()


async def consume_everything(cluster: LocalCluster) -> None:
    servers = tuple(parse_bootstrap(cluster.bootstrap_servers))
    consumer = Consumer(ConsumerConfig(bootstrap_servers=servers))
    consumer.assign([TP], now_ms())
    consumer.seek(TP, 0)
    runner = ClientRunner(consumer)
    got: list[int] = []

    def caught_up() -> bool:
        got.extend(r.offset for r in consumer.poll())
        return len(got) >= RECORDS

    try:
        assert await runner.run_until(caught_up, 20)
    finally:
        await runner.close()
    assert got == list(range(RECORDS))


def leader_and_log_size(cluster: LocalCluster) -> tuple[int, int]:
    leader = cluster.server(1).broker.image.topics["t"].partitions[0].leader
    log = cluster.server(leader).broker.logs.get(TP)
    assert log is not None
    return leader, log.size_in_bytes


def counts(cluster: LocalCluster) -> dict[int, SendStats]:
    return {b: SendStats(**vars(cluster.sendfile_bytes(b))) for b in cluster.brokers}


def test_follower_fetches_count_as_follower_bytes_and_a_consumer_fetch_as_consumer_bytes(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        cluster = LocalCluster(brokers=3, data_dir=tmp_path)
        await cluster.start()
        try:
            await cluster.create_topic("t", 1, 3)
            await produce(cluster)
            leader, size = leader_and_log_size(cluster)
            after_produce = counts(cluster)
            await consume_everything(cluster)
            after_consume = counts(cluster)
        finally:
            await cluster.stop()

        assert after_produce[leader] == SendStats(
            consumer_sendfile_bytes=0, follower_sendfile_bytes=2 * size, copied_bytes=0
        )
        assert after_consume[leader] == SendStats(
            consumer_sendfile_bytes=size, follower_sendfile_bytes=2 * size, copied_bytes=0
        )
        for follower in set(cluster.brokers) - {leader}:  # followers serve nobody
            assert after_consume[follower] == SendStats()

    asyncio.run(scenario())


def test_a_broker_switched_to_read_then_send_counts_copied_bytes_instead(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        cluster = LocalCluster(brokers=3, data_dir=tmp_path)
        await cluster.start()
        try:
            await cluster.create_topic("t", 1, 3)
            await produce(cluster)
            leader, size = leader_and_log_size(cluster)
            cluster.server(leader).zero_copy = False
            await consume_everything(cluster)
            stats = counts(cluster)[leader]
        finally:
            await cluster.stop()
        assert stats == SendStats(
            consumer_sendfile_bytes=0, follower_sendfile_bytes=2 * size, copied_bytes=size
        )

    asyncio.run(scenario())
