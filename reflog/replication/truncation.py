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

__all__ = ["TruncationPolicy", "truncation_complete", "truncation_offset"]


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
    that one ends in either log, whichever is first (KIP-279) — and if we never had
    that epoch either, this is only a first cut (see :func:`truncation_complete`).
    A leader that knows none of our epochs leaves only the high watermark to trust.
    """
    if leader_epoch == UNDEFINED_EPOCH:
        return min(high_watermark, log_end_offset)
    if leader_epoch == cache.latest_epoch:
        return min(leader_end_offset, log_end_offset)
    _, our_end = cache.end_offset_for(leader_epoch, log_end_offset)
    return min(leader_end_offset, our_end, log_end_offset)


def truncation_complete(cache: LeaderEpochCache, leader_epoch: int) -> bool:
    """Whether one round settles it (asked before truncating). Not when the leader answered
    with an epoch we never had: our records of the epochs before it may still differ from
    its records there, so after the first cut we ask again for our (now older) latest
    epoch, as Kafka's follower does (KIP-279). Each round drops at least one epoch."""
    if leader_epoch == UNDEFINED_EPOCH:
        return True
    found, _ = cache.end_offset_for(leader_epoch, 0)
    return found == leader_epoch
