"""The transaction fault search over the odd seeds below txn_fault_scenario.SEEDS; the
even ones are in test_txn_fault_seeds_even.py, so that each of pytest-xdist's two
workers (``--dist loadfile``) runs half."""

from __future__ import annotations

from pathlib import Path

import pytest

from .txn_fault_scenario import SEEDS, run_fault_scenario


@pytest.mark.parametrize("seed", range(1, SEEDS, 2))
def test_processor_broker_and_coordinator_crashes_with_lost_messages_keep_exactly_once(
    tmp_path: Path, seed: int
) -> None:
    run_fault_scenario(seed, tmp_path)
