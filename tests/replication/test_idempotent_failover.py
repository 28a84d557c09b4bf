"""Idempotent produce across a leader failover: followers build the producer table from
the batches they copy, so a new leader deduplicates a retry of what the old one accepted."""

from __future__ import annotations

from pathlib import Path

from reflog.records import build_batch
from reflog.replication.partition import Role
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.produce import (
    PartitionProduceData,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from reflog.wire.schema import Response

from .harness import records_of, replicated_cluster

PID = 77


def idempotent_produce(
    cluster: Cluster, tp: TopicPartition, broker: int, seq: int, values: list[bytes]
) -> PartitionProduceResponse:
    """One acks=all produce of ``values`` as producer PID, epoch 0, from sequence ``seq``."""
    records = build_batch(
        [(None, v, 0) for v in values], producer_id=PID, producer_epoch=0, base_sequence=seq
    )
    request = ProduceRequest(
        acks=-1,
        timeout_ms=5_000,
        topic_data=[
            TopicProduceData(
                name=tp.topic,
                partition_data=[PartitionProduceData(index=tp.partition, records=records)],
            )
        ],
    )
    answers: list[Response] = []
    cluster.send_request(broker, request, 7, answers.append)
    cluster.wait_until(lambda: bool(answers), 10_000, "a produce answer")
    [answer] = answers
    assert isinstance(answer, ProduceResponse)
    return answer.responses[0].partition_responses[0]


def producer_tables(cluster: Cluster, tp: TopicPartition) -> dict[int, object]:
    tables: dict[int, object] = {}
    for broker_id in (1, 2, 3):
        log = cluster.broker(broker_id).logs.get(tp)
        assert log is not None
        tables[broker_id] = log.producer_state.producers
    return tables


def test_a_new_leader_answers_a_retry_with_the_offsets_the_old_leader_gave(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(11, tmp_path)
    old = cluster.leader_of(tp)
    first = idempotent_produce(cluster, tp, old, 0, [b"a", b"b", b"c"])
    second = idempotent_produce(cluster, tp, old, 3, [b"d", b"e"])  # its answer "is lost"
    assert (first.base_offset, second.base_offset) == (0, 3)
    cluster.wait_until(
        lambda: all(cluster.broker(b).high_watermark(tp) == 5 for b in (1, 2, 3)), 5_000
    )
    tables = producer_tables(cluster, tp)
    assert tables[1] == tables[2] == tables[3]  # followers built the leader's table

    cluster.crash(f"broker-{old}")
    cluster.wait_until(lambda: cluster.leader_of(tp) not in (old, -1), timeout_ms=5_000)
    new = cluster.leader_of(tp)
    partition = cluster.broker(new).replicas.partitions[tp]
    cluster.wait_until(lambda: partition.role == Role.LEADER, timeout_ms=5_000)

    retry = idempotent_produce(cluster, tp, new, 3, [b"d", b"e"])  # the producer retries
    assert (retry.error_code, retry.base_offset) == (ErrorCode.NONE, 3)
    gap = idempotent_produce(cluster, tp, new, 7, [b"g"])
    assert gap.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    after = idempotent_produce(cluster, tp, new, 5, [b"f"])
    assert (after.error_code, after.base_offset) == (ErrorCode.NONE, 5)
    log = cluster.broker(new).logs.get(tp)
    assert log is not None
    assert [v for _, v in records_of(log)] == [b"a", b"b", b"c", b"d", b"e", b"f"]

    cluster.restart(f"broker-{old}")  # it rebuilds its table from its own snapshot and log
    cluster.wait_until(lambda: old in partition.isr, timeout_ms=10_000)
    tables = producer_tables(cluster, tp)
    assert tables[old] == tables[new]
