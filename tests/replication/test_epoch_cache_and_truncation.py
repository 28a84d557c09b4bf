"""The leader epoch cache (KIP-101) and where a follower truncates, by each policy."""

from __future__ import annotations

from pathlib import Path

from reflog.replication.epoch_cache import (
    UNDEFINED_EPOCH,
    UNDEFINED_OFFSET,
    EpochEntry,
    LeaderEpochCache,
)
from reflog.replication.truncation import truncation_complete, truncation_offset


def cache(*entries: tuple[int, int]) -> LeaderEpochCache:
    c = LeaderEpochCache(None)
    for epoch, start in entries:
        c.assign(epoch, start)
    return c


def test_an_epoch_ends_where_the_next_begins_and_the_latest_at_the_log_end() -> None:
    c = cache((0, 0), (2, 10), (5, 25))
    assert c.end_offset_for(0, 40) == (0, 10)
    assert c.end_offset_for(1, 40) == (0, 10)  # unknown epoch 1: the largest below it
    assert c.end_offset_for(2, 40) == (2, 25)
    assert c.end_offset_for(7, 40) == (5, 40)
    # Older than all we know: it ended before our first epoch began (Kafka's answer).
    assert cache((3, 5)).end_offset_for(1, 9) == (1, 5)
    assert cache().end_offset_for(1, 9) == (UNDEFINED_EPOCH, UNDEFINED_OFFSET)


def test_only_newer_epochs_are_recorded_and_truncation_forgets_later_ones() -> None:
    c = cache((0, 0), (1, 10))
    c.assign(1, 12)  # the same epoch again: its start stays
    c.assign(0, 20)  # an older epoch: ignored
    assert c.entries == [EpochEntry(0, 0), EpochEntry(1, 10)]
    c.truncate_from_end(10)
    assert c.entries == [EpochEntry(0, 0)]


def test_the_cache_survives_a_restart_in_kafkas_file_layout(tmp_path: Path) -> None:
    c = LeaderEpochCache(tmp_path)
    c.assign(0, 0)
    c.assign(3, 17)
    assert (tmp_path / "leader-epoch-checkpoint").read_text() == "0\n2\n0 0\n3 17\n"
    assert LeaderEpochCache(tmp_path).entries == c.entries


def test_a_follower_with_the_leaders_epoch_truncates_where_it_ends_on_the_leader() -> None:
    # Follower wrote 0..14 in epoch 1; the leader's epoch 1 ended at 12, then epoch 2 began.
    follower = cache((0, 0), (1, 8))
    assert (
        truncation_offset(follower, 15, high_watermark=5, leader_epoch=1, leader_end_offset=12)
        == 12
    )


def test_a_follower_keeps_everything_the_leader_also_has_even_above_its_high_watermark() -> None:
    # The old rule would cut to the high watermark (5) and lose 5..9, which the leader has.
    follower = cache((0, 0))
    assert (
        truncation_offset(follower, 10, high_watermark=5, leader_epoch=0, leader_end_offset=10)
        == 10
    )


def test_a_leader_that_only_knows_an_older_epoch_bounds_it_in_both_logs() -> None:
    # Follower: epoch 0 up to 8, epoch 3 from 8. Leader never saw epoch 3; its epoch 0 ends at 11.
    follower = cache((0, 0), (3, 8))
    assert (
        truncation_offset(follower, 14, high_watermark=2, leader_epoch=0, leader_end_offset=11) == 8
    )


def test_a_leader_that_knows_none_of_our_epochs_leaves_the_high_watermark() -> None:
    follower = cache((4, 0))
    assert truncation_offset(follower, 9, 6, UNDEFINED_EPOCH, UNDEFINED_OFFSET) == 6


def test_an_epoch_the_follower_never_had_is_only_a_first_cut() -> None:
    follower = cache((0, 0), (3, 8))
    leader = cache((0, 0), (2, 5), (4, 7))
    epoch, end = leader.end_offset_for(follower.latest_epoch, 12)
    assert (epoch, end) == (2, 7)
    assert not truncation_complete(follower, epoch)  # the follower never had epoch 2
    offset = truncation_offset(follower, 14, 2, epoch, end)
    assert offset == 7
    follower.truncate_from_end(offset)
    epoch, end = leader.end_offset_for(follower.latest_epoch, 12)  # asked again, about 0
    assert truncation_complete(follower, epoch)
    assert truncation_offset(follower, offset, 2, epoch, end) == 5
