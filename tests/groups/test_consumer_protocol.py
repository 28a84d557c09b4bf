"""ConsumerProtocol bytes, byte for byte as kafka-python writes and reads them."""

from __future__ import annotations

import pytest
from kafka.coordinator.assignors.sticky.user_data import StickyAssignorUserData
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment as KafkaAssignment,
)
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolSubscription as KafkaSubscription,
)

from reflog.groups.consumer_protocol import (
    Assignment,
    ProtocolTopicPartitions,
    Subscription,
    decode_assignment,
    decode_sticky_user_data,
    decode_subscription,
    encode_assignment,
    encode_cooperative_user_data,
    encode_sticky_user_data,
    encode_subscription,
    from_topic_partitions,
    member_subscription,
    to_topic_partitions,
)
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import WireDecodeError

T = TopicPartition
OWNED = [T("orders", 0), T("orders", 2), T("payments", 1)]


def ours(version: int) -> bytes:
    return encode_subscription(
        Subscription(
            topics=["orders", "payments"],
            user_data=b"\x01\x02",
            owned_partitions=from_topic_partitions(OWNED),
            generation_id=7,
            rack_id="rack-a",
        ),
        version,
    )


def theirs(version: int) -> bytes:
    tp = KafkaSubscription.TopicPartition
    subscription = KafkaSubscription(
        version=version,
        topics=["orders", "payments"],
        user_data=b"\x01\x02",
        owned_partitions=[
            tp(topic="orders", partitions=[0, 2]),
            tp(topic="payments", partitions=[1]),
        ],
        generation_id=7,
        rack_id="rack-a",
    )
    return bytes(subscription.encode())


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_a_subscription_is_written_as_kafka_python_writes_it(version: int) -> None:
    assert ours(version) == theirs(version)


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_a_subscription_kafka_python_wrote_reads_back(version: int) -> None:
    read_version, subscription = decode_subscription(theirs(version))
    assert read_version == version
    assert subscription.topics == ["orders", "payments"]
    assert to_topic_partitions(subscription.owned_partitions) == (OWNED if version >= 1 else [])
    assert subscription.generation_id == (7 if version >= 2 else -1)
    assert subscription.rack_id == ("rack-a" if version >= 3 else None)


def test_a_newer_subscription_is_read_as_the_newest_known_ignoring_what_follows() -> None:
    newer = b"\x00\x09" + ours(3)[2:] + b"fields of version 9"
    version, subscription = decode_subscription(newer)
    assert version == 9 and subscription.rack_id == "rack-a"


def test_an_assignment_is_written_and_read_as_kafka_python_does() -> None:
    for version in (0, 3):
        mine = encode_assignment(
            Assignment(assigned_partitions=from_topic_partitions(OWNED)), version
        )
        tp = KafkaAssignment.TopicPartition
        kafka = KafkaAssignment(
            version=version,
            assigned_partitions=[
                tp(topic="orders", partitions=[0, 2]),
                tp(topic="payments", partitions=[1]),
            ],
            user_data=None,
        )
        assert mine == bytes(kafka.encode())
        assert (
            to_topic_partitions(decode_assignment(bytes(kafka.encode())).assigned_partitions)
            == OWNED
        )


def test_an_empty_assignment_blob_is_an_empty_assignment() -> None:
    assert decode_assignment(b"") == Assignment()


def test_the_sticky_assignors_user_data_matches_kafkas() -> None:
    mine = encode_sticky_user_data(OWNED, 4)
    kafka = StickyAssignorUserData(
        previous_assignment=[("orders", [0, 2]), ("payments", [1])], generation=4
    )
    assert mine == bytes(kafka.encode(header=False))
    assert decode_sticky_user_data(mine) == (OWNED, 4)


def test_a_sticky_member_without_owned_partitions_is_read_from_its_user_data() -> None:
    # kafka-python's "sticky" sends a v0 subscription: what it owned is in its user data.
    data = encode_subscription(
        Subscription(topics=["orders"], user_data=encode_sticky_user_data(OWNED[:2], 3)), 0
    )
    member = member_subscription("sticky", data, "instance-1")
    assert member.owned_partitions == tuple(OWNED[:2]) and member.generation_id == 3
    assert member.group_instance_id == "instance-1" and member.topics == ("orders",)


def test_a_cooperative_member_of_version_1_has_its_generation_in_its_user_data() -> None:
    data = encode_subscription(
        Subscription(
            topics=["orders"],
            user_data=encode_cooperative_user_data(5),
            owned_partitions=[ProtocolTopicPartitions(topic="orders", partitions=[1])],
        ),
        1,
    )
    member = member_subscription("cooperative-sticky", data)
    assert member.owned_partitions == (T("orders", 1),) and member.generation_id == 5


@pytest.mark.parametrize("garbage", [b"", b"\x00", b"\xff\xff", b"\x00\x00\x7f\xff\xff\xff"])
def test_bytes_that_are_no_subscription_raise_a_decode_error(garbage: bytes) -> None:
    with pytest.raises(WireDecodeError):
        decode_subscription(garbage)
