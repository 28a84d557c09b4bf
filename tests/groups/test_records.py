"""__consumer_offsets records in Kafka's layouts, byte for byte."""

from __future__ import annotations

from reflog.groups.coordinator import CommittedOffset
from reflog.groups.group import Group, GroupState, Member
from reflog.groups.records import (
    GroupMetadataKey,
    GroupMetadataValue,
    OffsetCommitKey,
    OffsetCommitValue,
    decode_key,
    decode_value,
    group_metadata_record,
    offset_commit_record,
)
from reflog.topic_partition import TopicPartition


def test_an_offset_commit_is_key_version_1_and_value_version_3() -> None:
    key, value = offset_commit_record(
        "g",
        TopicPartition("t", 2),
        CommittedOffset(7, leader_epoch=4, metadata="m", commit_timestamp_ms=9),
    )
    assert key == bytes.fromhex("00010001") + b"g" + bytes.fromhex("0001") + b"t" + bytes.fromhex(
        "00000002"
    )
    assert value == (
        bytes.fromhex("00030000000000000007000000040001") + b"m" + bytes.fromhex("0000000000000009")
    )
    decoded = decode_key(key)
    assert decoded == OffsetCommitKey("g", "t", 2)
    assert value is not None
    assert decode_value(decoded, value) == OffsetCommitValue(7, 4, "m", 9)


def test_a_deleted_offset_is_a_tombstone() -> None:
    _, value = offset_commit_record("g", TopicPartition("t", 0), None)
    assert value is None


def test_group_metadata_is_key_version_2_and_carries_members_and_assignments() -> None:
    group = Group("g", state=GroupState.STABLE, generation_id=3, protocol_type="consumer")
    group.add(Member("m1", "i1", "c1", "", 10_000, 30_000, "consumer", [("range", b"sub")], b"asg"))
    group.protocol_name = "range"
    key, value = group_metadata_record(group)
    assert key == bytes.fromhex("00020001") + b"g"
    decoded = decode_key(key)
    assert decoded == GroupMetadataKey("g")
    loaded = decode_value(decoded, value)
    assert isinstance(loaded, GroupMetadataValue)
    assert (loaded.protocol_type, loaded.generation, loaded.protocol, loaded.leader) == (
        "consumer",
        3,
        "range",
        "m1",
    )
    [m] = loaded.members
    assert (m.member_id, m.group_instance_id, m.session_timeout, m.rebalance_timeout) == (
        "m1",
        "i1",
        10_000,
        30_000,
    )
    assert (m.subscription, m.assignment) == (b"sub", b"asg")
