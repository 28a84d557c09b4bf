"""Tests for the index-lookup exercise: `python -m exercises check 03-index-lookup`."""

from __future__ import annotations

from types import ModuleType

ENTRIES = [(0, 0), (40, 4096), (85, 8200), (130, 12300), (170, 16400)]
# 50 batches of 4 records, 410 bytes each.
BATCHES = [(4 * i, 4 * i + 3, 410 * i) for i in range(50)]


def test_floor_finds_the_last_entry_at_or_below(impl: ModuleType) -> None:
    assert impl.floor_entry(ENTRIES, 0) == (0, 0)
    assert impl.floor_entry(ENTRIES, 84) == (40, 4096)
    assert impl.floor_entry(ENTRIES, 85) == (85, 8200)
    assert impl.floor_entry(ENTRIES, 10_000) == (170, 16400)


def test_floor_below_the_first_entry_is_none(impl: ModuleType) -> None:
    assert impl.floor_entry([(10, 0)], 5) is None
    assert impl.floor_entry([], 5) is None


def test_floor_uses_binary_search(impl: ModuleType) -> None:
    class CountingList(list[tuple[int, int]]):
        reads = 0

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            CountingList.reads += 1
            return super().__getitem__(i)

        def __iter__(self):  # type: ignore[no-untyped-def]
            CountingList.reads += len(self)
            return super().__iter__()

    big = CountingList((i * 10, i * 1000) for i in range(100_000))
    assert impl.floor_entry(big, 543_217) == (543_210, 54_321_000)
    assert CountingList.reads < 100  # log2(100000) is about 17


def test_scan_finds_the_batch_holding_the_offset(impl: ModuleType) -> None:
    position, _ = impl.find_batch_position(ENTRIES, BATCHES, 87)
    assert position == 410 * 21  # batch 84..87


def test_scan_starts_at_the_floor_and_reads_few_headers(impl: ModuleType) -> None:
    position, read = impl.find_batch_position(ENTRIES, BATCHES, 169)
    assert position == 410 * 42  # batch 168..171
    assert read == 13  # from the floor entry's batch (120..123) to 168..171, not from 0


def test_scan_past_the_end_is_none(impl: ModuleType) -> None:
    assert impl.find_batch_position(ENTRIES, BATCHES, 500) is None
