"""Your ISR and high-watermark rule (see README.md)."""

from __future__ import annotations


def update(
    leader: int,
    leader_log_end_offset: int,
    followers: dict[int, tuple[int, int]],
    isr: list[int],
    high_watermark: int,
    now_ms: int,
    replica_lag_time_max_ms: int,
    min_insync_replicas: int,
) -> tuple[list[int], int]:
    # A first attempt: the high watermark is the smallest log end offset in the ISR.
    ends = [leader_log_end_offset if r == leader else followers[r][0] for r in isr]
    return isr, min(ends)
