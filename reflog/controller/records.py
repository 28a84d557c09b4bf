"""The records of the metadata log: what the controller quorum agrees on, one fact each.

KRaft keeps the cluster's metadata as a log of small records (KIP-631): a broker
registered, a broker was fenced or unfenced, a topic was created, a partition
got a new leader or ISR. Every broker and controller rebuilds the same
:class:`~reflog.controller.image.MetadataImage` by replaying them in order.

reflog uses Kafka's record names and type numbers with fields of its own; each
record is framed as (type INT16, version INT16, fields) and encoded with the same
declarative schema as the wire protocol. A Raft entry carries a batch of records
that commit together, as KRaft's atomic batches do (a topic and its partitions).
reflog simplification: topic configs travel inside the TopicRecord instead of as
separate ConfigRecords.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.codec import Reader, Writer, chunks_to_bytes
from reflog.wire.errors import WireDecodeError
from reflog.wire.schema import (
    BOOL,
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
    "NO_LEADER",
    "FenceBrokerRecord",
    "MetadataRecord",
    "PartitionChangeRecord",
    "PartitionRecord",
    "ProducerIdsRecord",
    "RegisterBrokerRecord",
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


class PartitionRecord(WireStruct):
    TYPE: ClassVar[int] = 3
    topic: str = wire(STRING)
    partition: int = wire(INT32)
    replicas: list[int] = wire(ArrayOf(INT32))
    isr: list[int] = wire(ArrayOf(INT32))
    leader: int = wire(INT32)
    leader_epoch: int = wire(INT32, default=0)
    partition_epoch: int = wire(INT32, default=0)


class PartitionChangeRecord(WireStruct):
    """A new leader and/or ISR; the leader epoch moves only when the leader changes."""

    TYPE: ClassVar[int] = 5
    topic: str = wire(STRING)
    partition: int = wire(INT32)
    leader: int = wire(INT32)
    isr: list[int] = wire(ArrayOf(INT32))
    leader_epoch: int = wire(INT32)
    partition_epoch: int = wire(INT32)


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
