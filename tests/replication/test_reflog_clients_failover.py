"""reflog's own producer and consumer ride through a leader failover in the simulation.

After the leader dies they get NOT_LEADER_OR_FOLLOWER (or no answer), fetch Metadata again,
find the new leader and carry on: every record the producer saw acknowledged (acks=all) is
read by the consumer at its acknowledged offset.
"""

from __future__ import annotations

from pathlib import Path

from reflog.consumer import ConsumerConfig
from reflog.producer import ProducerConfig
from reflog.sim.node import NodeContext
from reflog.sim.workloads import ConsumerWorkload, ProducerWorkload
from reflog.wire.errors import ErrorCode

from .harness import replicated_cluster


class RecordingProducer(ProducerWorkload):
    """Keeps (offset, send id) for every acknowledged record."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.acknowledged: dict[int, int] = {}

    def on_wake(self, ctx: NodeContext) -> None:
        if self.rate_per_s > 0:
            if self._next_send_ms is None:
                self._next_send_ms = float(ctx.now_ms)
            while self._next_send_ms <= ctx.now_ms:
                self.producer.send(self.topic, b"%d" % self.sent, partition=0, now_ms=ctx.now_ms)
                self.sent += 1
                self._next_send_ms += 1000.0 / self.rate_per_s
        for result in self.producer.take_results():
            if result.error == ErrorCode.NONE:
                assert result.offset not in self.acknowledged, f"offset {result.offset} reused"
                self.acknowledged[result.offset] = result.send_id


def test_reflog_clients_follow_the_new_leader(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(11, tmp_path)
    bootstrap = tuple((f"broker-{b}", 9092) for b in (1, 2, 3))
    producer = RecordingProducer(
        "app",
        ProducerConfig(bootstrap_servers=bootstrap, client_id="app", acks=-1, linger_ms=5,
                       request_timeout_ms=2_000),
        tp.topic,
        rate_per_s=100,
    )  # fmt: skip
    consumer = ConsumerWorkload(
        "reader",
        ConsumerConfig(bootstrap_servers=bootstrap, client_id="reader", fetch_max_wait_ms=200,
                       request_timeout_ms=2_000, auto_offset_reset="earliest"),
        [tp],
    )  # fmt: skip
    cluster.sim.add_node(producer)
    cluster.sim.add_node(consumer)
    cluster.run_for(1_000)
    old = cluster.leader_of(tp)
    before = len(producer.acknowledged)
    assert before > 50
    last_before_crash = max(producer.acknowledged)
    cluster.crash(f"broker-{old}")
    cluster.run_for(4_000)
    assert cluster.leader_of(tp) not in (old, -1)
    assert len(producer.acknowledged) > before + 100  # it found the new leader and went on
    # So did the consumer, with the old leader still down: it is not waiting for it to return.
    assert max(r.offset for r in consumer.records) > last_before_crash + 100
    producer.rate_per_s = 0
    cluster.restart(f"broker-{old}")
    cluster.wait_until(
        lambda: (
            len(consumer.records) >= len(producer.acknowledged)
            and {r.offset for r in consumer.records} >= set(producer.acknowledged)
        ),
        timeout_ms=20_000,
    )
    read = {r.offset: r.value for r in consumer.records}
    for offset, send_id in producer.acknowledged.items():
        assert read[offset] == b"%d" % send_id
