"""Tests for the read_committed exercise: `python -m exercises check 16-read-committed`."""

from __future__ import annotations

from types import ModuleType

# Producer 7's transaction at 0-1 is committed (marker at 2); its next one, at 3-4 and 6, is
# aborted (marker at 7); producer -1 wrote 5 outside any transaction.
LOG = [
    (0, 1, 7, "txn"),
    (2, 2, 7, "COMMIT"),
    (3, 4, 7, "txn"),
    (5, 5, -1, "plain"),
    (6, 6, 7, "txn"),
    (7, 7, 7, "ABORT"),
]
ABORTED = [(7, 3)]


def test_read_uncommitted_gets_every_record_but_no_marker(impl: ModuleType) -> None:
    assert impl.fetch(LOG, 8, ABORTED, read_committed=False) == [0, 1, 3, 4, 5, 6]


def test_read_committed_drops_the_aborted_transaction(impl: ModuleType) -> None:
    assert impl.fetch(LOG, 8, ABORTED, read_committed=True) == [0, 1, 5]


def test_read_committed_stops_at_the_last_stable_offset(impl: ModuleType) -> None:
    # Producer 7's second transaction still open: the LSO is its first offset, 3.
    assert impl.fetch(LOG[:4], 3, [], read_committed=True) == [0, 1]


def test_read_uncommitted_reads_past_the_last_stable_offset(impl: ModuleType) -> None:
    assert impl.fetch(LOG[:4], 3, [], read_committed=False) == [0, 1, 3, 4, 5]


def test_an_aborted_entry_drops_only_its_producers_batches(impl: ModuleType) -> None:
    # Producers 7 and 8 interleave; only 8's transaction was aborted.
    log = [
        (0, 0, 7, "txn"),
        (1, 1, 8, "txn"),
        (2, 2, 7, "txn"),
        (3, 3, 8, "ABORT"),
        (4, 4, 7, "COMMIT"),
    ]
    assert impl.fetch(log, 5, [(8, 1)], read_committed=True) == [0, 2]


def test_the_producers_next_transaction_after_its_abort_marker_is_kept(impl: ModuleType) -> None:
    log = [*LOG, (8, 9, 7, "txn"), (10, 10, 7, "COMMIT")]
    assert impl.fetch(log, 11, ABORTED, read_committed=True) == [0, 1, 5, 8, 9]


def test_a_committed_transaction_with_no_aborted_entry_is_read_whole(impl: ModuleType) -> None:
    log = [(0, 2, 3, "txn"), (3, 3, 3, "COMMIT")]
    assert impl.fetch(log, 4, [], read_committed=True) == [0, 1, 2]
