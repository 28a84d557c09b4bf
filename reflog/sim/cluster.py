"""The in-kernel cluster that notebooks build, run, watch and break.

``Cluster`` puts brokers, producers and consumers on one seeded
:class:`~reflog.sim.world.Simulation`. Its logs are real files in a data
directory. Everything a notebook prints comes from the deterministic run, so
the same seed prints the same text.

reflog simplification (until the controller and replication chapters): a
cluster has one broker, which leads every partition.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from reflog.config import BrokerConfig
from reflog.consumer import ConsumerConfig
from reflog.controller.image import MetadataImage
from reflog.controller.records import (
    MetadataRecord,
    PartitionRecord,
    RegisterBrokerRecord,
    TopicConfig,
    TopicRecord,
)
from reflog.producer import ProducerConfig
from reflog.sim.kafka_nodes import BrokerNode, wire_roundtrip
from reflog.sim.network import LinkConfig
from reflog.sim.workloads import ConsumerWorkload, ProducerWorkload
from reflog.sim.world import Simulation
from reflog.topic_partition import TopicPartition

__all__ = ["Cluster"]

BROKER_PORT = 9092


class Cluster:
    def __init__(
        self,
        *,
        seed: int = 0,
        brokers: int = 1,
        topics: dict[str, int] | None = None,
        data_dir: Path | None = None,
        network: LinkConfig | None = None,
        wire_roundtrip_requests: bool = False,
        num_partitions: int = 3,
        topic_configs: dict[str, dict[str, str]] | None = None,
        log_retention_check_interval_ms: int = 300_000,
    ) -> None:
        if brokers != 1:
            raise ValueError(
                "this chapter's cluster has exactly one broker (replication comes later)"
            )
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="reflog-cluster-"))
            # A cluster that made its own directory removes it when it is garbage-collected.
            weakref.finalize(self, shutil.rmtree, data_dir, True)
        self.data_dir = data_dir
        self.sim = Simulation(
            seed,
            network or LinkConfig(latency_ms_min=1, latency_ms_max=3),
            payload_filter=wire_roundtrip if wire_roundtrip_requests else None,
        )
        self.brokers: list[BrokerNode] = []
        for node_id in range(brokers):
            name = f"broker-{node_id}"
            config = BrokerConfig(
                node_id=node_id,
                log_dir=self.data_dir / name,
                host=name,
                port=BROKER_PORT,
                num_partitions=num_partitions,
                log_retention_check_interval_ms=log_retention_check_interval_ms,
            )
            node = BrokerNode(name, config)
            self.brokers.append(node)
            self.sim.add_node(node)
        self.producers: list[ProducerWorkload] = []
        self.consumers: list[ConsumerWorkload] = []
        self.sim.start()
        for topic, partitions in (topics or {}).items():
            self.create_topic(topic, partitions, (topic_configs or {}).get(topic))

    @property
    def bootstrap(self) -> tuple[tuple[str, int], ...]:
        return tuple((b.name, BROKER_PORT) for b in self.brokers)

    @property
    def now_ms(self) -> int:
        return self.sim.now_ms

    # -- building ---------------------------------------------------------------------
    def create_topic(
        self, name: str, partitions: int, configs: dict[str, str] | None = None
    ) -> None:
        """Create a topic on the broker directly (an admin shortcut, no request sent).

        Stopgap until this one-broker cluster gives way to one with controllers: the
        broker follows a metadata image written here, not a controller's log."""
        broker = self.brokers[0].broker
        assert broker is not None
        me, image = broker.config.node_id, broker.image
        records: list[MetadataRecord] = []
        if me not in image.brokers:
            records.append(RegisterBrokerRecord(me, 1, broker.config.host, BROKER_PORT, False))
        topic_configs = [TopicConfig(name=k, value=v) for k, v in (configs or {}).items()]
        records.append(TopicRecord(name=name, configs=topic_configs))
        records += [PartitionRecord(name, p, [me], [me], me) for p in range(partitions)]
        new = MetadataImage.from_records(image.offset, image.to_records())
        new.apply(image.offset + 1, records)
        broker.apply_metadata(new, self.now_ms)

    def add_producer(
        self,
        name: str,
        topic: str,
        *,
        rate_per_s: float,
        keys: Sequence[bytes] | None = None,
        key_weights: Sequence[float] | None = None,
        acks: int = 1,
        linger_ms: int = 5,
        batch_size: int = 16_384,
    ) -> ProducerWorkload:
        config = ProducerConfig(
            bootstrap_servers=self.bootstrap,
            client_id=name,
            acks=acks,
            linger_ms=linger_ms,
            batch_size=batch_size,
            request_timeout_ms=2_000,
        )
        producer = ProducerWorkload(
            name, config, topic, rate_per_s=rate_per_s, keys=keys, key_weights=key_weights
        )
        self.producers.append(producer)
        self.sim.add_node(producer)
        return producer

    def add_consumer(
        self,
        name: str,
        topic: str,
        partitions: Sequence[int],
        *,
        auto_offset_reset: str = "earliest",
    ) -> ConsumerWorkload:
        config = ConsumerConfig(
            bootstrap_servers=self.bootstrap,
            client_id=name,
            auto_offset_reset=auto_offset_reset,
            fetch_max_wait_ms=200,
            request_timeout_ms=2_000,
        )
        consumer = ConsumerWorkload(name, config, [TopicPartition(topic, p) for p in partitions])
        self.consumers.append(consumer)
        self.sim.add_node(consumer)
        return consumer

    # -- running ----------------------------------------------------------------------
    def run_for(self, ms: int) -> None:
        self.sim.run_for(ms)

    def run_until(self, condition: Callable[[], bool], timeout_ms: int) -> bool:
        return self.sim.run_until(condition, timeout_ms)

    def step(self) -> bool:
        return self.sim.step()

    def crash(self, name: str) -> None:
        self.sim.crash(name)

    def restart(self, name: str) -> None:
        self.sim.restart(name)

    # -- looking ----------------------------------------------------------------------
    def log_end_offsets(self, topic: str) -> dict[int, int]:
        """Partition -> log end offset, read from the broker's logs on disk."""
        broker = self.brokers[0].broker
        if broker is None:
            return {}
        return {tp.partition: log.log_end_offset for tp, log in broker.logs if tp.topic == topic}

    def log_sizes(self, topic: str) -> dict[int, int]:
        """Partition -> bytes of its log file on disk."""
        broker_dir = self.brokers[0].config.log_dir
        sizes = {}
        for path in sorted(broker_dir.glob(f"{topic}-*")):
            partition = int(path.name.rsplit("-", 1)[1])
            sizes[partition] = sum(f.stat().st_size for f in path.iterdir() if f.suffix == ".log")
        return sizes
