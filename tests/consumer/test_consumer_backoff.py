"""A consumer whose partition's leader refuses connections asks again after
``retry.backoff.ms``, not in a loop that never lets the simulated clock move."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.wire.messages.list_offsets import ListOffsetsRequest
from reflog.wire.schema import Request


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
