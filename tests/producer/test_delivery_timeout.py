"""delivery.timeout.ms in the producer core, against scripted broker answers.

Kafka's producer fails a record that has no acknowledgement ``delivery.timeout.ms`` after
its batch was created, with a TimeoutException (REQUEST_TIMED_OUT on the wire's terms),
wherever the batch is: waiting to be sent, queued for a retry, or on the wire.
"""

from __future__ import annotations

import pytest

from reflog.producer import ProducerConfig
from reflog.wire.errors import ErrorCode

from .scripted import ScriptedBroker, producer_config

BACKOFF = producer_config().retry_backoff_ms


def test_a_batch_waiting_to_be_sent_fails_exactly_at_delivery_timeout() -> None:
    # No producer id comes (the broker keeps answering "not yet"), so the batch never
    # leaves; it fails at its deadline, and the producer wakes for it.
    broker = ScriptedBroker(
        producer_config(delivery_timeout_ms=1_500, request_timeout_ms=1_000),
        init_errors=(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,) * 100,
    )
    [send_id] = broker.send(b"a")
    assert broker.take_produced() == []
    for now in range(BACKOFF, 1_500, BACKOFF):
        broker.run(now)  # each InitProducerId retry is refused again
    assert broker.producer.take_results() == []
    assert broker.producer.next_deadline_ms() == 1_500
    broker.run(1_500)
    [result] = broker.producer.take_results()
    assert (result.send_id, result.error) == (send_id, ErrorCode.REQUEST_TIMED_OUT)
    assert broker.producer.pending_count == 0


def test_a_batch_on_the_wire_fails_at_delivery_timeout_and_its_late_answer_counts() -> None:
    broker = ScriptedBroker(producer_config(delivery_timeout_ms=1_500, request_timeout_ms=1_000))
    broker.introduce()
    [a_id] = broker.send(b"a")
    [a] = broker.take_produced()
    broker.run(1_000)  # no answer within request.timeout.ms: the request fails
    broker.run(1_000 + BACKOFF)
    [retry] = broker.take_produced()  # the retry is on the wire when the deadline comes
    assert retry.ids == a.ids
    broker.run(1_499)
    assert broker.producer.take_results() == []
    broker.run(1_500)
    [result] = broker.producer.take_results()
    assert (result.send_id, result.error) == (a_id, ErrorCode.REQUEST_TIMED_OUT)
    # The retry was written after all: the answer reports nothing more, but the producer
    # learns its sequence was used, so the next batch follows it under the same epoch.
    broker.answer(retry.send, base_offset=1)
    assert broker.producer.take_results() == []
    broker.send(b"b")
    [b] = broker.take_produced()
    assert b.ids == (7, 0, 2)


def test_a_batch_expired_while_queued_for_a_retry_leaves_a_hole_later_ones_renumbered() -> None:
    broker = ScriptedBroker(
        producer_config(delivery_timeout_ms=1_500, request_timeout_ms=1_000, retry_backoff_ms=600)
    )
    broker.introduce()
    [a_id] = broker.send(b"a")
    [a] = broker.take_produced()
    broker.answer(a.send, ErrorCode.NOT_LEADER_OR_FOLLOWER)  # retried at 600
    broker.run(600)
    [a_again] = broker.take_produced()
    broker.answer(a_again.send, ErrorCode.NOT_LEADER_OR_FOLLOWER)  # retried at 1_200
    broker.run(1_000)
    broker.send(b"b")  # created at 1_000: it has until 2_500
    broker.run(1_500)  # a, queued for its retry at 1_200, expires now
    results = broker.producer.take_results()
    assert [(r.send_id, r.error) for r in results] == [(a_id, ErrorCode.REQUEST_TIMED_OUT)]
    # a's number (1) may or may not be in the log: b cannot go as 2 behind it, so it goes
    # as 0 under a new epoch.
    [b] = broker.take_produced()
    assert b.ids == (7, 1, 0)


def test_delivery_timeout_must_leave_room_for_linger_and_one_request() -> None:
    servers = (("b", 1),)
    with pytest.raises(ValueError, match=r"equal to or larger than linger\.ms"):
        ProducerConfig(
            bootstrap_servers=servers,
            linger_ms=100,
            request_timeout_ms=1_000,
            delivery_timeout_ms=1_050,
        )
    enough = ProducerConfig(
        bootstrap_servers=servers,
        linger_ms=100,
        request_timeout_ms=1_000,
        delivery_timeout_ms=1_100,
    )
    assert enough.delivery_timeout_ms == 1_100
