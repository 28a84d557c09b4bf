"""Tests for the producer-state recovery exercise:
`python -m exercises check 11-producer-state-recovery`."""

from __future__ import annotations

from types import ModuleType

# Producer 7 wrote one record per batch at offsets 0..9 (sequences 0..9, epoch 0); producer 9
# wrote offsets 10..12 in one batch (epoch 3, sequences 100..102); offset 13 is a batch of a
# producer without idempotence.
LOG = [(o, o, 7, 0, o) for o in range(10)] + [(10, 12, 9, 3, 100), (13, 13, -1, -1, -1)]
# The snapshot at offset 6: producer 7's batches at offsets 1..5.
AT_6 = {7: (0, [(s, s, s, s) for s in range(1, 6)])}
LAST_FIVE_OF_7 = (0, [(s, s, s, s) for s in range(5, 10)])
NINE = (3, [(100, 102, 10, 12)])


def test_without_a_snapshot_the_whole_log_is_replayed(impl: ModuleType) -> None:
    assert impl.rebuild({}, LOG, 0, 14) == {7: LAST_FIVE_OF_7, 9: NINE}


def test_a_snapshot_and_the_batches_after_it_give_the_same_table(impl: ModuleType) -> None:
    assert impl.rebuild({6: AT_6}, LOG, 0, 14) == {7: LAST_FIVE_OF_7, 9: NINE}


def test_the_batches_before_the_snapshot_are_not_replayed_again(impl: ModuleType) -> None:
    # The snapshot says producer 7 had only batches 1..5 of epoch 0 (the log before offset 6
    # holds more, but the snapshot is what was true there): only offsets 6.. add to it.
    only = {7: (0, [(1, 1, 1, 1)])}
    assert impl.rebuild({6: only}, LOG, 0, 14) == {
        7: (0, [(1, 1, 1, 1), (6, 6, 6, 6), (7, 7, 7, 7), (8, 8, 8, 8), (9, 9, 9, 9)]),
        9: NINE,
    }


def test_the_latest_snapshot_is_used(impl: ModuleType) -> None:
    at_10 = {7: LAST_FIVE_OF_7}
    assert impl.rebuild({6: {}, 10: at_10}, LOG, 0, 14) == {7: LAST_FIVE_OF_7, 9: NINE}


def test_an_unreadable_snapshot_falls_back_on_the_one_before(impl: ModuleType) -> None:
    assert impl.rebuild({6: AT_6, 10: None}, LOG, 0, 14) == {7: LAST_FIVE_OF_7, 9: NINE}


def test_a_snapshot_past_the_log_end_is_ignored(impl: ModuleType) -> None:
    # The log was truncated to offset 8: a snapshot at 13 holds batches no longer there.
    later = {7: LAST_FIVE_OF_7, 9: NINE}
    truncated = LOG[:8]
    assert impl.rebuild({6: AT_6, 13: later}, truncated, 0, 8) == {
        7: (0, [(s, s, s, s) for s in range(3, 8)])
    }


def test_a_snapshot_below_the_log_start_is_ignored(impl: ModuleType) -> None:
    # Retention deleted offsets 0..5, and the snapshot of offset 4 with them.
    tail = LOG[6:]
    assert impl.rebuild({4: {7: (0, [(0, 0, 0, 0)])}}, tail, 6, 14) == {
        7: (0, [(s, s, s, s) for s in range(6, 10)]),
        9: NINE,
    }


def test_a_new_epoch_forgets_the_batches_of_the_old_one(impl: ModuleType) -> None:
    bumped = [*LOG, (14, 15, 7, 1, 0)]
    assert impl.rebuild({6: AT_6}, bumped, 0, 16) == {7: (1, [(0, 1, 14, 15)]), 9: NINE}


def test_the_arguments_are_left_as_they_were(impl: ModuleType) -> None:
    snapshot = {7: (0, [(s, s, s, s) for s in range(1, 6)])}
    impl.rebuild({6: snapshot}, LOG, 0, 14)
    assert snapshot == AT_6
