"""A reference solution (reflog's partitions_to_revoke and CooperativeStickyAssignor)."""

from __future__ import annotations

__all__ = ["first_round", "member_changes", "needs_second_round"]

Partition = tuple[str, int]


def member_changes(
    owned: list[Partition], assigned: list[Partition]
) -> tuple[list[Partition], list[Partition]]:
    return sorted(set(owned) - set(assigned)), sorted(set(assigned) - set(owned))


def first_round(
    owned: dict[str, list[Partition]], target: dict[str, list[Partition]]
) -> dict[str, list[Partition]]:
    owners: dict[Partition, set[str]] = {}
    for member, tps in owned.items():
        for tp in tps:
            owners.setdefault(tp, set()).add(member)
    return {
        member: sorted(tp for tp in tps if not owners.get(tp, set()) - {member})
        for member, tps in target.items()
    }


def needs_second_round(
    owned: dict[str, list[Partition]], first: dict[str, list[Partition]]
) -> bool:
    return any(
        member_changes(tps, first.get(member, []))[0]
        for member, tps in owned.items()
        if member in first
    )
