"""Tests for the epoch-truncation exercise: `python -m exercises check 09-epoch-truncation`."""

from __future__ import annotations

from types import ModuleType


def test_a_follower_keeps_what_the_leader_also_has_even_above_its_high_watermark(
    impl: ModuleType,
) -> None:
    # Same epoch on both; the follower's HW (5) lags. The old rule would drop 5..9, committed.
    assert impl.truncation_offset([(0, 0)], 10, 5, [(0, 0)], 15) == 10


def test_a_follower_with_everything_truncates_nothing(impl: ModuleType) -> None:
    assert impl.truncation_offset([(0, 0), (1, 8)], 12, 12, [(0, 0), (1, 8)], 12) == 12


def test_records_the_new_leader_never_had_are_cut_where_the_epoch_ended(
    impl: ModuleType,
) -> None:
    # The notebook's section 4: the old leader wrote offset 2 in epoch 0 while cut off; the new
    # leader's epoch 1 began at 2. Epoch 0 ends at 2 on the leader: cut there.
    assert impl.truncation_offset([(0, 0)], 3, 2, [(0, 0), (1, 2)], 3) == 2


def test_the_leader_moved_on_to_a_later_epoch(impl: ModuleType) -> None:
    # The follower wrote 8..14 in epoch 1; the leader's epoch 1 ended at 12, then epoch 2 began.
    assert impl.truncation_offset([(0, 0), (1, 8)], 15, 5, [(0, 0), (1, 8), (2, 12)], 20) == 12


def test_the_answer_for_the_largest_epoch_not_above_ours(impl: ModuleType) -> None:
    # The leader knows epochs 0 and 4, not the follower's 2: the largest <= 2 is 0, which ends
    # at 6 on the leader; on the follower epoch 0 ends at 5 (where its epoch 2 began).
    assert impl.truncation_offset([(0, 0), (2, 5)], 9, 3, [(0, 0), (4, 6)], 11) == 5


def test_the_leaders_end_can_be_the_nearer_one(impl: ModuleType) -> None:
    # Follower: epoch 0 up to 8, epoch 3 from 8. Leader: epoch 0 up to 6, then epoch 5.
    assert impl.truncation_offset([(0, 0), (3, 8)], 14, 2, [(0, 0), (5, 6)], 12) == 6


def test_never_above_the_followers_own_log_end(impl: ModuleType) -> None:
    # The leader's epoch 0 ends at 11, the follower's log at 7.
    assert impl.truncation_offset([(0, 0)], 7, 4, [(0, 0), (1, 11)], 13) == 7


def test_a_leader_whose_epochs_all_came_later_shares_nothing_before_its_first(
    impl: ModuleType,
) -> None:
    # The leader's first epoch, 3, began at 0: the follower's epoch 1 shares no record with it.
    assert impl.truncation_offset([(1, 0)], 9, 6, [(3, 0)], 20) == 0
    # Its first epoch began at 4: offsets 0..3 are older than any epoch the leader knows.
    assert impl.truncation_offset([(1, 0)], 9, 6, [(3, 4)], 20) == 4


def test_a_leader_with_no_epochs_at_all_leaves_the_high_watermark(impl: ModuleType) -> None:
    assert impl.truncation_offset([(1, 0)], 9, 6, [], 20) == 6


def test_a_follower_without_epochs_truncates_to_its_high_watermark(impl: ModuleType) -> None:
    assert impl.truncation_offset([], 4, 2, [(0, 0)], 10) == 2


def test_an_epoch_the_follower_never_had_means_asking_again(impl: ModuleType) -> None:
    # Follower: epoch 0 to 8, epoch 3 from 8 (LEO 14). Leader: 0 to 5, 2 from 5, 4 from 7.
    # Round 1: asked about 3, the leader answers epoch 2 ending at 7; the follower never had
    # epoch 2, so it cuts to 7 and asks about epoch 0: the leader's epoch 0 ends at 5. The
    # follower's offsets 5 and 6 (epoch 0) differ from the leader's (epoch 2): cut at 5.
    assert impl.truncation_offset([(0, 0), (3, 8)], 14, 2, [(0, 0), (2, 5), (4, 7)], 12) == 5
