"""Tests for the cooperative-revoke exercise: `python -m exercises check 11`."""

from __future__ import annotations

from types import ModuleType

P = [("t", p) for p in range(6)]


def test_a_member_revokes_only_what_it_lost(impl: ModuleType) -> None:
    revoked, added = impl.member_changes([P[0], P[1], P[2]], [P[1], P[2], P[3]])
    assert revoked == [P[0]]
    assert added == [P[3]]


def test_a_member_that_keeps_everything_revokes_nothing(impl: ModuleType) -> None:
    assert impl.member_changes([P[1], P[0]], [P[0], P[1]]) == ([], [])


def test_a_new_member_only_adds(impl: ModuleType) -> None:
    assert impl.member_changes([], [P[4], P[3]]) == ([], [P[3], P[4]])


def test_a_partition_moving_between_members_goes_to_nobody_first(impl: ModuleType) -> None:
    owned = {"a": P[:3], "b": P[3:], "c": []}
    target = {"a": P[:2], "b": P[3:5], "c": [P[2], P[5]]}
    assert impl.first_round(owned, target) == {"a": P[:2], "b": P[3:5], "c": []}


def test_a_departed_members_partitions_move_at_once(impl: ModuleType) -> None:
    # b left the group: nobody in it still reads its partitions.
    owned = {"a": P[:3]}
    target = {"a": P[:3], "c": P[3:]}
    assert impl.first_round(owned, target) == {"a": P[:3], "c": P[3:]}


def test_the_owner_keeps_a_partition_the_target_leaves_with_it(impl: ModuleType) -> None:
    owned = {"a": [P[0]], "b": [P[1]]}
    assert impl.first_round(owned, {"a": [P[0]], "b": [P[1]]}) == {"a": [P[0]], "b": [P[1]]}


def test_a_second_round_is_needed_when_someone_revoked(impl: ModuleType) -> None:
    owned = {"a": P[:3], "b": P[3:], "c": []}
    first = {"a": P[:2], "b": P[3:5], "c": []}
    assert impl.needs_second_round(owned, first) is True


def test_no_second_round_when_nothing_was_revoked(impl: ModuleType) -> None:
    owned = {"a": P[:3]}
    assert impl.needs_second_round(owned, {"a": P[:3], "c": P[3:]}) is False


def test_the_second_round_completes_the_move(impl: ModuleType) -> None:
    target = {"a": P[:2], "b": P[3:5], "c": [P[2], P[5]]}
    first = impl.first_round({"a": P[:3], "b": P[3:], "c": []}, target)
    # Everyone now owns what the first round gave it; the target is handed out whole.
    assert impl.first_round(first, target) == target
    assert impl.needs_second_round(first, impl.first_round(first, target)) is False
