"""A broker's requests to other nodes end exactly once: answered, failed or expired."""

from __future__ import annotations

from pathlib import Path

from reflog.broker import Broker, Forward, SendToBroker
from reflog.config import BrokerConfig
from reflog.controller.broker_lifecycle import BrokerLifecycle
from reflog.controller.records import RegisterBrokerRecord
from reflog.outbound import REQUEST_TIMEOUT_MS, Outbound, OutboundRequests
from reflog.wire.api_keys import ApiKey
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.fetch import FetchRequest
from reflog.wire.messages.quorum import BrokerRegistrationRequest


def core(tmp_path: Path) -> OutboundRequests:
    broker = Broker(BrokerConfig(node_id=0, log_dir=tmp_path))
    lifecycle = BrokerLifecycle(0, "127.0.0.1", 9092, [1, 2], now_ms=0)
    return OutboundRequests(broker, lifecycle)


def sends(out: list[object]) -> list[Outbound]:
    return [o for o in out if isinstance(o, Outbound)]


def test_the_lifecycle_registers_with_the_first_controller(tmp_path: Path) -> None:
    [register] = sends(core(tmp_path).tick(0))
    assert register.to == 1 and isinstance(register.request, BrokerRegistrationRequest)


def test_a_forward_that_fails_is_sent_again_and_its_answer_goes_to_the_client(
    tmp_path: Path,
) -> None:
    requests = core(tmp_path)
    create = CreateTopicsRequest(topics=[CreatableTopic(name="t")], timeout_ms=30_000)
    client = (7, RequestHeader(ApiKey.CREATE_TOPICS, 4, correlation_id=3))
    [first] = sends(requests.deliver(0, [Forward(create, client)]))
    assert first.to == 1 and first.request == create
    [again] = sends(requests.on_answer(10, first.request_id, None))  # connection refused
    assert again.request == create and again.request_id != first.request_id
    ok = CreateTopicsResponse(topics=[CreatableTopicResult(name="t", error_code=ErrorCode.NONE)])
    assert requests.on_answer(20, first.request_id, ok) == []  # the failed one is over
    [respond] = requests.on_answer(20, again.request_id, ok)
    assert not isinstance(respond, Outbound) and respond.conn == 7 and respond.response == ok


def test_a_fetch_nobody_answers_expires_and_a_late_answer_is_dropped(tmp_path: Path) -> None:
    requests = core(tmp_path)
    requests.lifecycle.image.apply(1, [RegisterBrokerRecord(2, 1, "127.0.0.1", 9093, False)])
    [fetch] = sends(requests.deliver(0, [SendToBroker(2, FetchRequest(replica_id=0))]))
    assert fetch.to == requests.lifecycle.image.brokers[2]
    deadline = requests.broker.config.replica_fetch_wait_max_ms + REQUEST_TIMEOUT_MS
    assert requests.next_deadline_ms() <= deadline == fetch.timeout_ms
    requests.tick(deadline)
    assert fetch.request_id not in requests.in_flight
    assert requests.on_answer(deadline + 1, fetch.request_id, None) == []


def test_a_fetch_for_a_broker_the_metadata_does_not_know_is_not_sent(tmp_path: Path) -> None:
    requests = core(tmp_path)
    assert requests.deliver(0, [SendToBroker(5, FetchRequest(replica_id=0))]) == []
    assert requests.in_flight == {}
