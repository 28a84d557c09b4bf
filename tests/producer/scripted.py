"""A producer core driven by hand: the test plays the brokers, request by request.

:class:`ScriptedBroker` answers what every client asks first (ApiVersions, Metadata and,
unless told otherwise, InitProducerId) and hands the test each Produce request, which the
test answers with whatever error, offset or silence the scenario needs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from reflog.client.actions import Connect, Disconnect, Send
from reflog.producer import Producer, ProducerConfig
from reflog.records.batch import RecordBatch
from reflog.topic_partition import TopicPartition
from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import API_TABLE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from reflog.wire.messages.produce import (
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)

__all__ = ["Produced", "ScriptedBroker", "producer_config"]

LEADER = 1


def producer_config(**settings: object) -> ProducerConfig:
    defaults: dict[str, object] = {"bootstrap_servers": (("b", 1),), "linger_ms": 0}
    return ProducerConfig(**{**defaults, **settings})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Produced:
    """One batch of a Produce request the producer sent, as the broker reads it."""

    send: Send
    tp: TopicPartition
    batch: RecordBatch

    @property
    def ids(self) -> tuple[int, int, int]:
        """(producer id, epoch, base sequence) of the batch."""
        return (self.batch.producer_id, self.batch.producer_epoch, self.batch.base_sequence)

    @property
    def values(self) -> list[bytes | None]:
        return [r.value for r in self.batch.records()]


class ScriptedBroker:
    """One broker (node 1) leading every partition of topic ``t``."""

    def __init__(
        self,
        config: ProducerConfig,
        *,
        partitions: int = 1,
        producer_id: int = 7,
        init_errors: tuple[int, ...] = (),
        offer_init_producer_id: bool = True,
    ) -> None:
        self.producer = Producer(config, random.Random(0))
        self.partitions = partitions
        self.producer_id = producer_id
        self.init_errors = list(init_errors)  # answered, in order, before the id
        self.offer_init_producer_id = offer_init_producer_id
        self.init_requests = 0
        self.now_ms = 0
        self.produced: list[Produced] = []  # every batch sent, in order
        self.unanswered: list[Send] = []  # Produce requests awaiting the test's answer

    # -- time -------------------------------------------------------------------------
    def run(self, until_ms: int | None = None) -> None:
        """Tick the producer (at ``until_ms`` if given) and answer what it asks, until it
        sends nothing more that the script answers by itself."""
        if until_ms is not None:
            self.now_ms = until_ms
        while True:
            actions = self.producer.tick(self.now_ms)
            if not actions:
                return
            for action in actions:
                self._handle(action)

    def send(self, *values: bytes, partition: int = 0) -> list[int]:
        ids = [self.producer.send("t", v, partition=partition, now_ms=self.now_ms) for v in values]
        self.run()
        return ids

    def introduce(self, partition: int = 0) -> None:
        """Send one record to ``partition`` and acknowledge it at offset 0 (sequence 0):
        the leader now knows the producer, and batches may go five at a time."""
        self.producer.send("t", b"first", partition=partition, now_ms=self.now_ms)
        self.producer.flush()
        self.run()
        [first] = [p for p in self.take_produced() if p.tp.partition == partition]
        self.answer(first.send, base_offset=0)
        self.producer.take_results()

    # -- the test's answers -----------------------------------------------------------
    def take_produced(self) -> list[Produced]:
        """Batches sent since the last call."""
        out, self.produced = self.produced, []
        return out

    def answer(
        self,
        request: Send,
        error: int = ErrorCode.NONE,
        base_offset: int = -1,
        log_start_offset: int = 0,
    ) -> None:
        """Answer a whole Produce request, every partition in it alike."""
        assert isinstance(request.body, ProduceRequest)
        self.unanswered.remove(request)
        responses = [
            TopicProduceResponse(
                name=topic.name,
                partition_responses=[
                    PartitionProduceResponse(
                        index=p.index,
                        error_code=error,
                        base_offset=base_offset,
                        log_start_offset=log_start_offset,
                    )
                    for p in topic.partition_data
                ],
            )
            for topic in request.body.topic_data
        ]
        self.producer.network.response(
            LEADER, request.header.correlation_id, ProduceResponse(responses=responses), self.now_ms
        )
        self.run()

    def lose_connection(self) -> None:
        """The connection to the leader breaks: every answer on its way is lost."""
        self.unanswered.clear()
        self.producer.network.disconnected(LEADER, self.now_ms)
        self.run()

    # -- internals --------------------------------------------------------------------
    def _handle(self, action: Connect | Send | Disconnect) -> None:
        network = self.producer.network
        if isinstance(action, Connect):
            network.connected(action.node_id, self.now_ms)
            return
        if isinstance(action, Disconnect):
            network.disconnected(action.node_id, self.now_ms)
            return
        body, correlation = action.body, action.header.correlation_id
        if isinstance(body, ApiVersionsRequest):
            offer = [
                ApiVersion(
                    api_key=api.key, min_version=api.min_version, max_version=api.max_version
                )
                for api in API_TABLE.values()
                if api.key != ApiKey.INIT_PRODUCER_ID or self.offer_init_producer_id
            ]
            network.response(
                action.node_id, correlation, ApiVersionsResponse(api_keys=offer), self.now_ms
            )
        elif isinstance(body, MetadataRequest):
            network.response(action.node_id, correlation, self._metadata(), self.now_ms)
        elif isinstance(body, InitProducerIdRequest):
            self.init_requests += 1
            error = self.init_errors.pop(0) if self.init_errors else ErrorCode.NONE
            answer = InitProducerIdResponse(
                error_code=error,
                producer_id=self.producer_id if error == ErrorCode.NONE else -1,
                producer_epoch=0 if error == ErrorCode.NONE else -1,
            )
            network.response(action.node_id, correlation, answer, self.now_ms)
        elif isinstance(body, ProduceRequest):
            self.unanswered.append(action)
            for topic in body.topic_data:
                for p in topic.partition_data:
                    assert isinstance(p.records, bytes)
                    tp = TopicPartition(topic.name, p.index)
                    self.produced.append(Produced(action, tp, RecordBatch(p.records)))
        else:
            raise AssertionError(f"unexpected request {body!r}")

    def _metadata(self) -> MetadataResponse:
        partitions = [
            MetadataResponsePartition(
                error_code=0,
                partition_index=p,
                leader_id=LEADER,
                leader_epoch=0,
                replica_nodes=[LEADER],
                isr_nodes=[LEADER],
            )
            for p in range(self.partitions)
        ]
        return MetadataResponse(
            brokers=[MetadataResponseBroker(node_id=LEADER, host="b", port=1)],
            topics=[MetadataResponseTopic(error_code=0, name="t", partitions=partitions)],
        )
