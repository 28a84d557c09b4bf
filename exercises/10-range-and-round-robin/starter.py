"""Your range and round-robin assignors (see README.md)."""

from __future__ import annotations

Partition = tuple[str, int]


def range_assign(
    partitions_per_topic: dict[str, int], subscriptions: dict[str, list[str]]
) -> dict[str, list[Partition]]:
    # A first attempt: the first subscriber of each topic reads all of it.
    assignment: dict[str, list[Partition]] = {member: [] for member in subscriptions}
    for topic, count in partitions_per_topic.items():
        readers = sorted(m for m, topics in subscriptions.items() if topic in topics)
        if readers:
            assignment[readers[0]].extend((topic, p) for p in range(count))
    return assignment


def roundrobin_assign(
    partitions_per_topic: dict[str, int], subscriptions: dict[str, list[str]]
) -> dict[str, list[Partition]]:
    raise NotImplementedError
