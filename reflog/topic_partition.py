"""Names shared by every layer: a partition of a topic, legal topic names, and how many
partitions one CreateTopics may ask for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "MAX_PARTITIONS_PER_REQUEST",
    "MAX_TOPIC_NAME_LENGTH",
    "TopicPartition",
    "too_many_partitions",
    "topic_name_error",
]

MAX_TOPIC_NAME_LENGTH = 249
# Kafka's controller refuses a CreateTopics asking for more in all (MAX_PARTITIONS_PER_BATCH):
# one small request must not keep a broker busy creating logs for hours.
MAX_PARTITIONS_PER_REQUEST = 10_000
_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")


class TopicPartition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


def topic_name_error(name: str) -> str | None:
    """Why ``name`` is not a legal Kafka topic name, or None if it is."""
    if not name:
        return "topic name is empty"
    if name in (".", ".."):
        return f"topic name cannot be {name!r}"
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        return f"topic name is longer than {MAX_TOPIC_NAME_LENGTH} characters"
    if not _LEGAL.match(name):
        return f"topic name {name!r} has characters other than ASCII letters, digits, '.', '_', '-'"
    return None


def too_many_partitions(counts: Iterable[int], default: int) -> str | None:
    """Why a CreateTopics asking for these partition counts (-1: ``default``, the broker's
    num.partitions) is refused as a whole, or None if it is not."""
    if sum(default if n == -1 else max(n, 0) for n in counts) > MAX_PARTITIONS_PER_REQUEST:
        return "Excessively large number of partitions per request."
    return None
