"""What the group coordinator writes to ``__consumer_offsets``: Kafka's own records.

Every record's key and value open with an INT16 version, which also says what the
record is: key version 0 or 1 is a committed offset, keyed by (group, topic, partition);
key version 2 is a group's metadata, keyed by group. The topic is compacted, so only the
latest value per key survives, and a null value (a tombstone) deletes the key.

The layouts are Kafka's ``OffsetCommitKey``/``OffsetCommitValue`` (value version 3) and
``GroupMetadataKey``/``GroupMetadataValue`` (value version 3), so a Kafka tool reading
reflog's ``__consumer_offsets`` would understand it.
"""

from __future__ import annotations

from reflog.groups.coordinator import CommittedOffset
from reflog.groups.group import Group
from reflog.topic_partition import TopicPartition
from reflog.wire.codec import Reader, Writer, chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.schema import (
    BYTES,
    INT32,
    INT64,
    STRING,
    ArrayOf,
    Struct,
    WireStruct,
    decode_struct,
    encode_struct,
    wire,
)

__all__ = [
    "GroupMetadataKey",
    "GroupMetadataValue",
    "MemberMetadata",
    "OffsetCommitKey",
    "OffsetCommitValue",
    "decode_key",
    "decode_value",
    "group_metadata_record",
    "offset_commit_record",
]

OFFSET_KEY_VERSION = 1
GROUP_KEY_VERSION = 2
OFFSET_VALUE_VERSION = 3
GROUP_VALUE_VERSION = 3


class OffsetCommitKey(WireStruct):
    group: str = wire(STRING)
    topic: str = wire(STRING)
    partition: int = wire(INT32)


class OffsetCommitValue(WireStruct):
    offset: int = wire(INT64)
    leader_epoch: int = wire(INT32, "3+", default=-1)
    metadata: str = wire(STRING, default="")
    commit_timestamp: int = wire(INT64, default=0)
    expire_timestamp: int = wire(INT64, "1", default=-1)


class GroupMetadataKey(WireStruct):
    group: str = wire(STRING)


class MemberMetadata(WireStruct):
    member_id: str = wire(STRING)
    group_instance_id: str | None = wire(STRING, "3+", nullable="3+", default=None)
    client_id: str = wire(STRING, default="")
    client_host: str = wire(STRING, default="")
    rebalance_timeout: int = wire(INT32, "1+", default=0)
    session_timeout: int = wire(INT32, default=0)
    subscription: bytes = wire(BYTES, default=b"")
    assignment: bytes = wire(BYTES, default=b"")


class GroupMetadataValue(WireStruct):
    protocol_type: str = wire(STRING, default="")
    generation: int = wire(INT32, default=0)
    protocol: str | None = wire(STRING, nullable="0+", default=None)
    leader: str | None = wire(STRING, nullable="0+", default=None)
    current_state_timestamp: int = wire(INT64, "2+", default=-1)
    members: list[MemberMetadata] = wire(ArrayOf(Struct(MemberMetadata)), default_factory=list)


def _encode(version: int, value: WireStruct) -> bytes:
    w = Writer()
    w.int16(version)
    encode_struct(value, w, version, False)
    return chunks_to_bytes(w.chunks())


def offset_commit_record(
    group_id: str, tp: TopicPartition, committed: CommittedOffset | None
) -> tuple[bytes, bytes | None]:
    """The (key, value) of one committed offset; no offset: a tombstone."""
    key = _encode(OFFSET_KEY_VERSION, OffsetCommitKey(group_id, tp.topic, tp.partition))
    if committed is None:
        return key, None
    value = OffsetCommitValue(
        offset=committed.offset,
        leader_epoch=committed.leader_epoch,
        metadata=committed.metadata,
        commit_timestamp=committed.commit_timestamp_ms,
    )
    return key, _encode(OFFSET_VALUE_VERSION, value)


def group_metadata_record(group: Group) -> tuple[bytes, bytes]:
    """The (key, value) of a group's metadata as it stands."""
    protocol = group.protocol_name
    value = GroupMetadataValue(
        protocol_type=group.protocol_type or "",
        generation=group.generation_id,
        protocol=protocol,
        leader=group.leader_id,
        current_state_timestamp=group.state_timestamp_ms,
        members=[
            MemberMetadata(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                rebalance_timeout=m.rebalance_timeout_ms,
                session_timeout=m.session_timeout_ms,
                subscription=m.metadata(protocol) if protocol else b"",
                assignment=m.assignment,
            )
            for m in group.members.values()
        ],
    )
    key = _encode(GROUP_KEY_VERSION, GroupMetadataKey(group.group_id))
    return key, _encode(GROUP_VALUE_VERSION, value)


def decode_key(data: bytes) -> OffsetCommitKey | GroupMetadataKey:
    r = Reader(data)
    version = r.int16()
    if version in (0, OFFSET_KEY_VERSION):
        return decode_struct(OffsetCommitKey, r, version, False)
    if version == GROUP_KEY_VERSION:
        return decode_struct(GroupMetadataKey, r, version, False)
    raise WireDecodeError(f"unknown __consumer_offsets key version {version}")


def decode_value(
    key: OffsetCommitKey | GroupMetadataKey, data: bytes
) -> OffsetCommitValue | GroupMetadataValue:
    r = Reader(data)
    version = r.int16()
    if not 0 <= version <= 3:
        raise WireDecodeError(f"unknown __consumer_offsets value version {version}")
    if isinstance(key, OffsetCommitKey):
        return decode_struct(OffsetCommitValue, r, version, False)
    return decode_struct(GroupMetadataValue, r, version, False)
