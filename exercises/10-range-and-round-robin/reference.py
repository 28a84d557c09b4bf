"""A reference solution (reflog's RangeAssignor and RoundRobinAssignor do the same over
TopicPartition and member subscriptions)."""

from __future__ import annotations

__all__ = ["range_assign", "roundrobin_assign"]

Partition = tuple[str, int]


def range_assign(
    partitions_per_topic: dict[str, int], subscriptions: dict[str, list[str]]
) -> dict[str, list[Partition]]:
    assignment: dict[str, list[Partition]] = {member: [] for member in subscriptions}
    for topic in sorted(partitions_per_topic):
        readers = sorted(m for m, topics in subscriptions.items() if topic in topics)
        if not readers:
            continue
        per_member, extra = divmod(partitions_per_topic[topic], len(readers))
        for i, member in enumerate(readers):
            start = per_member * i + min(i, extra)
            length = per_member + (1 if i < extra else 0)
            assignment[member].extend((topic, p) for p in range(start, start + length))
    return {member: sorted(tps) for member, tps in assignment.items()}


def roundrobin_assign(
    partitions_per_topic: dict[str, int], subscriptions: dict[str, list[str]]
) -> dict[str, list[Partition]]:
    assignment: dict[str, list[Partition]] = {member: [] for member in subscriptions}
    circle = sorted(subscriptions)
    wanted = {t for topics in subscriptions.values() for t in topics}
    turn = 0
    for topic in sorted(wanted & set(partitions_per_topic)):
        for partition in range(partitions_per_topic[topic]):
            while topic not in subscriptions[circle[turn % len(circle)]]:
                turn += 1  # someone reads this topic: the loop ends
            assignment[circle[turn % len(circle)]].append((topic, partition))
            turn += 1
    return {member: sorted(tps) for member, tps in assignment.items()}
