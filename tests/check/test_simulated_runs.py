"""The chaos run in the simulation (reflog.chaos.simulated): the checker, from what the clients
saw, tells the safe configuration from the unsafe ones on fixed seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflog.chaos.simulated import READER, SimulatedRun
from reflog.check import Send
from reflog.replication.truncation import TruncationPolicy


def finished(run: SimulatedRun, seed: int) -> SimulatedRun:
    run.random_faults(seed)
    run.heal_write_and_read()
    return run


@pytest.mark.parametrize("seed", [10, 265])
def test_the_pre_kip_101_rule_loses_acknowledged_records_on_the_fault_tests_seeds(
    tmp_path: Path, seed: int
) -> None:
    run = finished(
        SimulatedRun.replicated(seed, tmp_path, truncation_policy=TruncationPolicy.HIGH_WATERMARK),
        seed,
    )
    verdict = run.verdict()
    assert not verdict.valid
    lost = verdict.of_kind("lost-write")
    assert lost, verdict.describe()
    for anomaly in lost:
        send, read = (run.history[i] for i in anomaly.ops)
        assert isinstance(send, Send) and send.offset == anomaly.offsets[0]
        assert read.process == READER


@pytest.mark.parametrize("seed", [10, 265, 0])
def test_acks_all_with_leader_epochs_passes_the_checker_under_the_same_faults(
    tmp_path: Path, seed: int
) -> None:
    run = finished(SimulatedRun.replicated(seed, tmp_path), seed)
    verdict = run.verdict()
    assert verdict.valid, verdict.describe()
    assert any(isinstance(op, Send) and op.offset is not None for op in run.history.ops)
    assert any(f.kind == "crash" for f in run.faults), "no fault: the check would prove nothing"


def test_acks_1_with_unclean_election_loses_acknowledged_records_on_seed_0(
    tmp_path: Path,
) -> None:
    run = SimulatedRun.replicated(0, tmp_path, acks=1, min_insync_replicas=1, unclean=True)
    verdict = finished(run, 0).verdict()
    assert "lost-write" in verdict.kinds, verdict.describe()
