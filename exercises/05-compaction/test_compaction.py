"""Tests for the compaction exercise: `python -m exercises check 05-compaction`."""

from __future__ import annotations

from types import ModuleType

RECORDS = [
    (0, b"alice", b"v1", 100),
    (1, b"bob", b"v1", 110),
    (2, b"alice", b"v2", 120),
    (3, b"carol", b"v1", 130),
    (4, b"bob", None, 140),  # tombstone: bob is deleted
    (5, b"alice", b"v3", 150),
]


def test_the_offset_map_holds_each_keys_latest_offset(impl: ModuleType) -> None:
    assert impl.latest_offsets(RECORDS) == {b"alice": 5, b"bob": 4, b"carol": 3}


def test_compaction_keeps_the_latest_value_per_key_at_its_original_offset(impl: ModuleType) -> None:
    kept = impl.compact(RECORDS, now_ms=200, delete_retention_ms=1_000)
    assert kept == [(3, b"carol", b"v1", 130), (4, b"bob", None, 140), (5, b"alice", b"v3", 150)]


def test_a_recent_tombstone_survives_so_consumers_see_the_deletion(impl: ModuleType) -> None:
    kept = impl.compact(RECORDS, now_ms=1_140, delete_retention_ms=1_000)
    assert (4, b"bob", None, 140) in kept


def test_an_old_tombstone_is_removed_and_its_key_is_gone(impl: ModuleType) -> None:
    kept = impl.compact(RECORDS, now_ms=1_141, delete_retention_ms=1_000)
    assert [k for _, k, _, _ in kept] == [b"carol", b"alice"]


def test_compacting_twice_changes_nothing(impl: ModuleType) -> None:
    once = impl.compact(RECORDS, now_ms=200, delete_retention_ms=1_000)
    assert impl.compact(once, now_ms=200, delete_retention_ms=1_000) == once
