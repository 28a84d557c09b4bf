"""The reference answer: reflog's own epoch caches and truncation rule."""

from __future__ import annotations

from reflog.replication.epoch_cache import UNDEFINED_EPOCH, LeaderEpochCache
from reflog.replication.truncation import truncation_complete
from reflog.replication.truncation import truncation_offset as reflog_truncation_offset

__all__ = ["truncation_offset"]


def _cache(entries: list[tuple[int, int]]) -> LeaderEpochCache:
    cache = LeaderEpochCache(None)  # in memory only
    for epoch, start_offset in entries:
        cache.assign(epoch, start_offset)
    return cache


def truncation_offset(
    follower_epochs: list[tuple[int, int]],
    follower_log_end_offset: int,
    follower_high_watermark: int,
    leader_epochs: list[tuple[int, int]],
    leader_log_end_offset: int,
) -> int:
    follower = _cache(follower_epochs)
    leader = _cache(leader_epochs)
    end = follower_log_end_offset
    while True:
        if follower.latest_epoch == UNDEFINED_EPOCH:
            return min(end, follower_high_watermark)  # nothing to ask about
        # The leader's answer to OffsetForLeaderEpoch for the follower's latest epoch.
        leader_epoch, leader_end = leader.end_offset_for(
            follower.latest_epoch, leader_log_end_offset
        )
        complete = truncation_complete(follower, leader_epoch)
        end = reflog_truncation_offset(
            follower, end, follower_high_watermark, leader_epoch, leader_end
        )
        if complete:
            return end
        follower.truncate_from_end(end)  # a first cut; ask again, one epoch older
