"""delivery.timeout.ms on the simulated cluster: a record whose leader cannot be reached
fails with REQUEST_TIMED_OUT exactly ``delivery.timeout.ms`` after it was sent."""

from __future__ import annotations

from reflog.sim import Cluster
from reflog.wire.errors import ErrorCode

DELIVERY_TIMEOUT_MS = 4_000


def test_a_record_for_an_unreachable_leader_fails_exactly_delivery_timeout_ms_after_its_send() -> (
    None
):
    cluster = Cluster(seed=3, brokers=1, record=False)
    cluster.create_topic("t", 1)
    producer = cluster.add_producer(
        "p", "t", rate_per_s=100, request_timeout_ms=1_000, delivery_timeout_ms=DELIVERY_TIMEOUT_MS
    )
    results = producer.keep_results()
    cluster.run_for(1_000)  # metadata, a producer id (idempotent: acks=all), records written
    cluster.set_rate("p", 0)
    assert cluster.run_until(lambda: producer.producer.pending_count == 0)
    assert results and all(r.error == ErrorCode.NONE for r in results)
    written = len(results)

    [broker] = cluster.broker_nodes
    cluster.cut("p", broker)  # the broker runs on, but nothing gets through either way
    sent_at = cluster.now_ms
    cluster.set_rate("p", 1)  # one record now (the next would be due a second later)
    cluster.run_for(1)
    cluster.set_rate("p", 0)
    assert producer.sent == written + 1
    # Its request is lost, times out after request.timeout.ms, and is retried into the
    # same silence; the record fails at its deadline, not a millisecond earlier or later.
    assert cluster.run_until(lambda: producer.producer.pending_count == 0, timeout_ms=10_000)
    assert cluster.now_ms == sent_at + DELIVERY_TIMEOUT_MS
    [failed] = producer.producer.take_results()
    assert failed.error == ErrorCode.REQUEST_TIMED_OUT

    # Once the link is back, the producer goes on: its next records are written (the
    # failed batch's sequence number left a hole, so they go under a new epoch).
    cluster.heal()
    cluster.set_rate("p", 100)
    cluster.run_for(2_000)
    cluster.set_rate("p", 0)
    assert cluster.run_until(lambda: producer.producer.pending_count == 0)
    later = results[written:]
    assert len(later) > 100 and all(r.error == ErrorCode.NONE for r in later)
    assert producer.producer.idempotence is not None
    assert producer.producer.idempotence.epoch_bumps == 1
