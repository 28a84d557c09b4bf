"""Your truncation rule (see README.md)."""

from __future__ import annotations


def truncation_offset(
    follower_epochs: list[tuple[int, int]],
    follower_log_end_offset: int,
    follower_high_watermark: int,
    leader_epochs: list[tuple[int, int]],
    leader_log_end_offset: int,
) -> int:
    # A first attempt: the rule before KIP-101 — keep what you know is committed.
    return min(follower_high_watermark, follower_log_end_offset)
