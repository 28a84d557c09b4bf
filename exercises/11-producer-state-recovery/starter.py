"""Your producer-state recovery (see README.md)."""

from __future__ import annotations

Batch = tuple[int, int, int, int]  # first_seq, last_seq, first_offset, last_offset
Table = dict[int, tuple[int, list[Batch]]]  # producer id -> (epoch, its last five batches)
LogBatch = tuple[int, int, int, int, int]  # base_offset, last_offset, producer_id, epoch, seq


def rebuild(
    snapshots: dict[int, Table | None],
    batches: list[LogBatch],
    log_start_offset: int,
    log_end_offset: int,
) -> Table:
    # A first attempt: the latest snapshot, as it is.
    latest = max(snapshots, default=None)
    table = None if latest is None else snapshots[latest]
    return {} if table is None else table
