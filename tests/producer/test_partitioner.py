"""Kafka's default partitioner: reflog must agree with real clients on every key."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from reflog.producer.partitioner import StickyPartitioner, murmur2, partition_for_key


@settings(max_examples=2000)
@given(st.binary(max_size=64))
def test_murmur2_agrees_with_kafka_python_on_any_key(key: bytes) -> None:
    theirs = kafka_python_murmur2(key)
    assert murmur2(key) & 0xFFFFFFFF == theirs & 0xFFFFFFFF


@settings(max_examples=2000)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=1000))
def test_keyed_partition_agrees_with_kafka_python(key: bytes, partitions: int) -> None:
    class Cluster:  # the slice of kafka-python's ClusterMetadata its partitioner reads
        def topics(self) -> set[str]:
            return {"t"}

        def partitions_for_topic(self, topic: str) -> set[int]:
            return set(range(partitions))

        available_partitions_for_topic = partitions_for_topic

    expected = DefaultPartitioner().partition("t", key, key, None, None, Cluster())
    assert partition_for_key(key, partitions) == expected


def test_known_java_murmur2_values() -> None:
    # Values Kafka's Java Utils.murmur2 gives (its own unit test uses these inputs).
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-long-string") == -985981536
    assert murmur2(b"") == 275646681


def test_sticky_partitioner_stays_until_a_batch_completes() -> None:
    sticky = StickyPartitioner(random.Random(7))
    first = sticky.partition("t", 6)
    assert all(sticky.partition("t", 6) == first for _ in range(100))
    sticky.on_new_batch("t", 6)
    assert sticky.partition("t", 6) != first


def test_sticky_partitioner_is_deterministic_by_seed() -> None:
    def walk(seed: int) -> list[int]:
        sticky = StickyPartitioner(random.Random(seed))
        out = []
        for _ in range(20):
            out.append(sticky.partition("t", 8))
            sticky.on_new_batch("t", 8)
        return out

    assert walk(1) == walk(1)
    assert walk(1) != walk(2)
