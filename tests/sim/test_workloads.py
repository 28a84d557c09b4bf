"""The simulated producer workload hands records over late when nothing could tell."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflog.producer import ProducerConfig
from reflog.records import iter_batches
from reflog.sim import Cluster
from reflog.sim.kafka_nodes import SimRequest
from reflog.sim.network import LinkConfig
from reflog.sim.node import NodeContext
from reflog.sim.trace import MessageSent, TimerFired
from reflog.sim.workloads import ProducerWorkload


class EagerProducer(ProducerWorkload):
    """Wakes at every record: a workload with its own on_wake is never lazy."""

    def on_wake(self, ctx: NodeContext) -> None:
        super().on_wake(ctx)


def run(
    tmp_path: Path,
    producer_type: type[ProducerWorkload],
    batch_size: int,
    latency_ms: int,
    acks: int,
) -> Cluster:
    # A fixed latency: the lazy workload's timers sit elsewhere among the events of a
    # millisecond, which would give the network's latency draws to other messages.
    cluster = Cluster(
        seed=5,
        brokers=1,
        data_dir=tmp_path,
        network=LinkConfig(latency_ms, latency_ms),
        record=False,
    )
    cluster.create_topic("t", 3, replication_factor=1)
    config = ProducerConfig(
        bootstrap_servers=cluster.bootstrap, client_id="p", acks=acks, batch_size=batch_size
    )
    producer = producer_type("p", config, "t", rate_per_s=2_000)
    cluster.sim.add_node(producer)
    cluster.producers["p"] = producer
    cluster.run_for(700)
    cluster.set_rate("p", 300)
    cluster.run_for(300)
    cluster.set_rate("p", 3_500)
    cluster.run_for(500)
    return cluster


def batches(cluster: Cluster) -> list[tuple[int, int, int, int, int]]:
    log_dir = cluster.brokers[1].config.log_dir
    return [
        (partition, b.base_offset, b.record_count, b.base_timestamp, b.max_timestamp)
        for partition in range(3)
        for b in iter_batches(
            (log_dir / f"t-{partition}" / "00000000000000000000.log").read_bytes()
        )
    ]


# With a 4 ms latency a produce request's round trip outlasts linger.ms (5): batches go when
# they lingered enough. batch.size 200 fills a batch every ~6 records (3 ms): with a 1 ms
# latency, batches go when full (and fewer records wait between wakes). acks=all makes the
# producer idempotent, with up to five batches in flight per partition.
@pytest.mark.parametrize(
    ("batch_size", "latency_ms", "acks", "wake_ratio"),
    [
        (16_384, 4, 1, 0.5),
        (16_384, 1, 1, 0.5),
        (200, 1, 1, 0.95),
        (16_384, 4, -1, 0.5),
        (200, 1, -1, 0.95),
    ],
)
def test_a_lazy_producer_workload_writes_the_same_batches_as_one_waking_at_every_record(
    tmp_path: Path, batch_size: int, latency_ms: int, acks: int, wake_ratio: float
) -> None:
    lazy = run(tmp_path / "lazy", ProducerWorkload, batch_size, latency_ms, acks)
    eager = run(tmp_path / "eager", EagerProducer, batch_size, latency_ms, acks)
    lazy_p, eager_p = lazy.producers["p"], eager.producers["p"]
    assert lazy_p.sent == eager_p.sent > 2_500
    assert lazy_p.acked == eager_p.acked and lazy_p.failed == eager_p.failed == 0
    assert batches(lazy) == batches(eager)
    assert requests(lazy) == requests(eager)  # each sent at the same time
    assert len(batches(lazy)) < lazy_p.sent / 3  # batches of several records, not one each
    # ...with far fewer wakes of the producer's node
    assert wakes(lazy) < wakes(eager) * wake_ratio


def wakes(cluster: Cluster) -> int:
    return sum(1 for e in cluster.sim.trace.events if isinstance(e, TimerFired) and e.node == "p")


def requests(cluster: Cluster) -> list[tuple[int, str]]:
    """When the producer sent what."""
    return [
        (e.at_ms, type(e.payload.body).__name__)
        for e in cluster.sim.trace.events
        if isinstance(e, MessageSent) and e.src == "p" and isinstance(e.payload, SimRequest)
    ]
