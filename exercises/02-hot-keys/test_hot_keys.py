"""Tests for the hot-keys exercise: run with `python -m exercises check 02-hot-keys`."""

from __future__ import annotations

from types import ModuleType

# Kafka's Java client: murmur2 of each key, as signed 32-bit ints.
KAFKA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"": 275646681,
}
CELEBRITY_PARTITION_OF_6 = 2  # where Kafka puts b"celebrity" in a 6-partition topic


def test_murmur2_matches_kafkas_java_client(impl: ModuleType) -> None:
    for key, expected in KAFKA_MURMUR2.items():
        assert impl.murmur2(key) == expected


def test_keys_land_where_every_kafka_client_puts_them(impl: ModuleType) -> None:
    # Computed with Kafka's default partitioner (kafka-python's) for a 12-partition topic.
    keys = (b"alice", b"bob", b"carol", b"user-42")
    assert [impl.partition_for_key(k, 12) for k in keys] == [9, 6, 2, 4]


def test_shares_cover_every_partition_and_sum_to_one(impl: ModuleType) -> None:
    keys = [b"user-%d" % i for i in range(1000)]
    shares = impl.partition_shares(keys, 6)
    assert sorted(shares) == list(range(6))
    assert abs(sum(shares.values()) - 1.0) < 1e-9


def test_one_celebrity_key_makes_its_partition_hot(impl: ModuleType) -> None:
    keys = [b"user-%d" % i for i in range(600)] + [b"celebrity"] * 900
    hot = impl.hot_partition(keys, 6)
    assert hot == CELEBRITY_PARTITION_OF_6
    assert impl.partition_shares(keys, 6)[hot] > 0.6


def test_more_partitions_do_not_split_a_hot_key(impl: ModuleType) -> None:
    keys = [b"celebrity"] * 100
    for n in (3, 12, 48):
        assert impl.partition_shares(keys, n)[impl.partition_for_key(b"celebrity", n)] == 1.0
