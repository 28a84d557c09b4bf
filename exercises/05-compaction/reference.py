"""A reference solution (reflog's LogCleaner does the same over segments on disk)."""

from __future__ import annotations

__all__ = ["compact", "latest_offsets"]

Record = tuple[int, bytes, bytes | None, int]


def latest_offsets(records: list[Record]) -> dict[bytes, int]:
    latest: dict[bytes, int] = {}
    for offset, key, _, _ in records:
        latest[key] = offset  # records come in offset order: the last one wins
    return latest


def compact(records: list[Record], now_ms: int, delete_retention_ms: int) -> list[Record]:
    latest = latest_offsets(records)
    kept = []
    for offset, key, value, timestamp in records:
        if latest[key] != offset:
            continue  # a newer value of this key exists
        if value is None and now_ms - timestamp > delete_retention_ms:
            continue  # an old tombstone: consumers have had time to see the deletion
        kept.append((offset, key, value, timestamp))
    return kept
