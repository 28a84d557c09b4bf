"""The transaction coordinator inside a broker, and the partition side of its markers.

Coordinator side: a transactional id belongs to the leader of its ``__transaction_state``
partition (the Java hash of the id, as for groups); another broker answers
NOT_COORDINATOR, and a new leader answers COORDINATOR_LOAD_IN_PROGRESS until it has read
the partition back (Kafka's ``TransactionStateManager.loadTransactionsForTxnTopicPartition``).
Each state change of the core is appended there as Kafka's key/value record. When a
transaction ends, WriteTxnMarkers goes to the leader of each of its partitions (this
broker included, through the same path); once every partition has answered, the core
completes the transaction. An unanswered or refused marker is sent again.

Partition side: WriteTxnMarkers appends a COMMIT or ABORT control batch to each partition
and answers once the partition's ISR has it, as an ``acks=all`` produce. A marker for a
``__consumer_offsets`` partition also makes the offsets the transaction committed there
(TxnOffsetCommit) visible, or drops them (Kafka: ``GroupMetadataManager.handleTxnCompletion``).

A group coordinator loading ``__consumer_offsets`` hands its transactional batches here
(:meth:`TxnHost.load_offsets_batch`): offsets whose marker follows are applied or dropped,
those of a transaction still open wait for its marker.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from reflog.broker_actions import Action, Forward, Respond, SendToBroker
from reflog.controller.records import NO_LEADER
from reflog.groups.coordinator import CommittedOffset
from reflog.groups.placement import OFFSETS_TOPIC, coordinator_error, partition_for
from reflog.groups.records import (
    OffsetCommitKey,
    OffsetCommitValue,
    decode_key,
    decode_value,
    offset_commit_record,
)
from reflog.records import build_batch
from reflog.records.batch import RecordBatch, iter_batches
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice
from reflog.replication.delayed_produce import DelayedProduce
from reflog.storage.txn_index import COMMIT, marker_type
from reflog.topic_partition import TopicPartition
from reflog.transactions import admin
from reflog.transactions.config import TXN_STATE_TOPIC, TxnConfig
from reflog.transactions.coordinator import MarkerJob, TransactionCoordinator
from reflog.transactions.records import (
    control_batch,
    decode_txn_key,
    decode_txn_value,
    txn_log_record,
)
from reflog.wire.errors import ErrorCode, WireDecodeError
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from reflog.wire.messages.describe_producers import DescribeProducersRequest
from reflog.wire.messages.describe_transactions import DescribeTransactionsRequest
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.list_transactions import ListTransactionsRequest
from reflog.wire.messages.produce import PartitionProduceResponse
from reflog.wire.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnPartitionResult,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnTopicResult,
    EndTxnRequest,
    EndTxnResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
    TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
    WritableTxnMarker,
    WritableTxnMarkerPartitionResult,
    WritableTxnMarkerResult,
    WritableTxnMarkerTopic,
    WritableTxnMarkerTopicResult,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)
from reflog.wire.schema import Request, Response

if TYPE_CHECKING:
    from reflog.broker import Broker

__all__ = ["DelayedTxnWrite", "TxnHost"]

log = logging.getLogger(__name__)

# How long a partition's marker or transactional offset commit waits for its ISR.
_WRITE_TIMEOUT_MS = 5_000


@dataclass
class DelayedTxnWrite(DelayedProduce):
    """Markers or transactional offsets waiting for their partitions' ISR; settled, the
    per-partition errors become the request's answer."""

    on_settled: Callable[[dict[TopicPartition, int]], Response] | None = None

    def actions(self) -> list[Respond]:
        errors = {
            TopicPartition(name, p.index): p.error_code
            for name, partitions in self.topics
            for p in partitions
        }
        assert self.on_settled is not None
        return [Respond(self.conn, self.header, self.on_settled(errors))]


@dataclass
class _Markers:
    """One ending transaction's markers still to be written."""

    job: MarkerJob
    remaining: set[TopicPartition]
    sent_ms: dict[TopicPartition, int] = field(default_factory=dict)
    # The Prepare record's __transaction_state partition and end offset: no marker is
    # sent before the ISR has it, so a coordinator that takes over knows the outcome.
    prepared_at: tuple[TopicPartition, int] | None = None


class TxnHost:
    def __init__(self, broker: Broker, config: TxnConfig) -> None:
        self.broker = broker
        self.config = config
        self.coordinator = TransactionCoordinator(
            config.transaction_abort_timed_out_transaction_cleanup_interval_ms,
            config.transaction_max_timeout_ms,
        )
        self.loaded: set[int] = set()
        self.loading: dict[int, int] = {}
        # Per __transaction_state partition led: the coordinator epoch its markers carry,
        # the partition's leader epoch when this broker became its leader (as in Kafka).
        self.coordinator_epochs: dict[int, int] = {}
        self.markers: dict[str, _Markers] = {}
        # TxnOffsetCommit's offsets waiting for their transaction's marker: by group
        # partition and producer id.
        self.pending_offsets: dict[
            tuple[TopicPartition, int], dict[str, dict[TopicPartition, CommittedOffset]]
        ] = {}

    # -- where transactional ids live ---------------------------------------------------------
    def partition_of(self, transactional_id: str) -> int | None:
        topic = self.broker.image.topics.get(TXN_STATE_TOPIC)
        return None if topic is None else partition_for(transactional_id, len(topic.partitions))

    def txn_error(self, transactional_id: str) -> int | None:
        """Why this broker cannot coordinate ``transactional_id`` now; None if it can."""
        return coordinator_error(self.partition_of(transactional_id), self.loading, self.loaded)

    def state_topic(self) -> CreatableTopic:
        brokers = len(self.broker.image.live_brokers())
        rf = self.config.transaction_state_log_replication_factor
        return CreatableTopic(
            name=TXN_STATE_TOPIC,
            num_partitions=self.config.transaction_state_log_num_partitions,
            replication_factor=max(1, min(rf, brokers)),
            configs=[CreatableTopicConfig(name="cleanup.policy", value="compact")],
        )

    def find_coordinator(
        self, conn: int, header: RequestHeader, request: FindCoordinatorRequest
    ) -> list[Action]:
        def answer(error: int, message: str | None = None) -> list[Action]:
            body = FindCoordinatorResponse(error_code=error, error_message=message)
            return [Respond(conn, header, body)]

        if not request.key:
            return answer(ErrorCode.INVALID_REQUEST, "the transactional id is empty")
        p = self.partition_of(request.key)
        if p is None:  # created on first use, as Kafka does
            create = Forward(CreateTopicsRequest(topics=[self.state_topic()]), None)
            return [*answer(ErrorCode.COORDINATOR_NOT_AVAILABLE), create]
        state = self.broker.image.partition(TopicPartition(TXN_STATE_TOPIC, p))
        leader = None if state is None else self.broker.image.brokers.get(state.leader)
        if state is None or state.leader == NO_LEADER or leader is None or leader.fenced:
            return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        body = FindCoordinatorResponse(node_id=leader.broker_id, host=leader.host, port=leader.port)
        return [Respond(conn, header, body)]

    # -- the producer's requests ----------------------------------------------------------------
    def handle(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        match request:
            case WriteTxnMarkersRequest():
                return self._write_markers(conn, header, request, now_ms)
            case TxnOffsetCommitRequest():
                return self._txn_offset_commit(conn, header, request, now_ms)
            # kafka-transactions' questions (reflog.transactions.admin).
            case DescribeProducersRequest():
                return [Respond(conn, header, admin.describe_producers(self, request))]
            case ListTransactionsRequest():
                return [Respond(conn, header, admin.list_transactions(self, request, now_ms))]
            case DescribeTransactionsRequest():
                return [Respond(conn, header, admin.describe_transactions(self, request))]
        transactional_id = str(
            getattr(request, "transactional_id", None)
            or getattr(request, "v3_and_below_transactional_id", "")
        )
        error = self.txn_error(transactional_id)
        before = self.coordinator.copy_of(transactional_id)  # to go back to if the log refuses
        body: Response
        match request:
            case InitProducerIdRequest():
                body = self._init_producer_id(request, error, now_ms)
            case AddPartitionsToTxnRequest():
                body = self._add_partitions(request, error, now_ms)
            case AddOffsetsToTxnRequest():
                if error is None:
                    offsets = TopicPartition(
                        OFFSETS_TOPIC, self._offsets_partition(request.group_id)
                    )
                    error = self.coordinator.add_partitions(
                        now_ms, request.transactional_id, request.producer_id,
                        request.producer_epoch, [offsets],
                    )  # fmt: skip
                body = AddOffsetsToTxnResponse(error_code=error)
            case EndTxnRequest():
                if error is None:
                    error = self.coordinator.end_txn(
                        now_ms, request.transactional_id, request.producer_id,
                        request.producer_epoch, request.committed,
                    )  # fmt: skip
                body = EndTxnResponse(error_code=error)
            case _:
                raise TypeError(f"{type(request).__name__} is not a transaction request")
        actions, waiting, refused = self._write_changes(now_ms, transactional_id)
        if refused is not None:
            # The change is not in the log, so it did not happen: the transaction goes back to
            # where it was, its markers unsent, and the client is told (Kafka reverts the
            # pending state when appendTransactionToLog fails).
            self.coordinator.revert(transactional_id, before)
            failed = _failed(body, _STATE_WRITE_ERRORS.get(refused, refused))
            return [Respond(conn, header, failed), *actions]
        if not waiting:
            return [Respond(conn, header, body), *actions]
        # Answered once __transaction_state's ISR has the change (Kafka's appendTransactionToLog).
        tp, end = waiting

        def settled(errors: dict[TopicPartition, int]) -> Response:
            error = errors.get(tp, ErrorCode.NONE)
            return body if error == ErrorCode.NONE else _failed(body, ErrorCode.NOT_COORDINATOR)

        appended = [(tp.topic, [PartitionProduceResponse(index=tp.partition, error_code=0)])]
        return self._park(conn, header, appended, {tp: end}, settled, now_ms) + actions

    def _init_producer_id(
        self, request: InitProducerIdRequest, error: int | None, now_ms: int
    ) -> InitProducerIdResponse:
        if error is not None:
            return InitProducerIdResponse(error_code=error)
        tid = request.transactional_id or ""
        new_id = None
        if self.coordinator.needs_producer_id(tid):
            new_id = self.broker.producer_ids.generate()
        expected = None  # v3+: the running producer asks for an epoch bump (KIP-360)
        if request.producer_id >= 0 and request.producer_epoch >= 0:
            expected = (request.producer_id, request.producer_epoch)
        result = self.coordinator.init_producer_id(
            now_ms, tid, request.transaction_timeout_ms, new_id, expected
        )
        return InitProducerIdResponse(
            error_code=result.error_code,
            producer_id=result.producer_id,
            producer_epoch=result.producer_epoch,
        )

    def _add_partitions(
        self, request: AddPartitionsToTxnRequest, error: int | None, now_ms: int
    ) -> AddPartitionsToTxnResponse:
        wanted = [
            TopicPartition(t.name, p) for t in request.v3_and_below_topics for p in t.partitions
        ]
        errors: dict[TopicPartition, int] = {}
        if error is None:
            unknown = {tp for tp in wanted if self.broker.image.partition(tp) is None}
            if unknown:
                # Kafka refuses the whole request: the unknown ones with their error, the
                # others OPERATION_NOT_ATTEMPTED.
                errors = {
                    tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    if tp in unknown
                    else ErrorCode.OPERATION_NOT_ATTEMPTED
                    for tp in wanted
                }
            else:
                error = self.coordinator.add_partitions(
                    now_ms, request.v3_and_below_transactional_id,
                    request.v3_and_below_producer_id, request.v3_and_below_producer_epoch, wanted,
                )  # fmt: skip
        if not errors:
            errors = dict.fromkeys(wanted, error or ErrorCode.NONE)
        return AddPartitionsToTxnResponse(
            results_by_topic_v3_and_below=[
                AddPartitionsToTxnTopicResult(
                    name=t.name,
                    results_by_partition=[
                        AddPartitionsToTxnPartitionResult(p, errors[TopicPartition(t.name, p)])
                        for p in t.partitions
                    ],
                )
                for t in request.v3_and_below_topics
            ]
        )

    def _offsets_partition(self, group_id: str) -> int:
        return partition_for(group_id, self.broker.config.groups.offsets_topic_num_partitions)

    # -- writing the core's changes and sending its markers --------------------------------------
    def _after_change(self, now_ms: int) -> list[Action]:
        return self._write_changes(now_ms)[0]

    def _write_changes(
        self, now_ms: int, answering: str | None = None
    ) -> tuple[list[Action], tuple[TopicPartition, int] | None, int | None]:
        """Append the core's state changes and start its markers; the actions, the
        partition and end offset the last write must reach in the ISR, and the error of
        the first write the log refused (None if none was). The markers of transactional id
        ``answering`` (a request being answered) are not started if its write was refused:
        the request fails, and its change is reverted."""
        actions: list[Action] = []
        last: tuple[TopicPartition, int] | None = None
        refused: int | None = None
        refused_ids: set[str] = set()
        for tid, value in self.coordinator.take_writes():
            p = self.partition_of(tid)
            if p is None:
                continue
            key, data = txn_log_record(tid, value)
            batch = build_batch([(key, data, now_ms)])
            state_tp = TopicPartition(TXN_STATE_TOPIC, p)
            appended, end, woken = self.broker.append_internal(state_tp, batch, now_ms)
            if appended.error_code != ErrorCode.NONE:
                log.info("transaction %s not written: error %d", tid, appended.error_code)
                refused_ids.add(tid)
                if refused is None:
                    refused = appended.error_code
            last = None if end is None else (state_tp, end)
            actions += woken
        for job in self.coordinator.take_markers():
            if job.transactional_id == answering and answering in refused_ids:
                continue
            self.markers[job.transactional_id] = _Markers(
                job, set(job.partitions), prepared_at=last
            )
        actions += self._send_markers(now_ms)
        if any(not m.remaining for m in self.markers.values()):
            actions += self._complete_markers(now_ms)
        return actions, last, refused

    def _prepared(self, pending: _Markers) -> bool:
        if pending.prepared_at is None:
            return True
        tp, end = pending.prepared_at
        return self.broker.high_watermark(tp) >= end

    def _send_markers(self, now_ms: int) -> list[Action]:
        """WriteTxnMarkers to each partition's leader, for markers not sent or sent too
        long ago without an answer."""
        by_leader: dict[int, list[WritableTxnMarker]] = {}
        backoff = self.config.transaction_marker_retry_backoff_ms
        for pending in self.markers.values():
            if not self._prepared(pending):
                continue
            pending.prepared_at = None
            for tp in sorted(pending.remaining):
                if now_ms < pending.sent_ms.get(tp, -backoff) + backoff:
                    continue
                state = self.broker.image.partition(tp)
                if state is None:  # the topic was deleted: nothing to mark
                    pending.remaining.discard(tp)
                    continue
                if state.leader == NO_LEADER:
                    pending.sent_ms[tp] = now_ms  # look again after the backoff
                    continue
                pending.sent_ms[tp] = now_ms
                job = pending.job
                p = self.partition_of(job.transactional_id)
                coordinator_epoch = -1 if p is None else self.coordinator_epochs.get(p, -1)
                by_leader.setdefault(state.leader, []).append(
                    WritableTxnMarker(
                        producer_id=job.producer_id,
                        producer_epoch=job.producer_epoch,
                        transaction_result=job.commit,
                        topics=[
                            WritableTxnMarkerTopic(name=tp.topic, partition_indexes=[tp.partition])
                        ],
                        coordinator_epoch=coordinator_epoch,
                    )
                )
        return [
            SendToBroker(leader, WriteTxnMarkersRequest(markers=markers))
            for leader, markers in by_leader.items()
        ]

    def on_markers_response(self, response: WriteTxnMarkersResponse, now_ms: int) -> list[Action]:
        for result in response.markers:
            for pending in self.markers.values():
                if pending.job.producer_id != result.producer_id:
                    continue
                for topic in result.topics:
                    for p in topic.partitions:
                        tp = TopicPartition(topic.name, p.partition_index)
                        # Not UNKNOWN_TOPIC_OR_PARTITION: a broker just restarted says so
                        # before it has the metadata (a deleted topic is seen in our image).
                        if p.error_code == ErrorCode.NONE:
                            pending.remaining.discard(tp)
        return self._complete_markers(now_ms) + self._send_markers(now_ms)

    def _complete_markers(self, now_ms: int) -> list[Action]:
        done = [tid for tid, m in self.markers.items() if not m.remaining and self._prepared(m)]
        for tid in done:
            job = self.markers.pop(tid).job
            self.coordinator.markers_written(now_ms, tid, job.producer_epoch)
        return self._after_change(now_ms) if done else []

    # -- the partition side: markers and transactional offsets ---------------------------------
    def _write_markers(
        self, conn: int, header: RequestHeader, request: WriteTxnMarkersRequest, now_ms: int
    ) -> list[Action]:
        appended: list[tuple[str, list[PartitionProduceResponse]]] = []
        waiting: dict[TopicPartition, int] = {}
        woken: list[Action] = []
        for marker in request.markers:
            for topic in marker.topics:
                answers = []
                for p in topic.partition_indexes:
                    tp = TopicPartition(topic.name, p)
                    batch = control_batch(
                        marker.producer_id, marker.producer_epoch, marker.transaction_result,
                        marker.coordinator_epoch, now_ms,
                    )  # fmt: skip
                    error, end, wakes = self.broker.append_coordinator_batch(
                        tp, batch, marker.producer_id, marker.producer_epoch, now_ms,
                        marker.coordinator_epoch,
                    )  # fmt: skip
                    answers.append(PartitionProduceResponse(index=p, error_code=error))
                    woken += wakes
                    if end is not None:
                        waiting[tp] = end
                        if tp.topic == OFFSETS_TOPIC:
                            self._complete_txn_offsets(
                                tp, marker.producer_id, marker.transaction_result
                            )
                appended.append((topic.name, answers))

        def settled(errors: dict[TopicPartition, int]) -> Response:
            return WriteTxnMarkersResponse(
                markers=[
                    WritableTxnMarkerResult(
                        producer_id=m.producer_id,
                        topics=[
                            WritableTxnMarkerTopicResult(
                                name=t.name,
                                partitions=[
                                    WritableTxnMarkerPartitionResult(
                                        p, errors.get(TopicPartition(t.name, p), ErrorCode.NONE)
                                    )
                                    for p in t.partition_indexes
                                ],
                            )
                            for t in m.topics
                        ],
                    )
                    for m in request.markers
                ]
            )

        return self._park(conn, header, appended, waiting, settled, now_ms) + woken

    def _park(
        self,
        conn: int,
        header: RequestHeader,
        appended: list[tuple[str, list[PartitionProduceResponse]]],
        waiting: dict[TopicPartition, int],
        settled: Callable[[dict[TopicPartition, int]], Response],
        now_ms: int,
    ) -> list[Action]:
        delayed = DelayedTxnWrite(
            conn, header, now_ms + _WRITE_TIMEOUT_MS, appended, waiting, on_settled=settled
        )
        if not waiting:
            return list(delayed.actions())
        return list(self.broker.replicas.park_produce(delayed))

    def _txn_offset_commit(
        self, conn: int, header: RequestHeader, request: TxnOffsetCommitRequest, now_ms: int
    ) -> list[Action]:
        """Offsets that count only if the transaction commits: written to the group's
        ``__consumer_offsets`` partition as a transactional batch of the producer, held
        aside until the marker says commit or abort."""
        error = self.broker.groups.group_error(request.group_id)
        offsets: dict[TopicPartition, CommittedOffset] = {}
        for t in request.topics:
            for p in t.partitions:
                offsets[TopicPartition(t.name, p.partition_index)] = CommittedOffset(
                    p.committed_offset, p.committed_leader_epoch, p.committed_metadata or "", now_ms
                )
        gp = TopicPartition(OFFSETS_TOPIC, self._offsets_partition(request.group_id))
        end = None
        woken: list[Action] = []
        if error is None and offsets:
            records = [
                (*offset_commit_record(request.group_id, tp, c), now_ms)
                for tp, c in offsets.items()
            ]
            batch = build_batch(
                records,
                producer_id=request.producer_id,
                producer_epoch=request.producer_epoch,
                is_transactional=True,
            )
            error, end, woken = self.broker.append_coordinator_batch(
                gp, batch, request.producer_id, request.producer_epoch, now_ms
            )
            if end is not None:
                held = self.pending_offsets.setdefault((gp, request.producer_id), {})
                held.setdefault(request.group_id, {}).update(offsets)
        final = error or ErrorCode.NONE
        appended = [(gp.topic, [PartitionProduceResponse(index=gp.partition, error_code=final)])]

        def settled(errors: dict[TopicPartition, int]) -> Response:
            code = errors.get(gp, final)
            if code == ErrorCode.NOT_LEADER_OR_FOLLOWER:
                code = ErrorCode.NOT_COORDINATOR
            return TxnOffsetCommitResponse(
                topics=[
                    TxnOffsetCommitResponseTopic(
                        name=t.name,
                        partitions=[
                            TxnOffsetCommitResponsePartition(p.partition_index, code)
                            for p in t.partitions
                        ],
                    )
                    for t in request.topics
                ]
            )

        waiting = {} if end is None else {gp: end}
        return self._park(conn, header, appended, waiting, settled, now_ms) + woken

    def load_offsets_batch(self, gp: TopicPartition, batch: RecordBatch) -> None:
        """A transactional batch of ``__consumer_offsets`` read back by a group coordinator
        that is loading: offsets held until their marker, or the marker itself."""
        if batch.is_control:
            commit = marker_type(batch) == COMMIT
            self._complete_txn_offsets(gp, batch.producer_id, commit)
            return
        held = self.pending_offsets.setdefault((gp, batch.producer_id), {})
        for record in batch.records():
            if record.key is None or record.value is None:
                continue
            key = decode_key(record.key)
            if not isinstance(key, OffsetCommitKey):
                continue
            value = decode_value(key, record.value)
            assert isinstance(value, OffsetCommitValue)
            held.setdefault(key.group, {})[TopicPartition(key.topic, key.partition)] = (
                CommittedOffset(
                    value.offset, value.leader_epoch, value.metadata, value.commit_timestamp
                )
            )

    def _complete_txn_offsets(self, gp: TopicPartition, producer_id: int, commit: bool) -> None:
        held = self.pending_offsets.pop((gp, producer_id), {})
        if commit:
            for group_id, offsets in held.items():
                self.broker.groups.coordinator.offsets_committed(group_id, offsets)

    # -- time -----------------------------------------------------------------------------
    def tick(self, now_ms: int) -> list[Action]:
        for p in list(self.loading):
            self._load(p, now_ms)
        self.coordinator.tick(now_ms)
        return self._after_change(now_ms)

    def next_deadline_ms(self) -> int | None:
        # Asked after every message the broker handles: nothing is built when nothing waits.
        if self.loading:
            return 0
        deadline = self.coordinator.next_deadline_ms()
        if not self.markers:
            return deadline
        deadlines = [] if deadline is None else [deadline]
        backoff = self.config.transaction_marker_retry_backoff_ms
        for pending in self.markers.values():
            if pending.prepared_at is not None:
                if self._prepared(pending):
                    return 0  # replicated since: send its markers now
                continue  # asked again after the next message, which may replicate it
            for tp in pending.remaining:
                deadlines.append(pending.sent_ms.get(tp, 0) + backoff)
        return min(deadlines, default=None)

    # -- becoming and ceasing to be a coordinator -----------------------------------------
    def leadership_changed(self, now_ms: int) -> list[Action]:
        me = self.broker.config.node_id
        topic = self.broker.image.topics.get(TXN_STATE_TOPIC)
        led = set()
        if topic is not None:
            led = {p for p, s in topic.partitions.items() if s.leader == me}
        for p in led - self.loaded - set(self.loading):
            self.loading[p] = 0
            assert topic is not None
            self.coordinator_epochs[p] = topic.partitions[p].leader_epoch
        gone = (self.loaded | set(self.loading)) - led
        if gone:
            moved = [t for t in self.coordinator.txns if self.partition_of(t) in gone]
            self.coordinator.unload(moved)
            for t in moved:
                self.markers.pop(t, None)
            self.loaded -= gone
            for p in gone:
                self.loading.pop(p, None)
                self.coordinator_epochs.pop(p, None)
        return []

    def _load(self, p: int, now_ms: int) -> None:
        """Read the whole partition back into the core, then resend the markers of any
        transaction it finds half-ended."""
        tp = TopicPartition(TXN_STATE_TOPIC, p)
        log_ = self.broker.logs.get(tp)
        offset = 0 if log_ is None else log_.log_start_offset
        while log_ is not None and offset < log_.log_end_offset:
            read = log_.read(offset, self.config.transaction_load_buffer_size)
            raw = read.records.read() if isinstance(read.records, FileSlice) else b""
            if not raw:
                break
            try:
                for batch in iter_batches(raw):
                    offset = batch.base_offset + batch.last_offset_delta + 1
                    if batch.is_control:
                        continue
                    for record in batch.records():
                        if record.key is not None:
                            value = None if record.value is None else decode_txn_value(record.value)
                            self.coordinator.load(decode_txn_key(record.key), value)
            except (CorruptRecordError, WireDecodeError, ValueError) as exc:
                log.warning("%s: unreadable record while loading, skipped: %s", tp, exc)
                break
        del self.loading[p]
        self.loaded.add(p)
        for job in self.coordinator.pending_markers():
            if self.partition_of(job.transactional_id) == p:
                self.markers[job.transactional_id] = _Markers(job, set(job.partitions))
        log.info("loaded transactions of %s", tp)


# How a refused write of a transaction's state reads to its producer (Kafka's
# TransactionStateManager.appendTransactionToLog). reflog simplification: the coordinator's
# state has already moved (Kafka keeps the change pending until the write succeeds).
_STATE_WRITE_ERRORS: dict[int, int] = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
}


def _failed(body: Response, error: int) -> Response:
    """``body`` carrying ``error`` instead (in each partition, for AddPartitionsToTxn)."""
    if isinstance(body, AddPartitionsToTxnResponse):
        return AddPartitionsToTxnResponse(
            results_by_topic_v3_and_below=[
                AddPartitionsToTxnTopicResult(
                    name=t.name,
                    results_by_partition=[
                        AddPartitionsToTxnPartitionResult(r.partition_index, error)
                        for r in t.results_by_partition
                    ],
                )
                for t in body.results_by_topic_v3_and_below
            ]
        )
    failed: Response = dataclasses.replace(cast(Any, body), error_code=error)  # each has one
    return failed
