"""The records of the metadata log: what the controller quorum agrees on, one fact each.

KRaft keeps the cluster's metadata as a log of small records (KIP-631): a broker
registered, a broker was fenced or unfenced, a topic was created, a partition
got a new leader or ISR. Every broker and controller rebuilds the same
:class:`~reflog.controller.image.MetadataImage` by replaying them in order.

reflog uses Kafka's record names and type numbers with fields of its own; each
record is framed as (type INT16, version INT16, fields) and encoded with the same
declarative schema as the wire protocol. A Raft entry carries a batch of records
that commit together, as KRaft's atomic batches do (a topic and its partitions).
A topic's configs given at creation travel inside its TopicRecord; each later change,
to a topic's or a broker's config, is a ConfigRecord (as in KRaft).
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from reflog.wire.codec import Reader, Writer, chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.schema import (
    BOOL,
    INT8,
    INT32,
    INT64,
    STRING,
    UUID,
    ZERO_UUID,
    ArrayOf,
    Struct,
    WireStruct,
    decode_struct,
    encode_struct,
    wire,
)

__all__ = [
    "NO_LEADER",
    "ConfigRecord",
    "FenceBrokerRecord",
    "MetadataRecord",
    "PartitionChangeRecord",
    "PartitionRecord",
    "ProducerIdsRecord",
    "RegisterBrokerRecord",
    "RemoveTopicRecord",
    "TopicConfig",
    "TopicRecord",
    "UnfenceBrokerRecord",
    "decode_records",
    "encode_records",
]

NO_LEADER = -1  # Kafka's leader id for a partition with no eligible leader


class RegisterBrokerRecord(WireStruct):
    TYPE: ClassVar[int] = 0
    broker_id: int = wire(INT32)
    # The metadata offset of this record: it tells one incarnation of a broker from the next.
    broker_epoch: int = wire(INT64)
    host: str = wire(STRING)
    port: int = wire(INT32)
    fenced: bool = wire(BOOL, default=True)


class TopicConfig(WireStruct):
    name: str = wire(STRING)
    value: str = wire(STRING)


class TopicRecord(WireStruct):
    TYPE: ClassVar[int] = 2
    name: str = wire(STRING)
    configs: list[TopicConfig] = wire(ArrayOf(Struct(TopicConfig)), default_factory=list)
    # New for every topic created: a topic deleted and created again under its name is
    # another topic, and a broker tells their logs apart by it (partition.metadata).
    topic_id: uuid.UUID = wire(UUID, default=ZERO_UUID)


class PartitionRecord(WireStruct):
    TYPE: ClassVar[int] = 3
    topic: str = wire(STRING)
    partition: int = wire(INT32)
    replicas: list[int] = wire(ArrayOf(INT32))
    isr: list[int] = wire(ArrayOf(INT32))
    leader: int = wire(INT32)
    leader_epoch: int = wire(INT32, default=0)
    partition_epoch: int = wire(INT32, default=0)
    # A reassignment under way (KIP-455): replicas being added, and being removed.
    adding_replicas: list[int] = wire(ArrayOf(INT32), default_factory=list)
    removing_replicas: list[int] = wire(ArrayOf(INT32), default_factory=list)


class PartitionChangeRecord(WireStruct):
    """A new leader and/or ISR; the leader epoch moves only when the leader changes."""

    TYPE: ClassVar[int] = 5
    topic: str = wire(STRING)
    partition: int = wire(INT32)
    leader: int = wire(INT32)
    isr: list[int] = wire(ArrayOf(INT32))
    leader_epoch: int = wire(INT32)
    partition_epoch: int = wire(INT32)
    # A reassignment's steps (null: unchanged): the replica set, and who is being added
    # and removed; all three are set together.
    replicas: list[int] | None = wire(ArrayOf(INT32), nullable="0+", default=None)
    adding_replicas: list[int] | None = wire(ArrayOf(INT32), nullable="0+", default=None)
    removing_replicas: list[int] | None = wire(ArrayOf(INT32), nullable="0+", default=None)


class ConfigRecord(WireStruct):
    """A config set (or, with a null value, removed) on a topic or a broker: resource
    type 2 is a topic, 4 a broker (named by its id; "" is the cluster-wide default)."""

    TYPE: ClassVar[int] = 4
    resource_type: int = wire(INT8)
    resource_name: str = wire(STRING)
    name: str = wire(STRING)
    value: str | None = wire(STRING, nullable="0+", default=None)


class RemoveTopicRecord(WireStruct):
    """A topic deleted, with all its partitions.

    reflog simplification: Kafka names the topic by its id; reflog's metadata has no
    topic ids, so a broker that slept through a delete and a re-create of the same name
    and then loads a snapshot cannot tell the old partitions on its disk from new ones."""

    TYPE: ClassVar[int] = 9
    name: str = wire(STRING)


class FenceBrokerRecord(WireStruct):
    TYPE: ClassVar[int] = 7
    broker_id: int = wire(INT32)
    broker_epoch: int = wire(INT64)


class UnfenceBrokerRecord(WireStruct):
    TYPE: ClassVar[int] = 8
    broker_id: int = wire(INT32)
    broker_epoch: int = wire(INT64)


class ProducerIdsRecord(WireStruct):
    """A block of producer ids given to a broker (KIP-730): every id below
    ``next_producer_id`` has been handed out, so no later block may contain one."""

    TYPE: ClassVar[int] = 15
    broker_id: int = wire(INT32)  # -1 in a snapshot: only the high mark matters there
    broker_epoch: int = wire(INT64)
    next_producer_id: int = wire(INT64)


MetadataRecord = (
    RegisterBrokerRecord
    | TopicRecord
    | PartitionRecord
    | PartitionChangeRecord
    | FenceBrokerRecord
    | UnfenceBrokerRecord
    | ProducerIdsRecord
    | ConfigRecord
    | RemoveTopicRecord
)

_BY_TYPE: dict[int, type[MetadataRecord]] = {
    cls.TYPE: cls
    for cls in (
        RegisterBrokerRecord,
        TopicRecord,
        PartitionRecord,
        PartitionChangeRecord,
        FenceBrokerRecord,
        UnfenceBrokerRecord,
        ProducerIdsRecord,
        ConfigRecord,
        RemoveTopicRecord,
    )
}
_VERSION = 0


def encode_records(records: list[MetadataRecord]) -> bytes:
    w = Writer()
    w.int32(len(records))
    for record in records:
        w.int16(record.TYPE)
        w.int16(_VERSION)
        encode_struct(record, w, _VERSION, flexible=False)
    return chunks_to_bytes(w.chunks())


def decode_records(data: bytes) -> list[MetadataRecord]:
    """Decode a batch; an empty ``data`` (Raft's no-op entry) is an empty batch."""
    if not data:
        return []
    r = Reader(data)
    count = r.int32()
    if not 0 <= count <= r.remaining:
        raise WireDecodeError(f"bad metadata record count {count}")
    records: list[MetadataRecord] = []
    for _ in range(count):
        record_type, version = r.int16(), r.int16()
        cls = _BY_TYPE.get(record_type)
        if cls is None or version != _VERSION:
            raise WireDecodeError(f"unknown metadata record type {record_type} v{version}")
        records.append(decode_struct(cls, r, version, flexible=False))
    if r.remaining:
        raise WireDecodeError(f"{r.remaining} bytes after a metadata record batch")
    return records
