"""The cluster's metadata as of some offset of the metadata log, rebuilt by replaying it.

Controllers and brokers hold the same :class:`MetadataImage`: registered brokers
(fenced or not), topics, and each partition's replicas, ISR, leader and leader
epoch. It only changes through :meth:`MetadataImage.apply`, one committed batch of
records at a time, so every node that has applied the same prefix of the log
holds the same image (Kafka's ``MetadataImage``/``MetadataDelta``, KIP-631).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from reflog.controller.records import (
    ConfigRecord,
    FenceBrokerRecord,
    MetadataRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    RemoveTopicRecord,
    TopicConfig,
    TopicRecord,
    UnfenceBrokerRecord,
)
from reflog.topic_partition import TopicPartition
from reflog.wire.schema import ZERO_UUID

__all__ = [
    "BROKER_RESOURCE",
    "TOPIC_RESOURCE",
    "BrokerRegistration",
    "MetadataImage",
    "PartitionState",
    "TopicImage",
]

# ConfigRecord's resource types (Kafka's ConfigResource.Type).
TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4


@dataclass(frozen=True)
class BrokerRegistration:
    broker_id: int
    broker_epoch: int
    host: str
    port: int
    fenced: bool


@dataclass(frozen=True)
class PartitionState:
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int
    partition_epoch: int
    # A reassignment under way (KIP-455): ``replicas`` holds the old and the new replicas
    # together until the new ones are in sync; then the removing ones leave.
    adding_replicas: tuple[int, ...] = ()
    removing_replicas: tuple[int, ...] = ()

    @property
    def target_replicas(self) -> tuple[int, ...]:
        """Where a reassignment moves the partition (its replicas when none is under way)."""
        return tuple(r for r in self.replicas if r not in self.removing_replicas)


@dataclass
class TopicImage:
    name: str
    configs: dict[str, str]
    partitions: dict[int, PartitionState] = field(default_factory=dict)
    topic_id: uuid.UUID = ZERO_UUID


@dataclass
class MetadataImage:
    offset: int = 0  # the metadata log offset (Raft index) of the last batch applied
    brokers: dict[int, BrokerRegistration] = field(default_factory=dict)
    topics: dict[str, TopicImage] = field(default_factory=dict)
    # The first producer id no broker has been given yet (KIP-730).
    next_producer_id: int = 0
    # Dynamic broker configs by broker id as a string ("": the cluster-wide default).
    broker_configs: dict[str, dict[str, str]] = field(default_factory=dict)

    def apply(self, offset: int, records: list[MetadataRecord]) -> None:
        for record in records:
            self._apply_one(record)
        self.offset = offset

    def _apply_one(self, record: MetadataRecord) -> None:
        if isinstance(record, RegisterBrokerRecord):
            self.brokers[record.broker_id] = BrokerRegistration(
                record.broker_id, record.broker_epoch, record.host, record.port, record.fenced
            )
        elif isinstance(record, FenceBrokerRecord | UnfenceBrokerRecord):
            broker = self.brokers.get(record.broker_id)
            if broker is not None and broker.broker_epoch == record.broker_epoch:
                fenced = isinstance(record, FenceBrokerRecord)
                self.brokers[record.broker_id] = replace(broker, fenced=fenced)
        elif isinstance(record, TopicRecord):
            configs = {c.name: c.value for c in record.configs}
            self.topics[record.name] = TopicImage(record.name, configs, topic_id=record.topic_id)
        elif isinstance(record, ProducerIdsRecord):
            self.next_producer_id = record.next_producer_id
        elif isinstance(record, ConfigRecord):
            self._apply_config(record)
        elif isinstance(record, RemoveTopicRecord):
            self.topics.pop(record.name, None)
        elif isinstance(record, PartitionRecord):
            self.topics[record.topic].partitions[record.partition] = PartitionState(
                tuple(record.replicas),
                tuple(record.isr),
                record.leader,
                record.leader_epoch,
                record.partition_epoch,
                tuple(record.adding_replicas),
                tuple(record.removing_replicas),
            )
        else:
            partitions = self.topics[record.topic].partitions
            state = replace(
                partitions[record.partition],
                leader=record.leader,
                isr=tuple(record.isr),
                leader_epoch=record.leader_epoch,
                partition_epoch=record.partition_epoch,
            )
            if record.replicas is not None:
                state = replace(
                    state,
                    replicas=tuple(record.replicas),
                    adding_replicas=tuple(record.adding_replicas or ()),
                    removing_replicas=tuple(record.removing_replicas or ()),
                )
            partitions[record.partition] = state

    def _apply_config(self, record: ConfigRecord) -> None:
        if record.resource_type == TOPIC_RESOURCE:
            topic = self.topics.get(record.resource_name)
            configs = None if topic is None else topic.configs
        else:
            configs = self.broker_configs.setdefault(record.resource_name, {})
        if configs is None:
            return
        if record.value is None:
            configs.pop(record.name, None)
        else:
            configs[record.name] = record.value

    # -- questions ----------------------------------------------------------------------
    def partition(self, tp: TopicPartition) -> PartitionState | None:
        topic = self.topics.get(tp.topic)
        return None if topic is None else topic.partitions.get(tp.partition)

    def partitions(self) -> list[tuple[TopicPartition, PartitionState]]:
        return [
            (TopicPartition(name, p), state)
            for name, topic in sorted(self.topics.items())
            for p, state in sorted(topic.partitions.items())
        ]

    def live_brokers(self) -> list[BrokerRegistration]:
        """Registered and not fenced, by id: the brokers clients may be sent to."""
        return [b for _, b in sorted(self.brokers.items()) if not b.fenced]

    # -- snapshots ----------------------------------------------------------------------
    def to_records(self) -> list[MetadataRecord]:
        """Records that rebuild this image from nothing: what a snapshot holds."""
        records: list[MetadataRecord] = [
            RegisterBrokerRecord(
                broker_id=b.broker_id,
                broker_epoch=b.broker_epoch,
                host=b.host,
                port=b.port,
                fenced=b.fenced,
            )
            for _, b in sorted(self.brokers.items())
        ]
        for name, topic in sorted(self.topics.items()):
            configs = [TopicConfig(name=k, value=v) for k, v in sorted(topic.configs.items())]
            records.append(TopicRecord(name=name, configs=configs, topic_id=topic.topic_id))
            for p, s in sorted(topic.partitions.items()):
                records.append(
                    PartitionRecord(
                        topic=name,
                        partition=p,
                        replicas=list(s.replicas),
                        isr=list(s.isr),
                        leader=s.leader,
                        leader_epoch=s.leader_epoch,
                        partition_epoch=s.partition_epoch,
                        adding_replicas=list(s.adding_replicas),
                        removing_replicas=list(s.removing_replicas),
                    )
                )
        for resource, broker_configs in sorted(self.broker_configs.items()):
            for name, value in sorted(broker_configs.items()):
                records.append(
                    ConfigRecord(
                        resource_type=BROKER_RESOURCE,
                        resource_name=resource,
                        name=name,
                        value=value,
                    )
                )
        if self.next_producer_id > 0:  # a snapshot must not forget which ids are gone
            records.append(
                ProducerIdsRecord(
                    broker_id=-1, broker_epoch=-1, next_producer_id=self.next_producer_id
                )
            )
        return records

    @classmethod
    def from_records(cls, offset: int, records: list[MetadataRecord]) -> MetadataImage:
        image = cls()
        image.apply(offset, records)
        return image


def partition_change(
    tp: TopicPartition,
    state: PartitionState,
    leader: int,
    isr: tuple[int, ...],
    reassignment: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None,
) -> PartitionChangeRecord:
    """The record moving ``state`` to (``leader``, ``isr``): a new leader bumps the leader epoch.
    ``reassignment`` (replicas, adding, removing) also changes the replica set."""
    leader_epoch = state.leader_epoch + (1 if leader != state.leader else 0)
    replicas, adding, removing = reassignment or (None, None, None)
    return PartitionChangeRecord(
        topic=tp.topic,
        partition=tp.partition,
        leader=leader,
        isr=list(isr),
        leader_epoch=leader_epoch,
        partition_epoch=state.partition_epoch + 1,
        replicas=None if replicas is None else list(replicas),
        adding_replicas=None if adding is None else list(adding),
        removing_replicas=None if removing is None else list(removing),
    )
