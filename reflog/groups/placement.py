"""Which ``__consumer_offsets`` partition, and so which broker, coordinates a group.

Kafka takes Java's ``String.hashCode`` of the group id, makes it non-negative with
``Utils.abs`` (which maps ``Integer.MIN_VALUE`` to 0 rather than leaving it negative)
and takes it modulo the topic's partition count. The partition's leader is the
group's coordinator. Reproducing Java's hash exactly means a group lands on the same
partition number in reflog as in Kafka.
"""

from __future__ import annotations

from collections.abc import Collection

from reflog.wire.errors import ErrorCode

__all__ = ["OFFSETS_TOPIC", "coordinator_error", "java_string_hashcode", "partition_for"]

OFFSETS_TOPIC = "__consumer_offsets"

_INT32_MIN = -(2**31)


def java_string_hashcode(s: str) -> int:
    """``s.hashCode()`` in Java: ``h = 31 * h + c`` over UTF-16 code units, in 32 bits."""
    h = 0
    units = s.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def _java_abs(n: int) -> int:
    """Kafka's ``Utils.abs``: like ``Math.abs``, but ``Integer.MIN_VALUE`` becomes 0."""
    return 0 if n == _INT32_MIN else abs(n)


def partition_for(group_id: str, num_partitions: int) -> int:
    return _java_abs(java_string_hashcode(group_id)) % num_partitions


def coordinator_error(
    partition: int | None, loading: Collection[int], loaded: Collection[int]
) -> int | None:
    """Why a broker cannot coordinate what lives in ``partition`` of its internal topic now
    (None: it can). The same rule for groups and transactional ids: no such topic yet, the
    partition still being read back after becoming its leader, or not its leader."""
    if partition is None:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if partition in loading:
        return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    if partition not in loaded:
        return ErrorCode.NOT_COORDINATOR
    return None
