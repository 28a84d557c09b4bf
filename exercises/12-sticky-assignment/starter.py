"""Your sticky assignment (see README.md)."""

from __future__ import annotations

Partition = tuple[str, int]


def sticky_assign(
    partitions: list[Partition], owned: dict[str, list[Partition]]
) -> dict[str, list[Partition]]:
    # A first attempt: round-robin. Balanced, but it ignores what each member owned.
    members = sorted(owned)
    assignment: dict[str, list[Partition]] = {m: [] for m in members}
    for i, tp in enumerate(sorted(partitions)):
        assignment[members[i % len(members)]].append(tp)
    return assignment
