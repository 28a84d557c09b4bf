"""Tests for the retention exercise: `python -m exercises check 04-retention`."""

from __future__ import annotations

from types import ModuleType

# (base offset, bytes, newest timestamp): five segments, one a minute, 1000 bytes each.
SEGMENTS = [
    (0, 1000, 60_000),
    (100, 1000, 120_000),
    (200, 1000, 180_000),
    (300, 1000, 240_000),
    (400, 500, 300_000),
]


def test_time_retention_deletes_segments_whose_newest_record_is_too_old(impl: ModuleType) -> None:
    assert impl.segments_to_delete(SEGMENTS, 300_000, 150_000, -1) == ([0, 100], 200)


def test_a_segment_goes_only_when_all_of_it_is_old(impl: ModuleType) -> None:
    # Segment 200's oldest records are 4 minutes old, but its newest only 2: it stays.
    assert impl.segments_to_delete(SEGMENTS, 300_000, 121_000, -1) == ([0, 100], 200)


def test_size_retention_deletes_oldest_first_while_the_rest_still_reaches_the_limit(
    impl: ModuleType,
) -> None:
    # 4500 bytes, limit 2000: dropping 0 leaves 3500, dropping 100 leaves 2500; dropping 200
    # would leave 1500, under the limit, so it stays (Kafka's rule: the log may exceed
    # retention.bytes by less than one segment).
    assert impl.segments_to_delete(SEGMENTS, 0, -1, 2_000) == ([0, 100], 200)


def test_the_active_segment_is_never_deleted(impl: ModuleType) -> None:
    deleted, start = impl.segments_to_delete(SEGMENTS, 10**9, 1, 0)
    assert deleted == [0, 100, 200, 300] and start == 400


def test_no_limits_delete_nothing(impl: ModuleType) -> None:
    assert impl.segments_to_delete(SEGMENTS, 10**9, -1, -1) == ([], 0)
