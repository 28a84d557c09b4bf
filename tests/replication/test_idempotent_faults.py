"""A seeded fault test of the broker's side of idempotence: a scripted producer retries each
batch until it is acknowledged, while answers are lost and brokers crash and come back.

The producer is the simplest idempotent one (one batch in flight, resent as it was until
it succeeds), so what is checked is the brokers: with a producer id, every batch ends up in
the log exactly once and in order, whichever leader took it and whichever leader answered
the retry; without one, the same schedules write some batches twice.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from reflog.records import build_batch
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from reflog.wire.schema import Response

from .harness import records_of, replicated_cluster

BATCHES = 30
RECORDS = 3
PID = 9


def produce_request(tp: TopicPartition, i: int, idempotent: bool) -> ProduceRequest:
    records = [(None, b"%d.%d" % (i, j), 0) for j in range(RECORDS)]
    ids = {"producer_id": PID, "producer_epoch": 0, "base_sequence": i * RECORDS}
    batch = build_batch(records, **(ids if idempotent else {}))
    data = PartitionProduceData(index=tp.partition, records=batch)
    return ProduceRequest(
        acks=-1,
        timeout_ms=2_000,
        topic_data=[TopicProduceData(name=tp.topic, partition_data=[data])],
    )


def run_schedule(cluster: Cluster, tp: TopicPartition, seed: int, idempotent: bool) -> list[int]:
    """Send every batch until acknowledged under the seed's faults; each batch's offset."""
    rng = random.Random(seed)
    down: dict[str, int] = {}  # crashed broker -> when it comes back
    acknowledged: list[int] = []
    for _ in range(3_000):
        if len(acknowledged) == BATCHES:
            break
        for name, at in list(down.items()):
            if at <= cluster.now_ms:
                cluster.restart(name)
                del down[name]
        leader = cluster.leader_of(tp)
        if not down and leader > 0 and rng.random() < 0.15:
            victim = leader if rng.random() < 0.7 else rng.choice([1, 2, 3])
            cluster.crash(f"broker-{victim}")
            down[f"broker-{victim}"] = cluster.now_ms + rng.randrange(300, 4_000)
            continue
        if leader <= 0:
            cluster.run_for(100)
            continue
        answers: list[Response] = []
        request = produce_request(tp, len(acknowledged), idempotent)
        cluster.send_request(leader, request, 7, answers.append)
        if not cluster.run_until(lambda a=answers: bool(a), 3_000) or rng.random() < 0.3:
            continue  # no answer, or it is lost on the way back: send the batch again
        [answer] = answers
        assert isinstance(answer, ProduceResponse)
        partition = answer.responses[0].partition_responses[0]
        if partition.error_code == ErrorCode.NONE:
            acknowledged.append(partition.base_offset)
        else:
            assert partition.error_code != ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
            cluster.run_for(100)  # not the leader, or too few in sync: retry soon
    assert len(acknowledged) == BATCHES, f"seed {seed}: only {len(acknowledged)} acknowledged"
    for name in down:
        cluster.restart(name)
    cluster.wait_until(
        lambda: (
            all(cluster.replica(b, tp) is not None for b in (1, 2, 3))
            and cluster.leader_of(tp) > 0
            and len(cluster.broker(cluster.leader_of(tp)).replicas.partitions[tp].isr) == 3
        ),
        30_000,
        "every replica back in sync",
    )
    return acknowledged


def stored(cluster: Cluster, tp: TopicPartition) -> list[bytes | None]:
    log = cluster.broker(cluster.leader_of(tp)).logs.get(tp)
    assert log is not None
    return [v for _, v in records_of(log)]


def sent() -> list[bytes]:
    return [b"%d.%d" % (i, j) for i in range(BATCHES) for j in range(RECORDS)]


@pytest.mark.parametrize("seed", range(40))
def test_with_a_producer_id_every_retried_batch_is_stored_once_in_order(
    tmp_path: Path, seed: int
) -> None:
    cluster, tp = replicated_cluster(seed, tmp_path)
    acknowledged = run_schedule(cluster, tp, seed, idempotent=True)
    assert stored(cluster, tp) == sent()
    assert acknowledged == [i * RECORDS for i in range(BATCHES)]  # the original offsets
    tables = {b: cluster.broker(b).logs.get(tp).producer_state.producers for b in (1, 2, 3)}  # type: ignore[union-attr]
    assert tables[1] == tables[2] == tables[3]


def test_without_a_producer_id_the_same_schedules_store_duplicates(tmp_path: Path) -> None:
    duplicated = []
    for seed in range(25):
        cluster, tp = replicated_cluster(seed, tmp_path / str(seed))
        run_schedule(cluster, tp, seed, idempotent=False)
        values = stored(cluster, tp)
        assert set(values) == set(sent())  # nothing lost...
        if len(values) > len(sent()):
            duplicated.append(seed)  # ...but retries were written again
    assert len(duplicated) >= 10, duplicated
