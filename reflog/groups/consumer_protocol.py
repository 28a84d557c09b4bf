"""Kafka's ConsumerProtocol: the bytes consumers put in JoinGroup and SyncGroup.

The group coordinator does not read them: a JoinGroup carries, per assignor a member
supports, an opaque *metadata* blob, and a SyncGroup from the leader one opaque
*assignment* blob per member. Consumers agree among themselves on what the blobs hold
(protocol type ``"consumer"``), and every Kafka client writes them the same way, so a
reflog consumer, a Java one and librdkafka can share a group:

* **Subscription** (the JoinGroup metadata): ``version int16`` then ``topics [string]``,
  ``user_data bytes (nullable)``; v1 adds ``owned_partitions [(topic, [int32])]`` (what the
  member holds now, for the cooperative protocol, KIP-429); v2 ``generation_id int32``
  (KIP-792: the generation those were owned in); v3 ``rack_id string (nullable)``
  (KIP-881).
* **Assignment** (the SyncGroup blob): ``version int16`` then ``assigned_partitions
  [(topic, [int32])]``, ``user_data bytes (nullable)``; the same fields in v0 to v3.

Fields are only ever appended, so a reader decodes a newer version as the newest it knows
and ignores the bytes after (Kafka's ``ConsumerProtocol`` does the same).

The eager ``sticky`` assignor also remembers a member's last assignment in the
subscription's user data (Kafka's ``StickyAssignor`` writes it for leaders that predate
``owned_partitions``): ``previous_assignment [(topic, [int32])], generation int32``; the
``cooperative-sticky`` assignor writes just ``generation int32`` there.
"""

from __future__ import annotations

from collections.abc import Iterable

from reflog.groups.assignors import MemberSubscription
from reflog.topic_partition import TopicPartition
from reflog.wire.codec import Reader, Writer, chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.schema import (
    BYTES,
    INT32,
    STRING,
    ArrayOf,
    Struct,
    WireStruct,
    decode_struct,
    encode_struct,
    wire,
)

__all__ = [
    "ASSIGNMENT_VERSION",
    "PROTOCOL_TYPE",
    "SUBSCRIPTION_VERSION",
    "Assignment",
    "ProtocolTopicPartitions",
    "Subscription",
    "decode_assignment",
    "decode_cooperative_user_data",
    "decode_sticky_user_data",
    "decode_subscription",
    "encode_assignment",
    "encode_cooperative_user_data",
    "encode_sticky_user_data",
    "encode_subscription",
    "from_topic_partitions",
    "member_subscription",
    "to_topic_partitions",
]

PROTOCOL_TYPE = "consumer"
SUBSCRIPTION_VERSION = 3  # the newest; Kafka's Java consumer writes this one
ASSIGNMENT_VERSION = 3


class ProtocolTopicPartitions(WireStruct):
    """One topic and some of its partitions (Kafka: ``TopicPartition`` in both schemas)."""

    topic: str = wire(STRING)
    partitions: list[int] = wire(ArrayOf(INT32), default_factory=list)


class Subscription(WireStruct):
    topics: list[str] = wire(ArrayOf(STRING), default_factory=list)
    user_data: bytes | None = wire(BYTES, nullable="0+", default=None)
    owned_partitions: list[ProtocolTopicPartitions] = wire(
        ArrayOf(Struct(ProtocolTopicPartitions)), "1+", default_factory=list
    )
    generation_id: int = wire(INT32, "2+", default=-1)
    rack_id: str | None = wire(STRING, "3+", nullable="3+", default=None)


class Assignment(WireStruct):
    assigned_partitions: list[ProtocolTopicPartitions] = wire(
        ArrayOf(Struct(ProtocolTopicPartitions)), default_factory=list
    )
    user_data: bytes | None = wire(BYTES, nullable="0+", default=None)


class _StickyUserData(WireStruct):
    """Kafka's ``StickyAssignor`` user data, version 1."""

    previous_assignment: list[ProtocolTopicPartitions] = wire(
        ArrayOf(Struct(ProtocolTopicPartitions)), default_factory=list
    )
    generation: int = wire(INT32, "1+", default=-1)


def from_topic_partitions(tps: Iterable[TopicPartition]) -> list[ProtocolTopicPartitions]:
    """Partitions grouped by topic, both sorted, as they go on the wire."""
    by_topic: dict[str, list[int]] = {}
    for tp in sorted(tps):
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return [ProtocolTopicPartitions(topic=t, partitions=p) for t, p in by_topic.items()]


def to_topic_partitions(groups: Iterable[ProtocolTopicPartitions]) -> list[TopicPartition]:
    return sorted(TopicPartition(g.topic, p) for g in groups for p in g.partitions)


def _encode(obj: WireStruct, version: int) -> bytes:
    w = Writer()
    w.int16(version)
    encode_struct(obj, w, version, False)
    return chunks_to_bytes(w.chunks())


def _read_version(r: Reader, newest: int, what: str) -> int:
    version = r.int16()
    if version < 0:
        raise WireDecodeError(f"{what} version {version} is negative")
    return min(version, newest)


def encode_subscription(subscription: Subscription, version: int = SUBSCRIPTION_VERSION) -> bytes:
    if not 0 <= version <= SUBSCRIPTION_VERSION:
        raise ValueError(
            f"ConsumerProtocol subscriptions have versions 0 to {SUBSCRIPTION_VERSION}"
        )
    return _encode(subscription, version)


def decode_subscription(data: bytes) -> tuple[int, Subscription]:
    """``(version, subscription)``; the version as written, the fields as far as reflog
    knows them. Raises :class:`WireDecodeError` on bytes that are no subscription."""
    r = Reader(data)
    version = r.int16()
    if version < 0:
        raise WireDecodeError(f"subscription version {version} is negative")
    return version, decode_struct(Subscription, r, min(version, SUBSCRIPTION_VERSION), False)


def encode_assignment(assignment: Assignment, version: int = ASSIGNMENT_VERSION) -> bytes:
    if not 0 <= version <= ASSIGNMENT_VERSION:
        raise ValueError(f"ConsumerProtocol assignments have versions 0 to {ASSIGNMENT_VERSION}")
    return _encode(assignment, version)


def decode_assignment(data: bytes) -> Assignment:
    """An empty blob is an empty assignment (the coordinator sends one to a member the
    leader left out, or when the group moved on). Raises :class:`WireDecodeError` on bytes
    that are no assignment."""
    if not data:
        return Assignment()
    r = Reader(data)
    return decode_struct(Assignment, r, _read_version(r, ASSIGNMENT_VERSION, "assignment"), False)


def encode_sticky_user_data(previous: Iterable[TopicPartition], generation: int) -> bytes:
    w = Writer()
    data = _StickyUserData(
        previous_assignment=from_topic_partitions(previous), generation=generation
    )
    encode_struct(data, w, 1, False)
    return chunks_to_bytes(w.chunks())


def decode_sticky_user_data(data: bytes) -> tuple[list[TopicPartition], int]:
    """``(previous assignment, generation)``; version 0 had no generation (-1 then)."""
    r = Reader(data)
    previous = decode_struct(_StickyUserData, r, 0, False).previous_assignment
    generation = r.int32() if r.remaining >= 4 else -1
    return to_topic_partitions(previous), generation


def encode_cooperative_user_data(generation: int) -> bytes:
    w = Writer()
    w.int32(generation)
    return chunks_to_bytes(w.chunks())


def decode_cooperative_user_data(data: bytes) -> int:
    return Reader(data).int32()


def member_subscription(
    protocol_name: str, data: bytes, group_instance_id: str | None = None
) -> MemberSubscription:
    """What an assignor needs from a member's JoinGroup metadata (decoded as Kafka's
    assignors do): owned partitions and generation from the subscription's fields, or, for
    a member that sent none, from the sticky assignors' user data."""
    version, subscription = decode_subscription(data)
    owned = to_topic_partitions(subscription.owned_partitions)
    generation = subscription.generation_id
    user_data = subscription.user_data
    try:
        if protocol_name == "sticky" and user_data and not owned:
            owned, generation = decode_sticky_user_data(user_data)
        elif protocol_name == "cooperative-sticky" and user_data and version < 2:
            generation = decode_cooperative_user_data(user_data)
    except WireDecodeError:
        pass  # user data from some other assignor: the subscription's fields stand
    return MemberSubscription(
        topics=tuple(subscription.topics),
        owned_partitions=tuple(owned),
        generation_id=generation,
        group_instance_id=group_instance_id,
    )
