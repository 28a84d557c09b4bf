"""A transaction coordinator whose state write the log refuses tells its producer so.

Kafka's TransactionStateManager.appendTransactionToLog turns the append's error into the
producer's: RECORD_LIST_TOO_LARGE (a batch over ``__transaction_state``'s segment.bytes)
reads as UNKNOWN_SERVER_ERROR. reflog answered success for a change it had not written.
"""

from __future__ import annotations

from reflog.sim import Cluster
from reflog.transactions.config import TXN_STATE_TOPIC
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import (
    TRANSACTION_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse

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
