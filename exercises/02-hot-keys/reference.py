"""The reference answers: reflog's partitioner, and the share arithmetic on top of it."""

from __future__ import annotations

from collections import Counter

from reflog.producer.partitioner import murmur2, partition_for_key

__all__ = ["hot_partition", "murmur2", "partition_for_key", "partition_shares"]


def partition_shares(keys: list[bytes], num_partitions: int) -> dict[int, float]:
    counts = Counter(partition_for_key(k, num_partitions) for k in keys)
    return {p: counts[p] / len(keys) if keys else 0.0 for p in range(num_partitions)}


def hot_partition(keys: list[bytes], num_partitions: int) -> int:
    shares = partition_shares(keys, num_partitions)
    return max(range(num_partitions), key=lambda p: (shares[p], -p))
