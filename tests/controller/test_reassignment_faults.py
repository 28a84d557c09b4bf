"""A reassignment under load, with brokers crashing during it (seeded, simulated).

Each seed runs 3 controllers and 4 brokers; topic "r" (3 replicas on brokers 1-3,
min.insync.replicas=2, every append fsynced) takes an acks=all record every step while
the partition is moved to a seed-chosen set of 3 brokers that includes broker 4. The
seed crashes and restarts brokers throughout (never more than one down at a time, so
the ISR can always reach min.insync.replicas). Then every broker comes back and:

* the reassignment completes, by itself or, if the request was lost with a crashed
  broker before it reached the controller, once it is sent again (as an operator re-runs
  ``kafka-reassign-partitions --execute``);
* no acknowledged record is lost: each one is at its acknowledged offset;
* every replica of the target, the new one included, holds the leader's batches byte for
  byte, and the removed replica's copy is gone from its disk.

``REFLOG_REASSIGNMENT_SEEDS`` sets the number of seeds (100 by default).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from reflog.records.batch import iter_batches
from reflog.sim import Cluster, ProduceResult
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)

from ..replication.harness import records_of

SEEDS = int(os.environ.get("REFLOG_REASSIGNMENT_SEEDS", "100"))
BROKERS = ("broker-1", "broker-2", "broker-3", "broker-4")
TP = TopicPartition("r", 0)


def batch_bytes(log: Log, end: int) -> bytes:
    """The log's batches below ``end``, as stored."""
    out = b""
    offset = log.log_start_offset
    while offset < end:
        read = log.read(offset, 1 << 20, max_offset=end)
        if read.records is None:
            break
        data = read.records.read()
        out += data
        for batch in iter_batches(data):
            offset = batch.last_offset + 1
    return out


def reassign_request(target: list[int]) -> AlterPartitionReassignmentsRequest:
    partition = ReassignablePartition(partition_index=0, replicas=target)
    return AlterPartitionReassignmentsRequest(
        topics=[ReassignableTopic(name="r", partitions=[partition])]
    )


def run_schedule(seed: int, data_dir: Path) -> None:
    rng = random.Random(seed)
    cluster = Cluster(
        seed=seed,
        brokers=4,
        controllers=3,
        data_dir=data_dir,
        record=False,
        keep_trace=False,
        replica_lag_time_max_ms=1_000,
    )
    cluster.create_topic("r", 1, 3, configs={"min.insync.replicas": "2", "flush.messages": "1"})
    assert cluster.image().partition(TP).replicas == (1, 2, 3)  # type: ignore[union-attr]
    target = [4, *rng.sample([1, 2, 3], 2)]
    rng.shuffle(target)
    sent: list[tuple[ProduceResult, bytes]] = []
    acknowledged: dict[int, bytes] = {}
    start_step = rng.randrange(5, 30)
    for step in range(120):
        if step == start_step:
            up = [b for b in (1, 2, 3, 4) if cluster.sim.is_up(f"broker-{b}")]
            cluster.send_request(rng.choice(up), reassign_request(target), 0)
        leader = cluster.leader_of(TP) if cluster.active_controller() is not None else -1
        if leader > 0:
            value = b"%d-%d" % (seed, step)
            result = cluster.send(TP, [value], broker=leader, request_timeout_ms=2_000)
            sent.append((result, value))
        roll = rng.random()
        down = [b for b in BROKERS if not cluster.sim.is_up(b)]
        if roll < 0.05 and not down:
            cluster.crash(rng.choice(BROKERS))
        elif roll < 0.12 and down:
            cluster.restart(down[0])
        cluster.run_for(25)
        for result, value in [(r, v) for r, v in sent if r.answered_ms is not None]:
            sent.remove((result, value))
            if result.error_code == ErrorCode.NONE:
                assert result.base_offset not in acknowledged, f"offset {result.base_offset} reused"
                acknowledged[result.base_offset] = value

    for name in BROKERS:
        cluster.restart(name)
    cluster.wait_unfenced(1, 2, 3, 4, timeout_ms=30_000)
    state = cluster.image().partition(TP)
    assert state is not None
    if list(state.replicas) != target and not state.adding_replicas:
        cluster.reassign("r", 0, target)  # the request was lost: run it again

    def done() -> bool:
        s = cluster.controller().image.partition(TP)
        if s is None or list(s.replicas) != target or s.adding_replicas or s.removing_replicas:
            return False
        if len(s.isr) != 3 or s.leader <= 0:
            return False
        leader = cluster.broker(s.leader)
        hw = leader.high_watermark(TP)
        log = leader.logs.get(TP)
        return (
            log is not None
            and hw == log.log_end_offset
            and all(cluster.broker(b).high_watermark(TP) == hw for b in target)
        )

    cluster.wait_until(done, timeout_ms=60_000)
    cluster.wait_caught_up(timeout_ms=10_000)
    leader = cluster.leader_of(TP)
    leader_log = cluster.broker(leader).logs.get(TP)
    assert leader_log is not None
    hw = cluster.broker(leader).high_watermark(TP)
    expected = batch_bytes(leader_log, hw)
    for broker_id in target:
        log = cluster.broker(broker_id).logs.get(TP)
        assert log is not None, f"broker {broker_id} has no copy"
        assert batch_bytes(log, hw) == expected, f"broker {broker_id} differs from the leader"
    (removed,) = {1, 2, 3} - set(target)
    assert cluster.broker(removed).logs.get(TP) is None
    assert not (cluster.broker(removed).config.log_dir / str(TP)).exists()
    at = dict(records_of(leader_log, hw))
    for offset, value in acknowledged.items():
        assert at.get(offset) == value, f"acknowledged {value!r} at {offset} is {at.get(offset)!r}"


@pytest.mark.parametrize("seed", range(SEEDS))
def test_a_reassignment_under_load_and_broker_crashes_completes_and_loses_nothing(
    tmp_path: Path, seed: int
) -> None:
    try:
        run_schedule(seed, tmp_path)
    except AssertionError as error:
        raise AssertionError(
            f"reassignment fault schedule failed with seed {seed}: {error}"
        ) from error
