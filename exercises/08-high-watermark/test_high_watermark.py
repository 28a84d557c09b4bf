"""Tests for the high-watermark exercise: `python -m exercises check 08-high-watermark`."""

from __future__ import annotations

from types import ModuleType

LAG = 30_000  # replica.lag.time.max.ms


def test_the_high_watermark_is_the_smallest_log_end_offset_in_the_isr(impl: ModuleType) -> None:
    followers = {2: (10, 1_000), 3: (8, 1_000)}
    assert impl.update(1, 12, followers, [1, 2, 3], 5, 1_000, LAG, 2) == ([1, 2, 3], 8)


def test_once_everyone_has_everything_it_reaches_the_leaders_log_end(impl: ModuleType) -> None:
    followers = {2: (7, 1_000), 3: (7, 1_000)}
    assert impl.update(1, 7, followers, [1, 2, 3], 0, 1_000, LAG, 2) == ([1, 2, 3], 7)


def test_a_follower_outside_the_isr_does_not_hold_the_high_watermark_back(
    impl: ModuleType,
) -> None:
    followers = {2: (10, 1_000), 3: (0, 0)}
    assert impl.update(1, 10, followers, [1, 2], 4, 1_000, LAG, 2) == ([1, 2], 10)


def test_a_follower_not_caught_up_for_longer_than_the_lag_leaves_the_isr(
    impl: ModuleType,
) -> None:
    # Broker 3 last caught up at 5 000 ms; at 40 000 ms that is 35 s ago.
    followers = {2: (20, 39_000), 3: (12, 5_000)}
    isr, _ = impl.update(1, 20, followers, [1, 2, 3], 12, 40_000, LAG, 2)
    assert isr == [1, 2]


def test_shrinking_first_lets_the_high_watermark_advance(impl: ModuleType) -> None:
    # The stuck follower no longer counts: acks=all writes up to 20 complete.
    followers = {2: (20, 39_000), 3: (12, 5_000)}
    assert impl.update(1, 20, followers, [1, 2, 3], 12, 40_000, LAG, 2) == ([1, 2], 20)


def test_exactly_the_lag_is_still_in_sync(impl: ModuleType) -> None:
    followers = {2: (9, 10_000), 3: (9, 10_000)}
    assert impl.update(1, 9, followers, [1, 2, 3], 0, 10_000 + LAG, LAG, 2) == ([1, 2, 3], 9)


def test_the_leader_never_leaves_and_the_order_is_kept(impl: ModuleType) -> None:
    followers = {1: (5, 0), 3: (5, 99_000)}
    assert impl.update(2, 5, followers, [2, 3, 1], 5, 100_000, LAG, 1) == ([2, 3], 5)


def test_the_high_watermark_never_goes_back(impl: ModuleType) -> None:
    # A new leader hears from a follower that is behind what was already committed.
    followers = {2: (4, 1_000), 3: (9, 1_000)}
    assert impl.update(1, 9, followers, [1, 2, 3], 6, 1_000, LAG, 2) == ([1, 2, 3], 6)


def test_under_min_insync_replicas_nothing_more_commits(impl: ModuleType) -> None:
    # Both followers drop out: the leader alone has 15 records, but only 3 are committed.
    followers = {2: (3, 0), 3: (3, 0)}
    assert impl.update(1, 15, followers, [1, 2, 3], 3, 40_000, LAG, 2) == ([1], 3)


def test_at_min_insync_replicas_records_commit(impl: ModuleType) -> None:
    followers = {2: (15, 40_000), 3: (3, 0)}
    assert impl.update(1, 15, followers, [1, 2, 3], 3, 40_000, LAG, 2) == ([1, 2], 15)


def test_min_insync_replicas_one_lets_a_lone_leader_commit(impl: ModuleType) -> None:
    followers = {2: (3, 0), 3: (3, 0)}
    assert impl.update(1, 15, followers, [1, 2, 3], 3, 40_000, LAG, 1) == ([1], 15)
