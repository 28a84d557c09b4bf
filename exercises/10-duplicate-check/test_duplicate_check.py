"""Tests for the duplicate-check exercise: `python -m exercises check 10-duplicate-check`."""

from __future__ import annotations

from types import ModuleType

# Five remembered batches of epoch 2: sequences 10-11, 12, 13-15, 16, 17-19 at offsets 40...
FIVE = [(10, 11, 40, 41), (12, 12, 42, 42), (13, 15, 50, 52), (16, 16, 53, 53), (17, 19, 60, 62)]
OUT_OF_ORDER = ("OUT_OF_ORDER_SEQUENCE_NUMBER", -1)


def test_the_next_batch_is_appended(impl: ModuleType) -> None:
    assert impl.check_batch(2, FIVE, 2, 20, 24) == ("append", -1)


def test_a_retry_of_the_last_batch_gets_its_original_offset(impl: ModuleType) -> None:
    assert impl.check_batch(2, FIVE, 2, 17, 19) == ("duplicate", 60)


def test_a_retry_of_the_oldest_remembered_batch_is_still_recognised(impl: ModuleType) -> None:
    assert impl.check_batch(2, FIVE, 2, 10, 11) == ("duplicate", 40)
    assert impl.check_batch(2, FIVE, 2, 13, 15) == ("duplicate", 50)


def test_a_gap_after_the_last_batch_is_out_of_order(impl: ModuleType) -> None:
    assert impl.check_batch(2, FIVE, 2, 22, 22) == OUT_OF_ORDER


def test_a_retry_older_than_the_five_remembered_batches_is_out_of_order(
    impl: ModuleType,
) -> None:
    # Not remembered, so it cannot be recognised: refused rather than written twice.
    assert impl.check_batch(2, FIVE, 2, 8, 9) == OUT_OF_ORDER


def test_a_range_that_only_overlaps_a_remembered_batch_is_out_of_order(impl: ModuleType) -> None:
    assert impl.check_batch(2, FIVE, 2, 13, 14) == OUT_OF_ORDER
    assert impl.check_batch(2, FIVE, 2, 18, 20) == OUT_OF_ORDER


def test_an_older_epoch_is_a_fenced_zombie_even_with_a_remembered_range(
    impl: ModuleType,
) -> None:
    assert impl.check_batch(2, FIVE, 1, 20, 20) == ("INVALID_PRODUCER_EPOCH", -1)
    assert impl.check_batch(2, FIVE, 1, 17, 19) == ("INVALID_PRODUCER_EPOCH", -1)


def test_a_newer_epoch_starts_again_at_sequence_zero(impl: ModuleType) -> None:
    assert impl.check_batch(2, FIVE, 3, 0, 4) == ("append", -1)
    # A remembered range under a newer epoch is no retry: the epochs differ.
    assert impl.check_batch(2, FIVE, 3, 17, 19) == OUT_OF_ORDER


def test_a_producer_the_partition_does_not_know_may_start_anywhere(impl: ModuleType) -> None:
    assert impl.check_batch(None, [], 0, 0, 3) == ("append", -1)
    assert impl.check_batch(None, [], 4, 1_000, 1_009) == ("append", -1)


def test_the_sequence_after_the_largest_is_zero(impl: ModuleType) -> None:
    top = 2_147_483_647
    assert impl.check_batch(0, [(top - 2, top, 5, 7)], 0, 0, 1) == ("append", -1)
    assert impl.check_batch(0, [(top - 2, top, 5, 7)], 0, top - 2, top) == ("duplicate", 5)
