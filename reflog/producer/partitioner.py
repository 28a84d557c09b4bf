"""Which partition a record goes to: Kafka's default partitioner.

A keyed record goes to ``toPositive(murmur2(key)) % numPartitions``: the same
key always lands on the same partition, which is what gives Kafka per-key
ordering — and what makes one popular key a hot partition. Kafka's Java client
computes MurmurHash2 with 32-bit signed arithmetic; we emulate it with masks so
that reflog and every Kafka client agree on every key.

A record without a key uses the sticky partitioner (KIP-480, refined by
KIP-794): stay on one partition until its batch is sent, then move on, so
unkeyed records fill batches instead of spreading thin. As in Kafka's producer,
the record that finds no open batch on the sticky partition is the one that
moves it: the partitioner switches first, and that record goes to the next
partition (switching after placing it would leave a one-record batch behind).
"""

from __future__ import annotations

import random

__all__ = ["StickyPartitioner", "murmur2", "partition_for_key", "to_positive"]

_MASK32 = 0xFFFFFFFF
_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24


def murmur2(data: bytes) -> int:
    """MurmurHash2, 32 bits, as Kafka's ``Utils.murmur2`` (returns a signed int32)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK32
    full = length - length % 4
    for i in range(0, full, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK32
        k ^= k >> _R
        k = (k * _M) & _MASK32
        h = (h * _M) & _MASK32
        h ^= k
    tail = length % 4
    if tail == 3:
        h ^= data[full + 2] << 16
    if tail >= 2:
        h ^= data[full + 1] << 8
    if tail >= 1:
        h ^= data[full]
        h = (h * _M) & _MASK32
    h ^= h >> 13
    h = (h * _M) & _MASK32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(n: int) -> int:
    """Kafka's ``Utils.toPositive``: clear the sign bit (not ``abs``, which fails on MIN)."""
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    if num_partitions <= 0:
        raise ValueError("a topic has at least one partition")
    return to_positive(murmur2(key)) % num_partitions


class StickyPartitioner:
    """Partition choice for records without a key (KIP-480).

    reflog simplification: Kafka 3.3+ (KIP-794) also weighs partitions by how
    much each broker has queued; reflog switches uniformly at random.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._sticky: dict[str, int] = {}

    def partition(self, topic: str, num_partitions: int) -> int:
        current = self._sticky.get(topic)
        if current is None or current >= num_partitions:
            current = self._rng.randrange(num_partitions)
            self._sticky[topic] = current
        return current

    def current(self, topic: str) -> int | None:
        """The sticky partition for ``topic``, without choosing one if there is none."""
        return self._sticky.get(topic)

    def on_new_batch(self, topic: str, num_partitions: int) -> None:
        """A record found no open batch on the sticky partition (it was sent, or is full):
        pick another partition for this record and the next ones (Kafka's ``onNewBatch``)."""
        previous = self._sticky.get(topic)
        if previous is None or num_partitions == 1 or previous >= num_partitions:
            choice = self._rng.randrange(num_partitions)
        else:
            choice = self._rng.randrange(num_partitions - 1)
            if choice >= previous:
                choice += 1  # never the same partition twice in a row
        self._sticky[topic] = choice
