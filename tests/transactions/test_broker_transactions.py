"""Transactions on one broker core, driven request by request: the last stable offset
stops read_committed fetches before an open transaction, aborted transactions are listed
and kept in a ``.txnindex`` file, and a restarted broker rebuilds both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.broker import Action, Respond, SendToBroker
from reflog.config import BrokerConfig
from reflog.records import build_batch, iter_batches
from reflog.records.batch import RecordBatch
from reflog.storage.txn_index import marker_coordinator_epoch
from reflog.topic_partition import TopicPartition
from reflog.transactions.config import TXN_STATE_TOPIC
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    PartitionResponse,
    TopicRequest,
)
from reflog.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
)
from reflog.wire.messages.fetch import (
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
    PartitionData,
)
from reflog.wire.messages.find_coordinator import (
    TRANSACTION_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from reflog.wire.messages.list_transactions import ListTransactionsRequest, ListTransactionsResponse
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
)
from reflog.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from reflog.wire.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnTopic,
    EndTxnRequest,
    EndTxnResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
    TxnOffsetCommitResponse,
    WritableTxnMarker,
    WritableTxnMarkerTopic,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)
from reflog.wire.schema import Request, Response
from tests.broker.conftest import LoneBroker

TOPIC = "out"
TP = TopicPartition(TOPIC, 0)
READ_COMMITTED, READ_UNCOMMITTED = 1, 0
LATEST = -1  # ListOffsets' timestamp for the end of the partition


class TxnBroker:
    """A lone broker whose markers to itself are delivered, and a transactional producer."""

    def __init__(self, lone: LoneBroker) -> None:
        self.lone = lone
        self.correlation = 0
        self.now_ms = 0

    def run(self, actions: list[Action]) -> list[Response]:
        answers: list[Response] = []
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            if isinstance(action, SendToBroker):  # markers, to this very broker
                header = self._header(action.request, -1)
                for reply in self.lone.broker.handle(-1, header, action.request, self.now_ms):
                    assert isinstance(reply, Respond) and reply.response is not None
                    pending += self.lone.broker.on_broker_response(0, reply.response, self.now_ms)
                continue
            for reply in self.lone.carry_out([action], self.now_ms):
                if reply.conn == 1 and reply.response is not None:
                    answers.append(reply.response)
        return answers

    def _header(self, request: Request, conn: int) -> RequestHeader:
        self.correlation += 1
        return RequestHeader(request.API_KEY, request.MAX_VERSION, self.correlation, "t")

    def send(self, request: Request, version: int | None = None) -> Response:
        self.correlation += 1
        v = type(request).MAX_VERSION if version is None else version
        header = RequestHeader(request.API_KEY, v, self.correlation, "t")
        [answer] = self.run(self.lone.broker.handle(1, header, request, self.now_ms))
        return answer

    def tick(self, ms: int = 1) -> None:
        self.now_ms += ms
        self.run(self.lone.broker.tick(self.now_ms))


@pytest.fixture
def txn(tmp_path: Path) -> Iterator[TxnBroker]:
    config = BrokerConfig(node_id=0, log_dir=tmp_path / "logs", num_partitions=1)
    lone = LoneBroker(config)
    t = TxnBroker(lone)
    t.send(MetadataRequest(topics=[MetadataRequestTopic(name=TOPIC)]))  # creates it
    find = FindCoordinatorRequest(key="tid", key_type=TRANSACTION_KEY_TYPE)
    assert t.send(find).error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE  # type: ignore[attr-defined]
    t.tick()  # loads the new __transaction_state partitions
    coordinator = t.send(find)
    assert isinstance(coordinator, FindCoordinatorResponse) and coordinator.node_id == 0
    yield t
    lone.broker.close()


class Producer:
    def __init__(self, txn: TxnBroker, transactional_id: str = "tid") -> None:
        self.txn = txn
        self.tid = transactional_id
        request = InitProducerIdRequest(transactional_id=self.tid, transaction_timeout_ms=60_000)
        answer = txn.send(request)
        if answer.error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:  # type: ignore[attr-defined]
            answer = txn.send(request)  # the block of producer ids has come since
        assert isinstance(answer, InitProducerIdResponse) and answer.error_code == ErrorCode.NONE
        self.pid, self.epoch = answer.producer_id, answer.producer_epoch
        self.sequence = 0

    def send(self, *values: bytes) -> None:
        self.txn.send(
            AddPartitionsToTxnRequest(
                v3_and_below_transactional_id=self.tid,
                v3_and_below_producer_id=self.pid,
                v3_and_below_producer_epoch=self.epoch,
                v3_and_below_topics=[AddPartitionsToTxnTopic(name=TOPIC, partitions=[0])],
            )
        )
        batch = build_batch(
            [(None, v, 0) for v in values],
            producer_id=self.pid,
            producer_epoch=self.epoch,
            base_sequence=self.sequence,
            is_transactional=True,
        )
        self.sequence += len(values)
        data = [TopicProduceData(TOPIC, [PartitionProduceData(index=0, records=batch)])]
        self.txn.send(ProduceRequest(transactional_id=self.tid, acks=-1, topic_data=data))

    def end(self, commit: bool) -> None:
        request = EndTxnRequest(
            transactional_id=self.tid,
            producer_id=self.pid,
            producer_epoch=self.epoch,
            committed=commit,
        )
        answer = self.txn.send(request)
        assert isinstance(answer, EndTxnResponse) and answer.error_code == ErrorCode.NONE


def fetch(txn: TxnBroker, isolation: int) -> PartitionData:
    request = FetchRequest(
        max_wait_ms=0,
        isolation_level=isolation,
        topics=[FetchTopic(topic=TOPIC, partitions=[FetchPartition(partition=0, fetch_offset=0)])],
    )
    answer = txn.send(request)
    assert isinstance(answer, FetchResponse)
    [partition] = answer.responses[0].partitions
    return partition


def values(partition: PartitionData) -> list[bytes | None]:
    raw = partition.records
    data = raw.read() if hasattr(raw, "read") else bytes(raw or b"")
    return [r.value for b in iter_batches(data) if not b.is_control for r in b.records()]


def test_read_committed_stops_at_the_first_open_transaction(txn: TxnBroker) -> None:
    producer = Producer(txn)
    producer.send(b"a", b"b")
    committed_view = fetch(txn, READ_COMMITTED)
    assert committed_view.last_stable_offset == 0
    assert committed_view.high_watermark == 2
    assert values(committed_view) == []
    assert values(fetch(txn, READ_UNCOMMITTED)) == [b"a", b"b"]
    producer.end(commit=True)
    committed_view = fetch(txn, READ_COMMITTED)
    assert committed_view.last_stable_offset == committed_view.high_watermark == 3  # + marker
    assert values(committed_view) == [b"a", b"b"]
    assert committed_view.aborted_transactions == []


def list_offset(txn: TxnBroker, isolation: int, timestamp: int) -> int:
    request = ListOffsetsRequest(
        isolation_level=isolation,
        topics=[
            ListOffsetsTopic(
                name=TOPIC,
                partitions=[ListOffsetsPartition(partition_index=0, timestamp=timestamp)],
            )
        ],
    )
    answer = txn.send(request, version=5)
    assert isinstance(answer, ListOffsetsResponse)
    [partition] = answer.topics[0].partitions
    assert partition.error_code == ErrorCode.NONE
    return partition.offset


def test_list_offsets_latest_is_the_last_stable_offset_for_read_committed(txn: TxnBroker) -> None:
    producer = Producer(txn)
    producer.send(b"a", b"b")  # at offsets 0 and 1, both with timestamp 0
    assert list_offset(txn, READ_UNCOMMITTED, LATEST) == 2  # the high watermark
    assert list_offset(txn, READ_COMMITTED, LATEST) == 0  # the open transaction's start
    # A search by timestamp finds nothing a read_committed consumer could not fetch yet.
    assert list_offset(txn, READ_UNCOMMITTED, 0) == 0
    assert list_offset(txn, READ_COMMITTED, 0) == -1
    producer.end(commit=True)
    assert list_offset(txn, READ_COMMITTED, LATEST) == 3  # past the commit marker
    assert list_offset(txn, READ_COMMITTED, 0) == 0


def test_an_aborted_transaction_is_listed_and_indexed_in_a_txnindex_file(txn: TxnBroker) -> None:
    producer = Producer(txn)
    producer.send(b"x")
    producer.end(commit=False)
    producer.send(b"y")
    producer.end(commit=True)
    view = fetch(txn, READ_COMMITTED)
    assert [(a.producer_id, a.first_offset) for a in view.aborted_transactions or []] == [
        (producer.pid, 0)
    ]
    assert view.last_stable_offset == 4
    assert fetch(txn, READ_UNCOMMITTED).aborted_transactions is None
    [index] = txn.lone.config.log_dir.glob(f"**/{TOPIC}-0/*.txnindex")
    assert index.stat().st_size == 34  # one entry: Kafka's AbortedTxn layout


def test_a_restarted_broker_rebuilds_open_and_aborted_transactions_from_its_log(
    txn: TxnBroker,
) -> None:
    producer = Producer(txn)
    producer.send(b"x")
    producer.end(commit=False)
    producer.send(b"open")
    txn.lone.restart()
    txn.tick()
    view = fetch(txn, READ_COMMITTED)
    assert view.last_stable_offset == 2  # the open transaction's first offset
    assert [a.first_offset for a in view.aborted_transactions or []] == [0]


def test_a_restarted_coordinator_still_knows_the_producer_and_fences_its_old_epoch(
    txn: TxnBroker,
) -> None:
    first = Producer(txn)
    first.send(b"x")
    first.end(commit=True)
    txn.lone.restart()
    txn.tick()
    second = Producer(txn)
    assert (second.pid, second.epoch) == (first.pid, first.epoch + 1)


def committed_offset(txn: TxnBroker, group: str) -> int:
    request = OffsetFetchRequest(
        group_id=group, topics=[OffsetFetchRequestTopic(name="in", partition_indexes=[0])]
    )
    answer = txn.send(request)
    assert isinstance(answer, OffsetFetchResponse)
    return answer.topics[0].partitions[0].committed_offset


def commit_offset_in_transaction(producer: Producer, group: str, offset: int) -> None:
    txn = producer.txn
    add = AddOffsetsToTxnRequest(
        transactional_id=producer.tid,
        producer_id=producer.pid,
        producer_epoch=producer.epoch,
        group_id=group,
    )
    assert txn.send(add).error_code == ErrorCode.NONE  # type: ignore[attr-defined]
    commit = TxnOffsetCommitRequest(
        transactional_id=producer.tid,
        group_id=group,
        producer_id=producer.pid,
        producer_epoch=producer.epoch,
        topics=[
            TxnOffsetCommitRequestTopic(
                name="in",
                partitions=[
                    TxnOffsetCommitRequestPartition(partition_index=0, committed_offset=offset)
                ],
            )
        ],
    )
    answer = txn.send(commit)
    assert isinstance(answer, TxnOffsetCommitResponse)
    assert answer.topics[0].partitions[0].error_code == ErrorCode.NONE


@pytest.mark.parametrize("restart_before_reading", [False, True])
def test_offsets_committed_in_a_transaction_count_only_if_it_commits(
    txn: TxnBroker, restart_before_reading: bool
) -> None:
    group = "g"
    txn.send(MetadataRequest(topics=[MetadataRequestTopic(name="in")]))
    txn.send(FindCoordinatorRequest(key=group))  # creates __consumer_offsets
    txn.tick()
    producer = Producer(txn)
    commit_offset_in_transaction(producer, group, 5)
    assert committed_offset(txn, group) == -1  # not before the commit
    producer.end(commit=True)
    assert committed_offset(txn, group) == 5
    commit_offset_in_transaction(producer, group, 9)
    producer.end(commit=False)
    commit_offset_in_transaction(producer, group, 12)  # left open
    if restart_before_reading:  # the new coordinator reads the offsets back from the log
        txn.lone.restart()
        txn.tick()
    assert committed_offset(txn, group) == 5


def marker_batches(txn: TxnBroker) -> list[RecordBatch]:
    log_ = txn.lone.broker.logs.get(TopicPartition(TOPIC, 0))
    assert log_ is not None
    data = b"".join(s.log_path.read_bytes()[: s.size] for s in log_.segments)
    return [b for b in iter_batches(data) if b.is_control]


def test_markers_carry_their_coordinators_epoch_and_an_older_coordinators_are_refused(
    txn: TxnBroker,
) -> None:
    producer = Producer(txn)
    producer.send(b"x")
    producer.end(commit=True)
    state = txn.lone.broker.image.partition(TopicPartition(TXN_STATE_TOPIC, 0))
    assert state is not None
    [commit] = marker_batches(txn)
    assert marker_coordinator_epoch(commit) == state.leader_epoch

    def marker(coordinator_epoch: int) -> int:
        request = WriteTxnMarkersRequest(
            markers=[
                WritableTxnMarker(
                    producer_id=producer.pid,
                    producer_epoch=producer.epoch,
                    transaction_result=False,
                    topics=[WritableTxnMarkerTopic(name=TOPIC, partition_indexes=[0])],
                    coordinator_epoch=coordinator_epoch,
                )
            ]
        )
        answer = txn.send(request)
        assert isinstance(answer, WriteTxnMarkersResponse)
        return answer.markers[0].topics[0].partitions[0].error_code

    # A newer coordinator's marker is taken; one from a coordinator older than it, refused
    # (a coordinator that lost its partition and does not know yet).
    assert marker(state.leader_epoch + 2) == ErrorCode.NONE
    assert marker(state.leader_epoch + 1) == ErrorCode.TRANSACTION_COORDINATOR_FENCED
    assert len(marker_batches(txn)) == 2


# -- kafka-transactions' questions (KIP-664) ------------------------------------------------
def test_the_admin_questions_wait_while_the_coordinator_loads_then_answer(tmp_path: Path) -> None:
    lone = LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path / "logs", num_partitions=1))
    t = TxnBroker(lone)
    t.send(FindCoordinatorRequest(key="tid", key_type=TRANSACTION_KEY_TYPE))  # creates the topic
    listing = t.send(ListTransactionsRequest())
    assert isinstance(listing, ListTransactionsResponse)
    assert listing.error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    described = t.send(DescribeTransactionsRequest(transactional_ids=["tid"]))
    assert isinstance(described, DescribeTransactionsResponse)
    assert described.transaction_states[0].error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    t.tick()  # loaded
    listing = t.send(ListTransactionsRequest())
    assert isinstance(listing, ListTransactionsResponse)
    assert (listing.error_code, listing.transaction_states) == (ErrorCode.NONE, [])
    described = t.send(DescribeTransactionsRequest(transactional_ids=["tid", ""]))
    assert isinstance(described, DescribeTransactionsResponse)
    assert [s.error_code for s in described.transaction_states] == [
        ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        ErrorCode.INVALID_REQUEST,
    ]
    lone.broker.close()


def active_producers(txn: TxnBroker, topic: str = TOPIC) -> PartitionResponse:
    request = DescribeProducersRequest(topics=[TopicRequest(name=topic, partition_indexes=[0])])
    answer = txn.send(request)
    assert isinstance(answer, DescribeProducersResponse)
    [partition] = answer.topics[0].partitions
    return partition


def test_describe_producers_shows_the_open_transaction_until_its_marker(txn: TxnBroker) -> None:
    producer = Producer(txn)
    producer.send(b"a", b"b", b"c")
    [state] = active_producers(txn).active_producers
    assert (state.producer_id, state.producer_epoch, state.last_sequence) == (producer.pid, 0, 2)
    assert (state.current_txn_start_offset, state.coordinator_epoch) == (0, -1)
    producer.end(commit=True)
    [state] = active_producers(txn).active_producers
    assert state.current_txn_start_offset == -1
    assert state.coordinator_epoch == 0  # the epoch of the coordinator whose marker came
    unknown = active_producers(txn, topic="no-such-topic")
    assert unknown.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
