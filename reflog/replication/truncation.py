"""Where a follower truncates its log when it starts following a new leader.

Two rules, switchable, because the difference is the lesson:

* ``HIGH_WATERMARK`` (Kafka before KIP-101): truncate to your own high watermark
  and fetch the rest again. A follower's high watermark lags the leader's, so this
  can throw away records the old leader had already acknowledged; if that
  follower then becomes leader, they are gone.
* ``LEADER_EPOCH`` (KIP-101, refined by KIP-279): ask the leader where your
  latest epoch ends in its log, and truncate exactly there — never below what
  you share with the leader.
"""

from __future__ import annotations

from enum import Enum

from reflog.replication.epoch_cache import UNDEFINED_EPOCH, LeaderEpochCache

__all__ = ["TruncationPolicy", "truncation_offset"]


class TruncationPolicy(Enum):
    HIGH_WATERMARK = "high-watermark"
    LEADER_EPOCH = "leader-epoch"


def truncation_offset(
    cache: LeaderEpochCache,
    log_end_offset: int,
    high_watermark: int,
    leader_epoch: int,
    leader_end_offset: int,
) -> int:
    """The offset to truncate to, given the leader's answer for our latest epoch.

    The leader said: of the epochs up to ours, the largest it knows is
    ``leader_epoch``, ending at ``leader_end_offset`` in its log. If it knows our
    epoch, we diverge where it ends there; if it only knows an older one, where
    that one ends in either log, whichever is first (KIP-279). A leader that knows
    none of our epochs leaves only the high watermark to trust.
    """
    if leader_epoch == UNDEFINED_EPOCH:
        return min(high_watermark, log_end_offset)
    if leader_epoch == cache.latest_epoch:
        return min(leader_end_offset, log_end_offset)
    _, our_end = cache.end_offset_for(leader_epoch, log_end_offset)
    return min(leader_end_offset, our_end, log_end_offset)
