"""The transaction APIs (KIP-98): what a transactional producer asks its transaction
coordinator, and what the coordinator asks the partitions' leaders.

* AddPartitionsToTxn (key 24): the partitions a transaction is about to write to.
* AddOffsetsToTxn (key 25): the consumer group whose offsets the transaction commits.
* EndTxn (key 26): commit or abort.
* WriteTxnMarkers (key 27, broker to broker): write a COMMIT or ABORT control batch.
* TxnOffsetCommit (key 28, to the group coordinator): offsets that count only if the
  transaction commits.

reflog simplification: AddPartitionsToTxn v4+ (one request for many transactions, sent
by brokers to verify a write, KIP-890) and EndTxn v4+ are not implemented, and
TxnOffsetCommit v3+ (with the member's generation) is not either; no client here sends them.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BOOL,
    INT16,
    INT32,
    INT64,
    STRING,
    ArrayOf,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = [
    "AddOffsetsToTxnRequest",
    "AddOffsetsToTxnResponse",
    "AddPartitionsToTxnPartitionResult",
    "AddPartitionsToTxnRequest",
    "AddPartitionsToTxnResponse",
    "AddPartitionsToTxnTopic",
    "AddPartitionsToTxnTopicResult",
    "EndTxnRequest",
    "EndTxnResponse",
    "TxnOffsetCommitRequest",
    "TxnOffsetCommitRequestPartition",
    "TxnOffsetCommitRequestTopic",
    "TxnOffsetCommitResponse",
    "TxnOffsetCommitResponsePartition",
    "TxnOffsetCommitResponseTopic",
    "WritableTxnMarker",
    "WritableTxnMarkerPartitionResult",
    "WritableTxnMarkerResult",
    "WritableTxnMarkerTopic",
    "WritableTxnMarkerTopicResult",
    "WriteTxnMarkersRequest",
    "WriteTxnMarkersResponse",
]


# -- AddPartitionsToTxn --------------------------------------------------------------------
class AddPartitionsToTxnTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[int] = wire(ArrayOf(INT32), default_factory=list)


class AddPartitionsToTxnRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.ADD_PARTITIONS_TO_TXN
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    # Kafka's names: v4 moved these four into a list of transactions.
    v3_and_below_transactional_id: str = wire(STRING)
    v3_and_below_producer_id: int = wire(INT64)
    v3_and_below_producer_epoch: int = wire(INT16)
    v3_and_below_topics: list[AddPartitionsToTxnTopic] = wire(
        ArrayOf(Struct(AddPartitionsToTxnTopic)), default_factory=list
    )


class AddPartitionsToTxnPartitionResult(WireStruct):
    partition_index: int = wire(INT32)
    partition_error_code: int = wire(INT16, default=0)


class AddPartitionsToTxnTopicResult(WireStruct):
    name: str = wire(STRING)
    results_by_partition: list[AddPartitionsToTxnPartitionResult] = wire(
        ArrayOf(Struct(AddPartitionsToTxnPartitionResult)), default_factory=list
    )


class AddPartitionsToTxnResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.ADD_PARTITIONS_TO_TXN
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    throttle_time_ms: int = wire(INT32, default=0)
    results_by_topic_v3_and_below: list[AddPartitionsToTxnTopicResult] = wire(
        ArrayOf(Struct(AddPartitionsToTxnTopicResult)), default_factory=list
    )


# -- AddOffsetsToTxn -----------------------------------------------------------------------
class AddOffsetsToTxnRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.ADD_OFFSETS_TO_TXN
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    transactional_id: str = wire(STRING)
    producer_id: int = wire(INT64)
    producer_epoch: int = wire(INT16)
    group_id: str = wire(STRING)


class AddOffsetsToTxnResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.ADD_OFFSETS_TO_TXN
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)


# -- EndTxn --------------------------------------------------------------------------------
class EndTxnRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.END_TXN
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    transactional_id: str = wire(STRING)
    producer_id: int = wire(INT64)
    producer_epoch: int = wire(INT16)
    committed: bool = wire(BOOL)


class EndTxnResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.END_TXN
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    throttle_time_ms: int = wire(INT32, default=0)
    error_code: int = wire(INT16, default=0)


# -- WriteTxnMarkers -----------------------------------------------------------------------
class WritableTxnMarkerTopic(WireStruct):
    name: str = wire(STRING)
    partition_indexes: list[int] = wire(ArrayOf(INT32), default_factory=list)


class WritableTxnMarker(WireStruct):
    producer_id: int = wire(INT64)
    producer_epoch: int = wire(INT16)
    transaction_result: bool = wire(BOOL)  # True: COMMIT, False: ABORT
    topics: list[WritableTxnMarkerTopic] = wire(
        ArrayOf(Struct(WritableTxnMarkerTopic)), default_factory=list
    )
    coordinator_epoch: int = wire(INT32, default=0)


class WriteTxnMarkersRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.WRITE_TXN_MARKERS
    MAX_VERSION: ClassVar[int] = 1
    FLEXIBLE_FROM: ClassVar[int | None] = 1

    markers: list[WritableTxnMarker] = wire(
        ArrayOf(Struct(WritableTxnMarker)), default_factory=list
    )


class WritableTxnMarkerPartitionResult(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16, default=0)


class WritableTxnMarkerTopicResult(WireStruct):
    name: str = wire(STRING)
    partitions: list[WritableTxnMarkerPartitionResult] = wire(
        ArrayOf(Struct(WritableTxnMarkerPartitionResult)), default_factory=list
    )


class WritableTxnMarkerResult(WireStruct):
    producer_id: int = wire(INT64)
    topics: list[WritableTxnMarkerTopicResult] = wire(
        ArrayOf(Struct(WritableTxnMarkerTopicResult)), default_factory=list
    )


class WriteTxnMarkersResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.WRITE_TXN_MARKERS
    MAX_VERSION: ClassVar[int] = 1
    FLEXIBLE_FROM: ClassVar[int | None] = 1

    markers: list[WritableTxnMarkerResult] = wire(
        ArrayOf(Struct(WritableTxnMarkerResult)), default_factory=list
    )


# -- TxnOffsetCommit -----------------------------------------------------------------------
class TxnOffsetCommitRequestPartition(WireStruct):
    partition_index: int = wire(INT32)
    committed_offset: int = wire(INT64)
    committed_leader_epoch: int = wire(INT32, "2+", default=-1)
    committed_metadata: str | None = wire(STRING, nullable="0+", default="")


class TxnOffsetCommitRequestTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[TxnOffsetCommitRequestPartition] = wire(
        ArrayOf(Struct(TxnOffsetCommitRequestPartition)), default_factory=list
    )


class TxnOffsetCommitRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.TXN_OFFSET_COMMIT
    MAX_VERSION: ClassVar[int] = 2  # v3 (flexible) adds the member's generation

    transactional_id: str = wire(STRING)
    group_id: str = wire(STRING)
    producer_id: int = wire(INT64)
    producer_epoch: int = wire(INT16)
    topics: list[TxnOffsetCommitRequestTopic] = wire(
        ArrayOf(Struct(TxnOffsetCommitRequestTopic)), default_factory=list
    )


class TxnOffsetCommitResponsePartition(WireStruct):
    partition_index: int = wire(INT32)
    error_code: int = wire(INT16, default=0)


class TxnOffsetCommitResponseTopic(WireStruct):
    name: str = wire(STRING)
    partitions: list[TxnOffsetCommitResponsePartition] = wire(
        ArrayOf(Struct(TxnOffsetCommitResponsePartition)), default_factory=list
    )


class TxnOffsetCommitResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.TXN_OFFSET_COMMIT
    MAX_VERSION: ClassVar[int] = 2

    throttle_time_ms: int = wire(INT32, default=0)
    topics: list[TxnOffsetCommitResponseTopic] = wire(
        ArrayOf(Struct(TxnOffsetCommitResponseTopic)), default_factory=list
    )
