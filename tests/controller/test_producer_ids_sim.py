"""Producer ids in the simulated cluster: blocks committed by the controller, never reused.

Each broker hands out ids from blocks the active controller commits to the metadata log
before answering (KIP-730). Whatever fails — the active controller, every controller at
once, a broker — no id is handed out twice.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from reflog.controller.quorum_controller import PRODUCER_ID_BLOCK_SIZE
from reflog.sim import Cluster
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse


def started(tmp_path: Path, seed: int = 1, **kwargs: object) -> Cluster:
    cluster = Cluster(
        seed=seed,
        controllers=3,
        data_dir=tmp_path,
        record=False,
        wire_roundtrip_requests=True,  # every message through the real codec
        **kwargs,  # type: ignore[arg-type]
    )
    cluster.wait_for_active_controller()
    cluster.wait_unfenced(1, 2, 3)
    return cluster


def producer_id(cluster: Cluster, broker_id: int, timeout_ms: int = 20_000) -> int:
    """A producer id from ``broker_id``, asking again while it has none at hand (as
    producers do on COORDINATOR_LOAD_IN_PROGRESS)."""
    deadline = cluster.now_ms + timeout_ms
    while cluster.now_ms < deadline:
        answer = cluster.request(broker_id, InitProducerIdRequest(), version=4)
        assert isinstance(answer, InitProducerIdResponse)
        if answer.error_code == ErrorCode.NONE:
            assert answer.producer_epoch == 0
            return answer.producer_id
        assert answer.error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        cluster.run_for(100)
    raise AssertionError(f"broker-{broker_id} gave no producer id")


def next_producer_id(cluster: Cluster) -> int:
    return cluster.controller().image.next_producer_id


def test_each_broker_hands_out_ids_from_its_own_committed_block(tmp_path: Path) -> None:
    cluster = started(tmp_path)
    ids = {b: [producer_id(cluster, b) for _ in range(3)] for b in (1, 2, 3)}
    blocks = {b: {i // PRODUCER_ID_BLOCK_SIZE for i in got} for b, got in ids.items()}
    assert all(len(block) == 1 for block in blocks.values())  # one block per broker...
    assert len(set.union(*blocks.values())) == 3  # ...and three different blocks
    for got in ids.values():
        assert got == sorted(got) and len(set(got)) == 3
    assert next_producer_id(cluster) == 3 * PRODUCER_ID_BLOCK_SIZE
    cluster.wait_caught_up()
    assert cluster.image(1).next_producer_id == 3 * PRODUCER_ID_BLOCK_SIZE  # replayed


def test_a_new_active_controller_never_hands_out_a_block_again(tmp_path: Path) -> None:
    cluster = started(tmp_path)
    before = [producer_id(cluster, 1), producer_id(cluster, 2)]
    old = cluster.wait_for_active_controller()
    cluster.crash(old)
    cluster.wait_until(lambda: cluster.active_controller() not in (None, old))
    after = [producer_id(cluster, 3)]
    cluster.crash("broker-1")
    cluster.restart("broker-1")  # a restarted broker starts a fresh block
    cluster.wait_unfenced(1)
    after.append(producer_id(cluster, 1))
    # Brokers 1 and 2 had blocks 0 and 1; the new controller gives out 2 and 3.
    assert sorted(after) == [2 * PRODUCER_ID_BLOCK_SIZE, 3 * PRODUCER_ID_BLOCK_SIZE]
    assert max(before) < PRODUCER_ID_BLOCK_SIZE * 2
    assert len(set(before + after)) == 4


def test_the_high_mark_survives_metadata_snapshots_and_a_restart_of_every_controller(
    tmp_path: Path,
) -> None:
    cluster = started(tmp_path, metadata_snapshot_batches=2)
    seen = [producer_id(cluster, b) for b in (1, 2, 3)]
    for i in range(4):  # enough metadata batches that the producer-id records are compacted
        cluster.create_topic(f"t{i}", 1, 1)
    active = cluster.controller()
    assert active.raft.snapshot.last_index > 0
    for name in list(cluster.controllers):
        cluster.crash(name)
    for name in list(cluster.controllers):
        cluster.restart(name)
    cluster.wait_for_active_controller()
    for b in (1, 2, 3):
        cluster.crash(f"broker-{b}")
        cluster.restart(f"broker-{b}")
    cluster.wait_unfenced(1, 2, 3)
    seen += [producer_id(cluster, b) for b in (1, 2, 3)]
    assert len(set(seen)) == len(seen)
    assert min(seen[3:]) >= 3 * PRODUCER_ID_BLOCK_SIZE


@pytest.mark.parametrize("seed", range(8))
def test_no_id_is_handed_out_twice_while_controllers_and_brokers_crash(
    tmp_path: Path, seed: int
) -> None:
    cluster = started(tmp_path / str(seed), seed=seed)
    rng = random.Random(seed)
    seen: list[int] = []
    for _ in range(12):
        victim = rng.choice([*cluster.controllers, "broker-1", "broker-2", "broker-3"])
        cluster.crash(victim)
        cluster.run_for(rng.randrange(0, 3_000))
        cluster.restart(victim)
        cluster.wait_for_active_controller()
        cluster.wait_unfenced(1, 2, 3, timeout_ms=30_000)
        seen += [producer_id(cluster, b) for b in (1, 2, 3)]
    assert len(set(seen)) == len(seen)
    assert max(seen) < next_producer_id(cluster)


def test_without_a_controller_a_producer_is_told_to_retry_and_gets_an_id_once_one_is_back(
    tmp_path: Path,
) -> None:
    cluster = started(tmp_path)
    for name in list(cluster.controllers):
        cluster.crash(name)
    answer = cluster.request(1, InitProducerIdRequest(), version=4)
    assert isinstance(answer, InitProducerIdResponse)
    # The broker asked for a block, waited for it in vain, and said so.
    assert (answer.error_code, answer.producer_id) == (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, -1)
    for name in list(cluster.controllers):
        cluster.restart(name)
    assert producer_id(cluster, 1) == 0
