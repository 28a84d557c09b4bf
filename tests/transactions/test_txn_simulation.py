"""Transactions in the simulated cluster: a consume-transform-produce processor commits its
results with its input offsets, and the output read read_committed holds each input's result
exactly once; with faults, the seeds that found a bug (each a regression test, named for it).
The 300-seed fault search is in test_txn_fault_seeds_even.py and test_txn_fault_seeds_odd.py.
"""

from __future__ import annotations

from pathlib import Path

from .txn_fault_scenario import (
    add_processor,
    fsync_as_bookkeeping,
    read_committed,
    run_fault_scenario,
    txn_cluster,
)


def test_a_processor_without_faults_writes_each_result_once_and_no_aborted_one(
    tmp_path: Path,
) -> None:
    with fsync_as_bookkeeping():
        cluster = txn_cluster(0, tmp_path)
        processor = add_processor(cluster, "p1", total=30, abort_probability=0.3)
        assert cluster.run_until(lambda: processor.done, 60_000), (
            processor.phase,
            processor.next_input,
        )
        reader = read_committed(cluster, "reader")
        assert cluster.run_until(lambda: len(reader.records) >= 30, 20_000)
        cluster.run_for(500)
    values = [r.value or b"" for r in reader.records]
    results = sorted(int(v.split(b"-")[1]) for v in values)
    assert results == list(range(30))
    assert not set(values) & processor.aborted
    assert processor.aborted  # some transactions did abort


def test_a_fence_read_back_without_its_abort_does_not_block_init_producer_id_seed_52(
    tmp_path: Path,
) -> None:
    # The fence and the abort were two __transaction_state records; a follower copied the
    # first alone and the next coordinator answered CONCURRENT_TRANSACTIONS forever.
    run_fault_scenario(52, tmp_path)


def test_a_metadata_answer_with_no_brokers_does_not_hide_the_coordinator_seed_42(
    tmp_path: Path,
) -> None:
    # A broker just restarted answered Metadata with no brokers; the producer kept that
    # answer and could not reach the coordinator FindCoordinator named.
    run_fault_scenario(42, tmp_path)


def test_a_new_coordinator_keeps_consumer_offsets_in_the_next_transaction_seed_285(
    tmp_path: Path,
) -> None:
    # A retried AddOffsetsToTxn, measured against the partitions of the last (completed)
    # transaction read back, left __consumer_offsets out: an input was processed twice.
    run_fault_scenario(285, tmp_path)


def test_a_new_coordinator_keeps_consumer_offsets_in_the_next_transaction_seed_301(
    tmp_path: Path,
) -> None:
    run_fault_scenario(301, tmp_path)
