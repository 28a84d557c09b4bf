"""A reference solution (reflog's StickyAssignor does this when all subscriptions are equal)."""

from __future__ import annotations

__all__ = ["sticky_assign"]

Partition = tuple[str, int]


def sticky_assign(
    partitions: list[Partition], owned: dict[str, list[Partition]]
) -> dict[str, list[Partition]]:
    members = sorted(owned)
    min_quota, larger_quotas = divmod(len(partitions), len(members))
    existing = set(partitions)
    assignment: dict[str, list[Partition]] = {}
    # 1. Keep what each member owned, up to its quota.
    for member in members:
        mine = sorted(tp for tp in owned[member] if tp in existing)
        quota = min_quota
        if len(mine) > min_quota and larger_quotas > 0:
            quota += 1
            larger_quotas -= 1
        assignment[member] = mine[:quota]
    # 2. Hand out what nobody kept: up to the minimum quota first, then the larger ones.
    kept = {tp for tps in assignment.values() for tp in tps}
    left_over = [tp for tp in sorted(partitions) if tp not in kept]
    for member in members:
        while len(assignment[member]) < min_quota:
            assignment[member].append(left_over.pop(0))
    for member in members:
        if left_over and larger_quotas > 0 and len(assignment[member]) == min_quota:
            assignment[member].append(left_over.pop(0))
            larger_quotas -= 1
    return {member: sorted(tps) for member, tps in assignment.items()}
