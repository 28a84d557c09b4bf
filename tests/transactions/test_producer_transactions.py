"""The transactional producer's side, driven by hand: the test plays the brokers."""

from __future__ import annotations

import random
from pathlib import Path

from reflog.client.actions import ClientAction, Connect, Send
from reflog.producer import Producer, ProducerConfig
from reflog.producer.transactions import TransactionState
from reflog.sim import Cluster
from reflog.sim.kafka_nodes import ClientNode, SimRequest
from reflog.sim.node import NodeContext
from reflog.sim.trace import MessageSent
from reflog.storage.producer_state import BatchMetadata
from reflog.topic_partition import TopicPartition
from reflog.transactions.config import TxnConfig
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.init_producer_id import InitProducerIdRequest
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.messages.produce import ProduceRequest
from reflog.wire.messages.transactions import AddPartitionsToTxnRequest, EndTxnRequest
from reflog.wire.schema import Request, Response

# Metadata, FindCoordinator, InitProducerId.
OFFER = [ApiVersion(api_key=k, min_version=0, max_version=v) for k, v in ((3, 8), (10, 3), (22, 2))]


def answer(producer: Producer, request: ClientAction, body: Response, now_ms: int) -> None:
    assert isinstance(request, Send)
    producer.network.response(request.node_id, request.header.correlation_id, body, now_ms)


def connect(producer: Producer, node_id: int, now_ms: int) -> None:
    """The connection is up and ApiVersions answered."""
    producer.network.connected(node_id, now_ms)
    [versions] = producer.tick(now_ms)
    assert isinstance(versions, Send) and isinstance(versions.body, ApiVersionsRequest)
    answer(producer, versions, ApiVersionsResponse(error_code=0, api_keys=OFFER), now_ms)


def test_the_transaction_coordinator_is_reached_at_the_address_find_coordinator_gave() -> None:
    # The broker asked for metadata had just restarted and listed no broker; the coordinator
    # FindCoordinator names must still be reached (seed 42 of the transaction fault test
    # sat in InitProducerId, its coordinator unknown to metadata, for metadata.max.age.ms).
    config = ProducerConfig(bootstrap_servers=(("b", 1),), transactional_id="t")
    producer = Producer(config, random.Random(0))
    producer.init_transactions()
    assert producer.tick(0) == [Connect(-1, "b", 1)]
    connect(producer, -1, 0)
    asked = {type(a.body): a for a in producer.tick(1) if isinstance(a, Send)}
    answer(producer, asked[MetadataRequest], MetadataResponse(), 2)
    find = asked[FindCoordinatorRequest]
    answer(producer, find, FindCoordinatorResponse(node_id=2, host="coordinator", port=2), 2)
    assert producer.tick(3) == [Connect(2, "coordinator", 2)]
    connect(producer, 2, 3)
    [init] = producer.tick(4)
    assert isinstance(init, Send) and isinstance(init.body, InitProducerIdRequest)
    assert init.node_id == 2


class TransactionalNode(ClientNode):
    """A simulated node "p" whose transactional producer starts with init_transactions."""

    def __init__(self, config: ProducerConfig) -> None:
        super().__init__("p", self._make_producer)
        self.config = config

    def _make_producer(self, ctx: NodeContext) -> Producer:
        producer = Producer(self.config, ctx.rng)
        producer.init_transactions()
        return producer

    @property
    def producer(self) -> Producer:
        assert isinstance(self.core, Producer)
        return self.core


class OneTransaction(TransactionalNode):
    """Once it has its producer id, sends a record to each of partitions 0-2 of topic t in
    one transaction, and commits it (or aborts it at once)."""

    def __init__(self, config: ProducerConfig, commit: bool = True) -> None:
        super().__init__(config)
        self.commit = commit
        self.begun = False

    def on_wake(self, ctx: NodeContext) -> None:
        if self.begun or not self.producer.transaction_idle:
            return
        self.begun = True
        self.producer.begin_transaction()
        for p in range(3):
            self.producer.send("t", b"v", partition=p, now_ms=ctx.now_ms)
        if self.commit:
            self.producer.commit_transaction()
        else:
            self.producer.abort_transaction()


def one_transaction(tmp_path: Path, commit: bool) -> tuple[OneTransaction, list[Request]]:
    """A OneTransaction run to its end on a one-broker cluster; the requests it sent."""
    cluster = Cluster(seed=3, brokers=1, data_dir=tmp_path, transactions=TxnConfig(1, 1))
    cluster.create_topic("t", 3)
    config = ProducerConfig(bootstrap_servers=cluster.bootstrap, transactional_id="b")
    node = OneTransaction(config, commit)
    cluster.sim.add_node(node)
    assert cluster.run_until(lambda: node.begun and node.producer.transaction_idle, 10_000)
    txns = node.producer.transactions
    assert txns is not None and txns.state is TransactionState.READY, txns.error
    sent = [
        event.payload.body
        for event in cluster.sim.trace.events
        if isinstance(event, MessageSent) and isinstance(event.payload, SimRequest)
        if event.src == "p"
    ]
    return node, sent


def test_one_add_partitions_to_txn_adds_every_partition_a_transaction_first_writes_to(
    tmp_path: Path,
) -> None:
    # As Kafka's producer does: the partitions a tick's batches need join one request, not
    # one request (and one __transaction_state write) each.
    _, sent = one_transaction(tmp_path, commit=True)
    [added] = [r for r in sent if isinstance(r, AddPartitionsToTxnRequest)]
    assert [(t.name, t.partitions) for t in added.v3_and_below_topics] == [("t", [0, 1, 2])]


def test_abort_fails_the_records_not_yet_sent_instead_of_sending_them(tmp_path: Path) -> None:
    node, sent = one_transaction(tmp_path, commit=False)
    results = node.producer.take_results()
    assert [r.error for r in results] == [ErrorCode.OPERATION_NOT_ATTEMPTED] * 3
    assert not [r for r in sent if isinstance(r, ProduceRequest)]
    # Nothing reached the coordinator: the transaction ends without AddPartitionsToTxn or
    # EndTxn, as Kafka's producer ends one.
    assert not [r for r in sent if isinstance(r, AddPartitionsToTxnRequest | EndTxnRequest)]


class ThreeTransactions(TransactionalNode):
    """Commits "first" to t-0; once ``go`` is set, tries to commit "second" (aborting it if
    the transaction breaks), then commits "third"."""

    def __init__(self, config: ProducerConfig) -> None:
        super().__init__(config)
        self.go = False
        self.step = 0
        self._now_ms = 0

    def on_wake(self, ctx: NodeContext) -> None:
        self._now_ms = ctx.now_ms
        producer, txns = self.producer, self.producer.transactions
        assert txns is not None
        if not producer.transaction_idle or (self.step == 1 and not self.go):
            return
        if txns.state is TransactionState.ABORTABLE_ERROR:
            producer.abort_transaction()
            return
        if self.step < 3:
            producer.begin_transaction()
            value = (b"first", b"second", b"third")[self.step]
            producer.send("t", value, partition=0, now_ms=ctx.now_ms)
            producer.commit_transaction()
        self.step += 1

    def next_wake_ms(self) -> int | None:
        return self._now_ms + 10  # looks at ``go`` again


def test_a_sequence_error_aborts_the_transaction_and_the_coordinator_bumps_the_epoch(
    tmp_path: Path,
) -> None:
    # KIP-360: the transaction a lost batch broke is aborted, not the producer stopped.
    cluster = Cluster(seed=5, brokers=1, data_dir=tmp_path, transactions=TxnConfig(1, 1))
    cluster.create_topic("t", 1)
    node = ThreeTransactions(
        ProducerConfig(bootstrap_servers=cluster.bootstrap, transactional_id="s")
    )
    cluster.sim.add_node(node)
    assert cluster.run_until(lambda: node.step == 1 and node.producer.transaction_idle, 10_000)
    assert node.producer.idempotence is not None
    before = node.producer.idempotence.producer
    # The leader's numbers and the producer's now disagree, as when batches the leader
    # acknowledged were lost: the next batch is refused OUT_OF_ORDER_SEQUENCE_NUMBER.
    log_ = cluster.broker(1).logs.get(TopicPartition("t", 0))
    assert log_ is not None
    log_.producer_state.producers[before.producer_id].batches.append(BatchMetadata(40, 40, 0, 0, 0))
    node.go = True
    assert cluster.run_until(lambda: node.step == 4 and node.producer.transaction_idle, 20_000)
    txns = node.producer.transactions
    assert txns is not None and txns.state is TransactionState.READY, txns.error
    results = {r.send_id: r.error for r in node.producer.take_results()}
    assert list(results.values()) == [
        ErrorCode.NONE,
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        ErrorCode.NONE,
    ]
    after = node.producer.idempotence.producer
    assert (after.producer_id, after.epoch) == (before.producer_id, before.epoch + 1)
    values = [v for _, v in cluster.records(1, TopicPartition("t", 0)) if v is not None]
    assert b"second" not in values and values.count(b"third") == 1
