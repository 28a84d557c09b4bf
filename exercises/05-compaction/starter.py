"""Your offset map and compaction (see README.md)."""

from __future__ import annotations

Record = tuple[int, bytes, bytes | None, int]


def latest_offsets(records: list[Record]) -> dict[bytes, int]:
    raise NotImplementedError


def compact(records: list[Record], now_ms: int, delete_retention_ms: int) -> list[Record]:
    # A first attempt that renumbers what is left: the offsets must stay as they were.
    kept = {key: (key, value, ts) for _, key, value, ts in records}
    return [(i, *rest) for i, rest in enumerate(kept.values())]
