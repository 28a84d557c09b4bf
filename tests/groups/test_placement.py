"""A group lands on the __consumer_offsets partition Kafka would put it on."""

from __future__ import annotations

from reflog.groups.placement import java_string_hashcode, partition_for


def test_the_hash_is_javas_string_hashcode() -> None:
    # Values Java prints for "...".hashCode().
    assert java_string_hashcode("") == 0
    assert java_string_hashcode("hello") == 99162322
    assert java_string_hashcode("polygenelubricants") == -(2**31)
    # A character outside the BMP counts as its two UTF-16 code units.
    assert java_string_hashcode("\U0001f600") == 0xD83D * 31 + 0xDE00


def test_the_partition_is_kafkas_utils_abs_of_the_hash_modulo_the_partition_count() -> None:
    assert partition_for("hello", 50) == 99162322 % 50
    # Utils.abs(Integer.MIN_VALUE) is 0, where Math.abs would stay negative.
    assert partition_for("polygenelubricants", 50) == 0
    assert java_string_hashcode("console-consumer") < 0
    assert (
        partition_for("console-consumer", 50) == abs(java_string_hashcode("console-consumer")) % 50
    )
