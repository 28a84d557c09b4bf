"""A transaction coordinator whose state write the log refuses tells its producer so.

Kafka's TransactionStateManager.appendTransactionToLog turns the append's error into the
producer's: RECORD_LIST_TOO_LARGE (a batch over ``__transaction_state``'s segment.bytes)
reads as UNKNOWN_SERVER_ERROR. reflog answered success for a change it had not written.
"""

from __future__ import annotations

from reflog.sim import Cluster
from reflog.transactions.config import TXN_STATE_TOPIC
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
)
from reflog.wire.messages.find_coordinator import (
    TRANSACTION_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.transactions import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnTopic,
    EndTxnRequest,
    EndTxnResponse,
)

TXN_ID = "payments"


def coordinator(c: Cluster) -> int:
    ask = FindCoordinatorRequest(key=TXN_ID, key_type=TRANSACTION_KEY_TYPE)
    for _ in range(100):
        found = c.request(1, ask, version=3)
        assert isinstance(found, FindCoordinatorResponse)
        if found.error_code == ErrorCode.NONE:
            return found.node_id
        c.run_for(50)
    raise AssertionError("no transaction coordinator found")


def init_producer_id(c: Cluster, broker: int) -> InitProducerIdResponse:
    """The answer, once the broker has a block of producer ids to give from."""
    request = InitProducerIdRequest(transactional_id=TXN_ID, transaction_timeout_ms=60_000)
    for _ in range(100):
        answer = c.request(broker, request, version=4)
        assert isinstance(answer, InitProducerIdResponse)
        if answer.error_code != ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            return answer
        c.run_for(50)
    raise AssertionError("the coordinator never had a producer id to give")


def test_a_state_write_over_segment_bytes_is_unknown_server_error_and_not_success() -> None:
    c = Cluster(seed=3, brokers=1)
    broker = coordinator(c)
    first = init_producer_id(c, broker)
    assert first.error_code == ErrorCode.NONE
    c.alter_config(TXN_STATE_TOPIC, {"segment.bytes": "40"})  # less than one state record
    before = c.log_end_offsets(TXN_STATE_TOPIC)
    again = init_producer_id(c, broker)
    assert again.error_code == ErrorCode.UNKNOWN_SERVER_ERROR
    assert c.log_end_offsets(TXN_STATE_TOPIC) == before  # nothing written


def test_an_end_txn_whose_prepare_write_is_refused_fails_and_commits_nothing() -> None:
    c = Cluster(seed=3, brokers=1)
    c.create_topic("out", partitions=1, replication_factor=1)
    broker = coordinator(c)
    producer = init_producer_id(c, broker)
    pid, epoch = producer.producer_id, producer.producer_epoch
    add = AddPartitionsToTxnRequest(
        v3_and_below_transactional_id=TXN_ID,
        v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[AddPartitionsToTxnTopic(name="out", partitions=[0])],
    )
    added = c.request(broker, add, version=3)
    assert isinstance(added, AddPartitionsToTxnResponse)
    assert all(p.partition_error_code == 0 for t in added.results_by_topic_v3_and_below
               for p in t.results_by_partition)  # fmt: skip
    c.alter_config(TXN_STATE_TOPIC, {"segment.bytes": "40"})  # less than one state record
    commit = EndTxnRequest(transactional_id=TXN_ID, producer_id=pid, producer_epoch=epoch,
                           committed=True)  # fmt: skip
    ended = c.request(broker, commit, version=3)
    assert isinstance(ended, EndTxnResponse)
    assert ended.error_code == ErrorCode.UNKNOWN_SERVER_ERROR
    c.run_for(1_000)
    # Told the commit failed, the producer must find nothing committed: no COMMIT marker,
    # and the transaction still open, as before the request (Kafka reverts its state).
    assert c.log_end_offsets("out") == {0: 0}
    described = c.request(broker, DescribeTransactionsRequest(transactional_ids=[TXN_ID]), 0)
    assert isinstance(described, DescribeTransactionsResponse)
    [state] = described.transaction_states
    assert state.transaction_state == "Ongoing"
