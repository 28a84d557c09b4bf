"""A consumer whose reset fails (the leader refuses connections, or is no longer the
leader) asks again after ``retry.backoff.ms`` and fresh metadata, not in a loop."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from reflog.client.actions import Connect, Send
from reflog.consumer import Consumer, ConsumerConfig
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartitionResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)
from reflog.wire.messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from reflog.wire.schema import Request

from .scripted import answer, led_by_broker_1, ready


class LoopError(Exception):
    pass


def test_a_reset_whose_leader_refuses_connections_waits_before_asking_again(
    tmp_path: Path,
) -> None:
    cluster = Cluster(seed=3, brokers=1, data_dir=tmp_path, record=False)
    cluster.create_topic("t", 1)
    workload = cluster.add_consumer("c", "t")
    cluster.run_for(500)
    consumer = workload.consumer
    sent_at: list[int] = []
    request = consumer.network.request

    def counting(node_id: int, body: Request, now_ms: int, *args: object, **kw: object) -> None:
        if isinstance(body, ListOffsetsRequest):
            sent_at.append(now_ms)
            if sent_at.count(now_ms) > 100:
                raise LoopError(f"ListOffsets sent {len(sent_at)} times at {now_ms} ms")
        request(node_id, body, now_ms, *args, **kw)  # type: ignore[arg-type]

    consumer.network.request = counting  # type: ignore[method-assign]
    cluster.crash("broker-1")
    consumer.seek_to_beginning([TopicPartition("t", 0)])
    cluster.run_for(3_000)
    assert sent_at, "it did try to reset"
    assert max(sent_at.count(t) for t in set(sent_at)) == 1
    gaps = [b - a for a, b in pairwise(sent_at)]
    assert min(gaps, default=100) >= consumer.config.retry_backoff_ms


def test_a_reset_told_not_leader_asks_for_metadata_before_asking_again() -> None:
    consumer = Consumer(ConsumerConfig(bootstrap_servers=(("b", 1),), auto_offset_reset="earliest"))
    consumer.assign([TopicPartition("t", 0)], 0)
    [connect] = consumer.tick(0)
    assert isinstance(connect, Connect)
    ready(consumer, -1, 0)
    [metadata] = consumer.network.take_actions()
    stale = led_by_broker_1()
    answer(consumer, -1, metadata, stale, 1)
    [connect] = consumer.tick(1)
    assert isinstance(connect, Connect) and connect.node_id == 1
    ready(consumer, 1, 1)
    sent = consumer.network.take_actions()
    for action in sent:  # a metadata request still going: the same stale answer
        if isinstance(action, Send) and isinstance(action.body, MetadataRequest):
            answer(consumer, action.node_id, action, stale, 1)
    [list_offsets] = [
        a for a in sent if isinstance(a, Send) and isinstance(a.body, ListOffsetsRequest)
    ]
    not_leader = ListOffsetsResponse(
        topics=[
            ListOffsetsTopicResponse(
                name="t",
                partitions=[
                    ListOffsetsPartitionResponse(
                        partition_index=0, error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER
                    )
                ],
            )
        ]
    )
    answer(consumer, 1, list_offsets, not_leader, 2)
    asked = consumer.tick(2)
    assert [type(a.body) for a in asked if isinstance(a, Send)] == [MetadataRequest]
    assert consumer.tick(50) == []  # no ListOffsets to the stale leader meanwhile
    assert consumer.next_deadline_ms() is not None


def test_a_partition_without_a_leader_has_metadata_asked_again_after_the_backoff() -> None:
    consumer = Consumer(ConsumerConfig(bootstrap_servers=(("b", 1),)))
    consumer.assign([TopicPartition("t", 0)], 0)
    consumer.seek(TopicPartition("t", 0), 5)
    consumer.tick(0)
    ready(consumer, -1, 0)
    [metadata] = consumer.network.take_actions()
    leaderless = MetadataResponse(
        brokers=[MetadataResponseBroker(node_id=1, host="b", port=1)],
        topics=[
            MetadataResponseTopic(
                error_code=0,
                name="t",
                partitions=[
                    MetadataResponsePartition(error_code=0, partition_index=0, leader_id=-1)
                ],
            )
        ],
    )
    asked_at = [0]
    answer(consumer, -1, metadata, leaderless, 1)
    now = 1
    while now < 1_000:
        actions = consumer.tick(now)
        while actions:
            action = actions.pop(0)
            if isinstance(action, Connect):
                ready(consumer, action.node_id, now)
            elif isinstance(action, Send) and isinstance(action.body, MetadataRequest):
                asked_at.append(now)
                answer(consumer, action.node_id, action, leaderless, now)  # still no leader
            actions += consumer.network.take_actions()
        now = max(now + 1, consumer.next_deadline_ms() or 1_000)
    # Asked again every retry.backoff.ms or so, not once per metadata.max.age.ms (300 s).
    assert len(asked_at) >= 5
