"""Tests for the sticky-assignment exercise: `python -m exercises check 12`."""

from __future__ import annotations

import random
from types import ModuleType

P = [("t", p) for p in range(12)]

Partition = tuple[str, int]


def moved(owned: dict[str, list[Partition]], got: dict[str, list[Partition]]) -> int:
    """How many partitions a member owned and no longer has."""
    return sum(1 for member, tps in owned.items() for tp in tps if tp not in got[member])


def test_a_first_assignment_is_balanced(impl: ModuleType) -> None:
    got = impl.sticky_assign(P, {"a": [], "b": [], "c": []})
    assert sorted(len(tps) for tps in got.values()) == [4, 4, 4]
    assert sorted(tp for tps in got.values() for tp in tps) == P


def test_a_joining_member_takes_only_what_balance_requires(impl: ModuleType) -> None:
    owned = {"a": P[0:4], "b": P[4:8], "c": P[8:12], "d": []}
    got = impl.sticky_assign(P, owned)
    assert sorted(len(tps) for tps in got.values()) == [3, 3, 3, 3]
    assert moved(owned, got) == 3  # one from each of a, b and c; round-robin moves 9
    for member in "abc":
        assert set(got[member]) <= set(owned[member])


def test_a_leaving_members_partitions_are_shared_out_and_nothing_else_moves(
    impl: ModuleType,
) -> None:
    owned = {"a": P[0:3], "b": P[3:6], "c": P[6:9]}  # d, which had 9-11, left
    got = impl.sticky_assign(P, owned)
    assert moved(owned, got) == 0
    assert sorted(len(tps) for tps in got.values()) == [4, 4, 4]


def test_the_larger_quota_goes_to_a_member_that_owned_more(impl: ModuleType) -> None:
    # 5 partitions, 2 members: quotas 3 and 2. a owned 3, b owned 1; b must not take a's third.
    five = P[:5]
    owned = {"a": five[:3], "b": [five[3]]}
    got = impl.sticky_assign(five, owned)
    assert got == {"a": five[:3], "b": five[3:5]}


def test_the_larger_quotas_are_not_wasted(impl: ModuleType) -> None:
    # 7 partitions, 3 members: quotas 3, 2, 2. Only c owned more than 2.
    seven = P[:7]
    owned = {"a": [seven[0]], "b": [seven[1]], "c": seven[2:7]}
    got = impl.sticky_assign(seven, owned)
    assert moved(owned, got) == 2
    assert sorted(len(tps) for tps in got.values()) == [2, 2, 3]


def test_partitions_that_no_longer_exist_are_dropped(impl: ModuleType) -> None:
    got = impl.sticky_assign(P[:2], {"a": [P[0], P[5]], "b": []})
    assert got == {"a": [P[0]], "b": [P[1]]}


def test_random_groups_are_covered_balanced_and_moved_least(impl: ModuleType) -> None:
    rng = random.Random(7)
    for _ in range(200):
        partitions = P[: rng.randint(1, 12)]
        members = [f"m{i}" for i in range(rng.randint(1, 5))]
        free = list(partitions)
        rng.shuffle(free)
        owned = {m: [free.pop() for _ in range(rng.randint(0, len(free)))] for m in members}
        got = impl.sticky_assign(partitions, owned)
        assert sorted(tp for tps in got.values() for tp in tps) == partitions
        counts = [len(tps) for tps in got.values()]
        assert max(counts) - min(counts) <= 1
        low, extra = divmod(len(partitions), len(members))
        can_keep = sum(min(len(tps), low) for tps in owned.values()) + min(
            extra, sum(1 for tps in owned.values() if len(tps) > low)
        )
        assert moved(owned, got) == sum(len(tps) for tps in owned.values()) - can_keep
