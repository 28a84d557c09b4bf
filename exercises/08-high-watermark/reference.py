"""A reference solution (reflog's Partition.isr_to_shrink and maybe_increment_high_watermark
apply the same rules to a leader's state)."""

from __future__ import annotations

__all__ = ["update"]


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
    def in_sync(replica: int) -> bool:
        if replica == leader:
            return True
        _, last_caught_up_ms = followers[replica]
        return now_ms - last_caught_up_ms <= replica_lag_time_max_ms

    new_isr = [r for r in isr if in_sync(r)]
    if len(new_isr) < min_insync_replicas:
        return new_isr, high_watermark  # too few copies: nothing more is committed
    ends = [leader_log_end_offset if r == leader else followers[r][0] for r in new_isr]
    return new_isr, max(high_watermark, min(ends))
