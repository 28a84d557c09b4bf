"""Filled-in transaction messages for the wire tests (see samples.py)."""

from __future__ import annotations

from reflog.wire.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    PartitionResponse,
    ProducerState,
    TopicRequest,
    TopicResponse,
)
from reflog.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    TopicData,
)
from reflog.wire.messages.describe_transactions import TransactionState as DescribedTxn
from reflog.wire.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
)
from reflog.wire.messages.list_transactions import TransactionState as ListedTxn
from reflog.wire.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnPartitionResult,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnTopic,
    AddPartitionsToTxnTopicResult,
    EndTxnRequest,
    EndTxnResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
    TxnOffsetCommitResponse,
    TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
    WritableTxnMarker,
    WritableTxnMarkerPartitionResult,
    WritableTxnMarkerResult,
    WritableTxnMarkerTopic,
    WritableTxnMarkerTopicResult,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)
from reflog.wire.schema import Message

TXN_SAMPLES: list[Message] = [
    AddPartitionsToTxnRequest(
        v3_and_below_transactional_id="txn-1",
        v3_and_below_producer_id=4001,
        v3_and_below_producer_epoch=3,
        v3_and_below_topics=[AddPartitionsToTxnTopic(name="orders", partitions=[0, 2])],
    ),
    AddPartitionsToTxnResponse(
        throttle_time_ms=4,
        results_by_topic_v3_and_below=[
            AddPartitionsToTxnTopicResult(
                name="orders",
                results_by_partition=[
                    AddPartitionsToTxnPartitionResult(partition_index=2, partition_error_code=51)
                ],
            )
        ],
    ),
    AddOffsetsToTxnRequest(
        transactional_id="txn-1", producer_id=4001, producer_epoch=3, group_id="g"
    ),
    AddOffsetsToTxnResponse(throttle_time_ms=5, error_code=48),
    EndTxnRequest(transactional_id="txn-1", producer_id=4001, producer_epoch=3, committed=True),
    EndTxnResponse(throttle_time_ms=6, error_code=90),
    WriteTxnMarkersRequest(
        markers=[
            WritableTxnMarker(
                producer_id=4001,
                producer_epoch=3,
                transaction_result=True,
                topics=[WritableTxnMarkerTopic(name="orders", partition_indexes=[1])],
                coordinator_epoch=7,
            )
        ]
    ),
    WriteTxnMarkersResponse(
        markers=[
            WritableTxnMarkerResult(
                producer_id=4001,
                topics=[
                    WritableTxnMarkerTopicResult(
                        name="orders",
                        partitions=[
                            WritableTxnMarkerPartitionResult(partition_index=1, error_code=6)
                        ],
                    )
                ],
            )
        ]
    ),
    TxnOffsetCommitRequest(
        transactional_id="txn-1",
        group_id="g",
        producer_id=4001,
        producer_epoch=3,
        topics=[
            TxnOffsetCommitRequestTopic(
                name="in",
                partitions=[
                    TxnOffsetCommitRequestPartition(
                        partition_index=1,
                        committed_offset=42,
                        committed_leader_epoch=2,
                        committed_metadata="m",
                    )
                ],
            )
        ],
    ),
    TxnOffsetCommitResponse(
        throttle_time_ms=7,
        topics=[
            TxnOffsetCommitResponseTopic(
                name="in",
                partitions=[TxnOffsetCommitResponsePartition(partition_index=1, error_code=22)],
            )
        ],
    ),
    # kafka-transactions' questions (KIP-664).
    DescribeProducersRequest(topics=[TopicRequest(name="orders", partition_indexes=[0, 2])]),
    DescribeProducersResponse(
        throttle_time_ms=3,
        topics=[
            TopicResponse(
                name="orders",
                partitions=[
                    PartitionResponse(
                        partition_index=2,
                        error_code=6,
                        error_message="not a replica",
                        active_producers=[
                            ProducerState(
                                producer_id=4001,
                                producer_epoch=3,
                                last_sequence=41,
                                last_timestamp=1_700_000_000_123,
                                coordinator_epoch=7,
                                current_txn_start_offset=1_000,
                            )
                        ],
                    )
                ],
            )
        ],
    ),
    DescribeTransactionsRequest(transactional_ids=["txn-1", "txn-2"]),
    DescribeTransactionsResponse(
        throttle_time_ms=2,
        transaction_states=[
            DescribedTxn(
                error_code=105,
                transactional_id="txn-1",
                transaction_state="Ongoing",
                transaction_timeout_ms=60_000,
                transaction_start_time_ms=1_700_000_000_000,
                producer_id=4001,
                producer_epoch=3,
                topics=[TopicData(topic="orders", partitions=[0, 2])],
            )
        ],
    ),
    ListTransactionsRequest(
        state_filters=["Ongoing", "Nonsense"], producer_id_filters=[4001], duration_filter=5_000
    ),
    ListTransactionsResponse(
        throttle_time_ms=1,
        error_code=14,
        unknown_state_filters=["Nonsense"],
        transaction_states=[
            ListedTxn(transactional_id="txn-1", producer_id=4001, transaction_state="Ongoing")
        ],
    ),
]

TXN_NULL_SAMPLES: list[Message] = [
    TxnOffsetCommitRequest(
        transactional_id="t",
        group_id="g",
        producer_id=1,
        producer_epoch=1,
        topics=[
            TxnOffsetCommitRequestTopic(
                name="in",
                partitions=[
                    TxnOffsetCommitRequestPartition(
                        partition_index=0, committed_offset=1, committed_metadata=None
                    )
                ],
            )
        ],
    ),
    DescribeProducersResponse(
        topics=[
            TopicResponse(
                name="orders", partitions=[PartitionResponse(partition_index=0, error_message=None)]
            )
        ]
    ),
]
