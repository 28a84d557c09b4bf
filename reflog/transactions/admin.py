"""What ``kafka-transactions.sh`` asks a broker (KIP-664): who writes to a partition, and
which transactions its coordinator knows.

* DescribeProducers: the partition's producer-state table, from any replica that holds
  the partition (Kafka: ``ReplicaManager.activeProducerState``). Each producer's open
  transaction starts at the first offset the partition's transaction index has for it.
* ListTransactions: the transactional ids of every ``__transaction_state`` partition
  this broker leads, filtered in the coordinator core; COORDINATOR_LOAD_IN_PROGRESS while
  any of them is still being read back.
* DescribeTransactions: each id's state, from its coordinator; NOT_COORDINATOR (or
  COORDINATOR_LOAD_IN_PROGRESS) for an id this broker does not own (yet).

The fourth thing the tool does, aborting a hanging transaction (``abort``), is a
WriteTxnMarkers request to the partition's leader, which :class:`TxnHost` answers as it
answers its own coordinator's markers.

reflog simplification: a producer's LastTimestamp is its latest data batch's time; a
transaction marker does not move it (in Kafka it does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    PartitionResponse,
    ProducerState,
    TopicResponse,
)
from reflog.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    TransactionState,
)
from reflog.wire.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
)

if TYPE_CHECKING:
    from reflog.transactions.host import TxnHost

__all__ = ["describe_producers", "describe_transactions", "list_transactions"]


def describe_producers(
    host: TxnHost, request: DescribeProducersRequest
) -> DescribeProducersResponse:
    return DescribeProducersResponse(
        topics=[
            TopicResponse(
                name=topic.name,
                partitions=[
                    _partition_producers(host, TopicPartition(topic.name, p))
                    for p in topic.partition_indexes
                ],
            )
            for topic in request.topics
        ]
    )


def _partition_producers(host: TxnHost, tp: TopicPartition) -> PartitionResponse:
    if host.broker.image.partition(tp) is None:
        return PartitionResponse(
            partition_index=tp.partition, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        )
    log_ = host.broker.logs.get(tp)
    if log_ is None:  # the partition exists, but this broker holds no replica of it
        return PartitionResponse(
            partition_index=tp.partition, error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER
        )
    open_at = log_.transactions.ongoing
    return PartitionResponse(
        partition_index=tp.partition,
        error_code=ErrorCode.NONE,
        active_producers=[
            ProducerState(
                producer_id=entry.producer_id,
                producer_epoch=entry.producer_epoch,
                last_sequence=entry.last_seq,
                last_timestamp=entry.last_timestamp,
                coordinator_epoch=entry.coordinator_epoch,
                current_txn_start_offset=open_at.get(entry.producer_id, -1),
            )
            for entry in sorted(log_.producer_state.producers.values(), key=lambda e: e.producer_id)
        ],
    )


def list_transactions(
    host: TxnHost, request: ListTransactionsRequest, now_ms: int
) -> ListTransactionsResponse:
    if host.loading:
        return ListTransactionsResponse(error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    return host.coordinator.list_transactions(
        now_ms, request.state_filters, request.producer_id_filters, request.duration_filter
    )


def describe_transactions(
    host: TxnHost, request: DescribeTransactionsRequest
) -> DescribeTransactionsResponse:
    described = []
    for transactional_id in request.transactional_ids:
        if not transactional_id:
            error: int | None = ErrorCode.INVALID_REQUEST
        else:
            error = host.txn_error(transactional_id)
        if error is not None:
            described.append(TransactionState(error_code=error, transactional_id=transactional_id))
        else:
            described.append(host.coordinator.describe_transaction(transactional_id))
    return DescribeTransactionsResponse(transaction_states=described)
