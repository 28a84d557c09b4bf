"""The cluster's metadata as of some offset of the metadata log, rebuilt by replaying it.

Controllers and brokers hold the same :class:`MetadataImage`: registered brokers
(fenced or not), topics, and each partition's replicas, ISR, leader and leader
epoch. It only changes through :meth:`MetadataImage.apply`, one committed batch of
records at a time, so every node that has applied the same prefix of the log
holds the same image (Kafka's ``MetadataImage``/``MetadataDelta``, KIP-631).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from reflog.controller.records import (
    FenceBrokerRecord,
    MetadataRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    TopicConfig,
    TopicRecord,
    UnfenceBrokerRecord,
)
from reflog.topic_partition import TopicPartition

__all__ = ["BrokerRegistration", "MetadataImage", "PartitionState", "TopicImage"]


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


@dataclass
class TopicImage:
    name: str
    configs: dict[str, str]
    partitions: dict[int, PartitionState] = field(default_factory=dict)


@dataclass
class MetadataImage:
    offset: int = 0  # the metadata log offset (Raft index) of the last batch applied
    brokers: dict[int, BrokerRegistration] = field(default_factory=dict)
    topics: dict[str, TopicImage] = field(default_factory=dict)
    # The first producer id no broker has been given yet (KIP-730).
    next_producer_id: int = 0

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
            self.topics[record.name] = TopicImage(record.name, configs)
        elif isinstance(record, ProducerIdsRecord):
            self.next_producer_id = record.next_producer_id
        elif isinstance(record, PartitionRecord):
            self.topics[record.topic].partitions[record.partition] = PartitionState(
                tuple(record.replicas),
                tuple(record.isr),
                record.leader,
                record.leader_epoch,
                record.partition_epoch,
            )
        else:
            partitions = self.topics[record.topic].partitions
            partitions[record.partition] = replace(
                partitions[record.partition],
                leader=record.leader,
                isr=tuple(record.isr),
                leader_epoch=record.leader_epoch,
                partition_epoch=record.partition_epoch,
            )

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
            records.append(TopicRecord(name=name, configs=configs))
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
    tp: TopicPartition, state: PartitionState, leader: int, isr: tuple[int, ...]
) -> PartitionChangeRecord:
    """The record moving ``state`` to (``leader``, ``isr``): a new leader bumps the leader epoch."""
    leader_epoch = state.leader_epoch + (1 if leader != state.leader else 0)
    return PartitionChangeRecord(
        topic=tp.topic,
        partition=tp.partition,
        leader=leader,
        isr=list(isr),
        leader_epoch=leader_epoch,
        partition_epoch=state.partition_epoch + 1,
    )
