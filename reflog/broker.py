"""A Kafka broker as a pure core: a request in, responses out.

The broker never touches a socket or a clock. A runtime (the simulation or
the asyncio network server) hands it each decoded request with the current
time and sends whatever :class:`Respond` actions come back; it calls
:meth:`Broker.tick` when :meth:`Broker.next_deadline_ms` comes due, which is
how a long-polling Fetch times out. Storage is real files in both runtimes.

A broker always follows a metadata log (KRaft, KIP-500): the controller quorum
owns the metadata, and every change the broker learns of comes in through
:meth:`Broker.apply_metadata`. The broker answers Metadata from that image,
forwards CreateTopics (and the topics Metadata auto-creates) to the active
controller as :class:`Forward` actions, hosts the partitions the image places on
it and serves only those it leads (NOT_LEADER_OR_FOLLOWER otherwise). A lone
broker is no exception: it runs beside a quorum of one controller (Kafka 4's
combined mode, ``process.roles=broker,controller``), and each of its partitions
has one replica, an ISR of one.

The broker's :class:`ReplicaManager` does the replication: leaders track
followers and high watermarks, followers fetch from leaders, ``acks=all``
produces wait for the ISR.

A produced record set is checked by :func:`~reflog.storage.log_validator.validate_records`
(Kafka's ``LogValidator``) before any of it is appended, and an idempotent producer's
batch against the partition's producer state
(:class:`~reflog.storage.producer_state.ProducerStateManager`): a retry gets its
original offsets back instead of a second copy. reflog simplification: that
checks batches, not each record, and decompresses nothing, so a search by timestamp into
a batch whose records cannot be read answers CORRUPT_MESSAGE or UNSUPPORTED_COMPRESSION_TYPE
for that partition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from reflog import broker_admin
from reflog.broker_actions import Action, Forward, Respond, SendToBroker, ToController
from reflog.config import BrokerConfig
from reflog.controller.admin import ADMIN_REQUESTS, topic_overrides
from reflog.controller.image import MetadataImage
from reflog.controller.producer_id_manager import ProducerIdManager
from reflog.controller.records import NO_LEADER
from reflog.groups.host import GroupHost
from reflog.groups.placement import OFFSETS_TOPIC
from reflog.purgatory import DelayedFetch, FetchPurgatory
from reflog.records.errors import CorruptRecordError, UnsupportedCompressionError
from reflog.records.file_slice import FileSlice
from reflog.replication.delayed_delete_records import DelayedDeleteRecords
from reflog.replication.delayed_produce import DelayedProduce
from reflog.replication.replica_manager import ReplicaManager
from reflog.storage.cleaner import LogCleaner
from reflog.storage.flusher import BackgroundFlusher, InlineFlusher
from reflog.storage.log_manager import LogManager
from reflog.storage.log_validator import (
    InvalidRecordError,
    RecordBatchTooLargeError,
    RecordTooLargeError,
    RecordValidationError,
    UnsupportedMessageFormatError,
    validate_records,
)
from reflog.storage.partition_log import OffsetOutOfRangeError, PartitionLog
from reflog.storage.producer_state import ProducerStateError, last_sequence
from reflog.topic_partition import (
    TopicPartition,
    topic_name_error,
)
from reflog.transactions.host import TxnHost
from reflog.wire.apis import API_TABLE, ApiKey, api_versions_response
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.api_versions import ApiVersionsRequest
from reflog.wire.messages.configs import DescribeConfigsRequest
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreateTopicsRequest,
)
from reflog.wire.messages.fetch import (
    AbortedTransaction,
    FetchableTopicResponse,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    PartitionData,
)
from reflog.wire.messages.find_coordinator import TRANSACTION_KEY_TYPE, FindCoordinatorRequest
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartitionResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)
from reflog.wire.messages.metadata import (
    MetadataRequest,
    MetadataRequestTopic,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from reflog.wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
)
from reflog.wire.messages.partition_admin import (
    DeleteRecordsRequest,
    ListPartitionReassignmentsRequest,
)
from reflog.wire.messages.produce import (
    PartitionProduceData,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)
from reflog.wire.messages.quorum import (
    AllocateProducerIdsResponse,
    AlterPartitionRequest,
    AlterPartitionResponse,
)
from reflog.wire.messages.topic_admin import DeleteTopicsRequest
from reflog.wire.messages.transactions import WriteTxnMarkersResponse
from reflog.wire.schema import ZERO_UUID, Request, Response

__all__ = ["Action", "Broker", "Forward", "Respond", "SendToBroker", "ToController"]

log = logging.getLogger(__name__)

# The consumer group APIs, which a group coordinator answers.
GROUP_API_KEYS = (
    ApiKey.OFFSET_COMMIT,
    ApiKey.OFFSET_FETCH,
    ApiKey.FIND_COORDINATOR,
    ApiKey.JOIN_GROUP,
    ApiKey.HEARTBEAT,
    ApiKey.LEAVE_GROUP,
    ApiKey.SYNC_GROUP,
    ApiKey.DESCRIBE_GROUPS,
    ApiKey.LIST_GROUPS,
)

# The transaction APIs: a transaction coordinator's, a partition leader's markers, and the
# admin tools' questions about both.
TXN_API_KEYS = (
    ApiKey.ADD_PARTITIONS_TO_TXN,
    ApiKey.ADD_OFFSETS_TO_TXN,
    ApiKey.END_TXN,
    ApiKey.WRITE_TXN_MARKERS,
    ApiKey.TXN_OFFSET_COMMIT,
    # kafka-transactions' questions (KIP-664).
    ApiKey.DESCRIBE_PRODUCERS,
    ApiKey.DESCRIBE_TRANSACTIONS,
    ApiKey.LIST_TRANSACTIONS,
)

# Fetch's isolation_level for a consumer that reads only committed transactions.
READ_COMMITTED = 1

# ListOffsets' special timestamps.
LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2


@dataclass
class _FetchResult:
    response: FetchResponse
    bytes_ready: int
    has_error: bool


class Broker:
    """One broker: topics, partitions, produce, fetch, offsets, metadata."""

    def __init__(
        self,
        config: BrokerConfig,
        now_ms: int = 0,
        *,
        zero_copy: bool = True,
        flush_in_background: bool = False,
    ) -> None:
        self.config = config
        # A fetch answer holds its records as file slices, for the network runtime to send
        # with sendfile when it sends the answer. A runtime with no socket to send a slice to
        # (the simulation, which sends an answer the moment it is built) says zero_copy=False:
        # the records are then read into bytes as the answer is built.
        self.zero_copy = zero_copy
        # A network runtime says flush_in_background=True: a rolled segment is then fsynced on
        # a thread of its own (reflog.storage.flusher). The core alone, as the simulation and
        # the core's tests run it, starts no thread, and its crash() knows what is durable.
        flusher = BackgroundFlusher() if flush_in_background else InlineFlusher()
        self.logs = LogManager(config.log_dir, config.log, now_ms, flusher=flusher)
        self._next_retention_ms = now_ms + config.log_retention_check_interval_ms
        self._next_producer_expiration_ms = now_ms + config.producer_id_expiration_check_interval_ms
        self.cleaner = LogCleaner()
        self._next_clean_ms = now_ms + config.log_cleaner_backoff_ms
        # Until the first metadata arrives the broker knows of no topic, nor of itself:
        # the partitions on disk wait for the image to say who leads them.
        self.image = MetadataImage()
        self.replicas = ReplicaManager(
            config.node_id,
            self.logs,
            config.replica_lag_time_max_ms,
            config.truncation_policy,
            config.replica_fetch_wait_max_ms,
            config.replica_fetch_max_bytes,
        )
        self.purgatory = FetchPurgatory()
        self.producer_ids = ProducerIdManager(config.node_id)
        # InitProducerId requests waiting for the block of ids on its way: (conn, header).
        self._awaiting_producer_id: list[tuple[int, RequestHeader]] = []
        self.groups = GroupHost(self, config.groups)
        self.txns = TxnHost(self, config.transactions)
        self._handlers: dict[int, Callable[[int, RequestHeader, Request, int], list[Action]]] = {
            ApiKey.PRODUCE: self._produce,
            ApiKey.FETCH: self._fetch,
            ApiKey.LIST_OFFSETS: self._list_offsets,
            ApiKey.METADATA: self._metadata,
            ApiKey.API_VERSIONS: self._api_versions,
            ApiKey.CREATE_TOPICS: self._create_topics,
            ApiKey.OFFSET_FOR_LEADER_EPOCH: self._offset_for_leader_epoch,
            ApiKey.INIT_PRODUCER_ID: self._init_producer_id,
            # The admin APIs: those that change the metadata go to the controller.
            ApiKey.DELETE_TOPICS: self._forward_admin,
            ApiKey.CREATE_PARTITIONS: self._forward_admin,
            ApiKey.ALTER_CONFIGS: self._forward_admin,
            ApiKey.INCREMENTAL_ALTER_CONFIGS: self._forward_admin,
            ApiKey.ELECT_LEADERS: self._forward_admin,
            ApiKey.ALTER_PARTITION_REASSIGNMENTS: self._forward_admin,
            ApiKey.DESCRIBE_CONFIGS: self._describe_admin,
            ApiKey.DESCRIBE_CLUSTER: self._describe_admin,
            ApiKey.LIST_PARTITION_REASSIGNMENTS: self._describe_admin,
            ApiKey.DELETE_RECORDS: self._delete_records,
            **{key: self._group_request for key in GROUP_API_KEYS},
            **{key: self._txn_request for key in TXN_API_KEYS},
        }
        # The partitions the image places here, and the config overrides each log has.
        self._hosted: dict[TopicPartition, dict[str, str]] = {}
        self._strays_removed = False
        assert self._handlers.keys() == API_TABLE.keys()

    # -- entry points -----------------------------------------------------------------
    def handle(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        """Handle one decoded request that arrived on connection ``conn``."""
        return self._handlers[header.api_key](conn, header, request, now_ms)

    def tick(self, now_ms: int) -> list[Action]:
        """Run what is due: retention, delayed fetches whose ``max_wait_ms`` ran out, and
        the replication timers (ISR checks, acks=all timeouts, follower fetches)."""
        if now_ms >= self._next_retention_ms:
            self.logs.delete_old_segments(now_ms, self.high_watermark)
            self._next_retention_ms = now_ms + self.config.log_retention_check_interval_ms
        if now_ms >= self._next_producer_expiration_ms:
            for _, partition_log in self.logs:
                partition_log.remove_expired_producers(
                    now_ms, self.config.producer_id_expiration_ms
                )
            interval = self.config.producer_id_expiration_check_interval_ms
            self._next_producer_expiration_ms = now_ms + interval
        if now_ms >= self._next_clean_ms:
            for tp, partition_log in self.logs:
                hw = self.high_watermark(tp)
                self.cleaner.clean(partition_log, now_ms, high_watermark=hw)
            self._next_clean_ms = now_ms + self.config.log_cleaner_backoff_ms
        due = self.purgatory.expired(now_ms)
        self.purgatory.remove(due)
        actions: list[Action] = [
            Respond(f.conn, f.header, self._read_fetch(f.request).response) for f in due
        ]
        return (
            actions
            + self.replicas.tick(now_ms)
            + self._producer_id_requests(now_ms)
            + self.groups.tick(now_ms)
            + self.txns.tick(now_ms)
        )

    def next_deadline_ms(self) -> int:
        deadline = min(
            self._next_retention_ms, self._next_clean_ms, self._next_producer_expiration_ms
        )
        for other in (
            self.purgatory.next_deadline_ms(),
            self.replicas.next_deadline_ms(),
            self.producer_ids.next_deadline_ms(self._broker_epoch()),
            self.groups.next_deadline_ms(),
            self.txns.next_deadline_ms(),
        ):
            if other is not None and other < deadline:
                deadline = other
        return deadline

    def connection_closed(self, conn: int) -> None:
        self.purgatory.drop_connection(conn)
        self.replicas.produces.drop_connection(conn)
        self.replicas.deletes.drop_connection(conn)
        self._awaiting_producer_id = [w for w in self._awaiting_producer_id if w[0] != conn]

    # -- replication between brokers ----------------------------------------------------
    def on_broker_response(self, broker_id: int, response: Response, now_ms: int) -> list[Action]:
        """The answer of leader ``broker_id`` to this follower's fetcher."""
        if isinstance(response, WriteTxnMarkersResponse):  # the transaction coordinator's
            return self.txns.on_markers_response(response, now_ms)
        # Only leaders serve fetches, so a follower's moving high watermark wakes nobody.
        return self.replicas.on_broker_response(broker_id, response, now_ms)

    def on_broker_unreachable(self, broker_id: int, now_ms: int) -> None:
        self.replicas.on_broker_unreachable(broker_id, now_ms)

    def on_alter_partition_response(
        self, response: AlterPartitionResponse, request: AlterPartitionRequest, now_ms: int
    ) -> list[Action]:
        return self.replicas.on_alter_partition_response(response, request, now_ms)

    def on_allocate_producer_ids_response(
        self, response: AllocateProducerIdsResponse, now_ms: int
    ) -> list[Action]:
        """The controller's answer to this broker's request for producer ids: the producers
        waiting for it get theirs (or COORDINATOR_LOAD_IN_PROGRESS if it brought none)."""
        self.producer_ids.on_response(now_ms, response)
        waiting, self._awaiting_producer_id = self._awaiting_producer_id, []
        answers: list[Action] = [
            Respond(conn, header, _new_producer_id(self.producer_ids.generate()))
            for conn, header in waiting
        ]
        return answers + self._producer_id_requests(now_ms)

    def unsupported_api_versions(self, conn: int, header: RequestHeader) -> Respond:
        """An ApiVersions request of a version reflog lacks: answer UNSUPPORTED_VERSION
        with our ranges, so the client can retry with one that fits."""
        return Respond(
            conn, header, api_versions_response(error_code=ErrorCode.UNSUPPORTED_VERSION)
        )

    def apply_metadata(self, image: MetadataImage, now_ms: int) -> list[Action]:
        """Follow the controller's metadata: host every partition the image places here,
        and lead or follow each as it says."""
        self.image = image
        me = self.config.node_id
        hosted: dict[TopicPartition, dict[str, str]] = {}
        for name, topic in image.topics.items():
            overrides = topic_overrides(image, name, me)
            for p, state in topic.partitions.items():
                tp = TopicPartition(name, p)
                if me not in state.replicas:
                    continue
                hosted[tp] = overrides
                on_disk = self.logs.topic_id(tp)
                if on_disk is not None and on_disk != topic.topic_id:
                    # A log of an older topic of this name, deleted while we were down.
                    log.info("deleting %s: it belongs to a deleted topic %s", tp, on_disk)
                    self.replicas.remove(tp)
                    self.logs.delete(tp)
                if self.logs.get(tp) is None:
                    self.logs.create(tp, overrides, now_ms)
                    self.logs.set_topic_id(tp, topic.topic_id)
                elif on_disk is None:
                    self.logs.set_topic_id(tp, topic.topic_id)
                elif self._hosted.get(tp, overrides) != overrides:
                    self.logs.reconfigure(tp, overrides)  # a config changed: live
                    self.replicas.reconfigure(tp)
        # A partition the image placed here before and no longer does (its topic deleted,
        # or reassigned away) leaves the disk; one that left while this broker was down is
        # found by remove_stray_logs.
        for tp in self._hosted.keys() - hosted.keys():
            self.replicas.remove(tp)
            self.logs.delete(tp)
        self._hosted = hosted
        actions = self.replicas.apply(image, now_ms)
        return (
            actions + self.groups.leadership_changed(now_ms) + self.txns.leadership_changed(now_ms)
        )

    def remove_stray_logs(self) -> None:
        """Once per start, when the controller has let this broker in (so its image holds
        every change up to its registration): delete the logs on disk the image no longer
        places here, deleted or moved away while this broker was down (Kafka's stray logs)."""
        if self._strays_removed or self.image.offset == 0:
            return  # done already, or no metadata applied yet to judge by
        self._strays_removed = True
        for tp, _ in list(self.logs):
            if tp not in self._hosted:
                log.info("deleting stray partition %s: no longer placed on this broker", tp)
                self.replicas.remove(tp)
                self.logs.delete(tp)

    def close(self) -> None:
        self.logs.close()

    def crash(self) -> None:
        """The simulation's power cut: what was not flushed is lost."""
        self.logs.crash()

    # -- partitions -------------------------------------------------------------------
    def partition_leader_epoch(self, tp: TopicPartition) -> int:
        """The partition's leader epoch in the image (-1: no such partition)."""
        state = self.image.partition(tp)
        return -1 if state is None else state.leader_epoch

    def _epoch_error(self, tp: TopicPartition, current_leader_epoch: int) -> int | None:
        """KIP-320: a fetcher that names a leader epoch must name ours. Older: it follows a
        leader that is gone (FENCED_LEADER_EPOCH); newer: we have not caught up with the
        metadata yet (UNKNOWN_LEADER_EPOCH). Either way it must not read, nor count as a
        follower that has our records."""
        if current_leader_epoch < 0:
            return None
        epoch = self.partition_leader_epoch(tp)
        if current_leader_epoch < epoch:
            return ErrorCode.FENCED_LEADER_EPOCH
        if current_leader_epoch > epoch:
            return ErrorCode.UNKNOWN_LEADER_EPOCH
        return None

    def _not_leader(self, tp: TopicPartition) -> int | None:
        """The error for a partition this broker does not lead; else None."""
        state = self.image.partition(tp)
        if state is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if state.leader != self.config.node_id:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        return None

    def partition_log(self, tp: TopicPartition) -> PartitionLog | None:
        return self.logs.get(tp)

    def high_watermark(self, tp: TopicPartition) -> int:
        p = self.replicas.partitions.get(tp)
        return 0 if p is None else p.high_watermark

    # -- ApiVersions ------------------------------------------------------------------
    def _api_versions(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, ApiVersionsRequest)
        return [Respond(conn, header, api_versions_response())]

    # -- InitProducerId ---------------------------------------------------------------
    def _init_producer_id(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        """A new producer id and epoch 0 for an idempotent producer. Kafka answers so for
        every request without a transactional id, even one naming the id it had (v3+):
        an idempotent producer bumps its epoch by itself (KIP-360). A transactional
        producer's request goes to the transaction coordinator."""
        assert isinstance(request, InitProducerIdRequest)
        if request.transactional_id is not None:
            return self.txns.handle(conn, header, request, now_ms) + self._producer_id_requests(
                now_ms
            )
        producer_id = self.producer_ids.generate()
        asked = self._producer_id_requests(now_ms)
        if producer_id is None and self.producer_ids.in_flight:
            self._awaiting_producer_id.append((conn, header))  # answered with the block
            return asked
        return [Respond(conn, header, _new_producer_id(producer_id)), *asked]

    def _producer_id_requests(self, now_ms: int) -> list[Action]:
        request = self.producer_ids.request(now_ms, self._broker_epoch())
        return [] if request is None else [ToController(request)]

    def _broker_epoch(self) -> int:
        """This broker's epoch as the metadata registers it (-1: not registered yet)."""
        me = self.image.brokers.get(self.config.node_id)
        return -1 if me is None else me.broker_epoch

    # -- consumer groups ----------------------------------------------------------------
    def _group_request(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        if isinstance(request, FindCoordinatorRequest) and request.key_type == TRANSACTION_KEY_TYPE:
            return self.txns.find_coordinator(conn, header, request)
        return self.groups.handle(conn, header, request, now_ms)

    # -- transactions -------------------------------------------------------------------
    def _txn_request(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        return self.txns.handle(conn, header, request, now_ms)

    def append_coordinator_batch(
        self,
        tp: TopicPartition,
        batch: bytes,
        producer_id: int,
        producer_epoch: int,
        now_ms: int,
        coordinator_epoch: int | None = None,
    ) -> tuple[int, int | None, list[Action]]:
        """Append a batch a coordinator wrote for a producer (a transaction marker, with
        its ``coordinator_epoch``, or transactional offsets): no sequence number to check,
        but an epoch older than the producer's here is fenced, and a marker from a
        coordinator older than the last one's. The error, the end offset if written, woken
        fetches."""
        refusal = self._not_leader(tp)
        log_ = self.logs.get(tp)
        if refusal is not None or log_ is None:
            return refusal or ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None, []
        entry = log_.producer_state.producers.get(producer_id)
        if entry is not None and producer_epoch < entry.producer_epoch:
            return ErrorCode.INVALID_PRODUCER_EPOCH, None, []
        if (
            entry is not None
            and coordinator_epoch is not None
            and coordinator_epoch < entry.coordinator_epoch
        ):
            return ErrorCode.TRANSACTION_COORDINATOR_FENCED, None, []
        log_.append(batch, self.partition_leader_epoch(tp), now_ms)
        self.replicas.appended(tp)
        return ErrorCode.NONE, log_.log_end_offset, self._wake_fetches(tp, now_ms)

    def last_stable_offset(self, tp: TopicPartition) -> int:
        """Below the high watermark and below the first open transaction (Kafka's LSO)."""
        high_watermark = self.high_watermark(tp)
        log_ = self.logs.get(tp)
        if log_ is None:
            return high_watermark
        return min(high_watermark, log_.transactions.first_unstable_offset(high_watermark))

    def append_internal(
        self, tp: TopicPartition, records: bytes, now_ms: int
    ) -> tuple[PartitionProduceResponse, int | None, list[Action]]:
        """Append a batch the broker wrote itself (the group coordinator's records) as a
        produce would: the append's answer, its end offset if written, and the followers'
        fetches it wakes. Waiting for the ISR is the caller's (a DelayedProduce)."""
        pdata = PartitionProduceData(index=tp.partition, records=records)
        response, end = self._append(tp, pdata, ProduceRequest.MAX_VERSION, -1, now_ms)
        woken = self._wake_fetches(tp, now_ms) if end is not None else []
        return response, end, woken

    # -- Metadata ---------------------------------------------------------------------
    def _metadata(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, MetadataRequest)
        if request.topics is None or (header.api_version == 0 and not request.topics):
            asked = [MetadataRequestTopic(name=name) for name in sorted(self.image.topics)]
        else:
            asked = request.topics
        # Before v4 there is no flag: auto-creation is implied, as in Kafka.
        may_create = self.config.auto_create_topics_enable and request.allow_auto_topic_creation
        topics = []
        to_create = []
        for topic in asked:
            name = topic.name
            if name is None or topic.topic_id != ZERO_UUID:
                # Asked for by id (v12+): never auto-created, as in Kafka.
                topics.append(self._describe_topic_id(topic, header.api_version))
                continue
            error = topic_name_error(name)
            if error is not None:
                topics.append(
                    MetadataResponseTopic(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION, name=name)
                )
            elif name not in self.image.topics and may_create:
                # Kafka answers LEADER_NOT_AVAILABLE while the controller creates it.
                # __consumer_offsets is made as Kafka makes it (compacted, its own count).
                creatable = (
                    self.groups.offsets_topic()
                    if name == OFFSETS_TOPIC
                    else CreatableTopic(name=name)
                )
                to_create.append(creatable)
                topics.append(
                    MetadataResponseTopic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=name)
                )
            else:
                topics.append(self._describe_topic(name))
        brokers = [
            MetadataResponseBroker(node_id=b.broker_id, host=b.host, port=b.port)
            for b in self.image.live_brokers()
        ]
        response = MetadataResponse(
            brokers=brokers,
            cluster_id=self.config.cluster_id,
            controller_id=self.config.node_id,
            topics=topics,
        )
        actions: list[Action] = [Respond(conn, header, response)]
        if to_create:
            actions.append(Forward(CreateTopicsRequest(topics=to_create), None))
        return actions

    def _describe_topic_id(
        self, asked: MetadataRequestTopic, version: int
    ) -> MetadataResponseTopic:
        """A topic asked for by id: Kafka takes ids from v12 on, and only without a name.

        reflog simplification: Kafka refuses a whole v10/v11 request that carries an id
        with INVALID_REQUEST; reflog answers that error for the topic alone."""
        if version < 12 or asked.name is not None or asked.topic_id == ZERO_UUID:
            return MetadataResponseTopic(
                error_code=ErrorCode.INVALID_REQUEST,
                name=asked.name if asked.name is not None or version >= 12 else "",
                topic_id=asked.topic_id,
            )
        name = next(
            (t.name for t in self.image.topics.values() if t.topic_id == asked.topic_id), None
        )
        if name is None:
            return MetadataResponseTopic(
                error_code=ErrorCode.UNKNOWN_TOPIC_ID, name=None, topic_id=asked.topic_id
            )
        return self._describe_topic(name)

    def _describe_topic(self, name: str) -> MetadataResponseTopic:
        topic = self.image.topics.get(name)
        if topic is None:
            return MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=name)
        partitions = [
            MetadataResponsePartition(
                error_code=ErrorCode.NONE
                if s.leader != NO_LEADER
                else ErrorCode.LEADER_NOT_AVAILABLE,
                partition_index=p,
                leader_id=s.leader,
                leader_epoch=s.leader_epoch,
                replica_nodes=list(s.replicas),
                isr_nodes=list(s.isr),
            )
            for p, s in sorted(topic.partitions.items())
        ]
        return MetadataResponseTopic(
            error_code=ErrorCode.NONE,
            name=name,
            topic_id=topic.topic_id,
            is_internal=name == OFFSETS_TOPIC,
            partitions=partitions,
        )

    # -- CreateTopics -----------------------------------------------------------------
    def _create_topics(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, CreateTopicsRequest)
        return [Forward(request, (conn, header))]  # the controller decides (KIP-590)

    # -- the admin APIs (reflog.broker_admin, reflog.controller.admin) -----------------
    def _forward_admin(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, ADMIN_REQUESTS)
        if isinstance(request, DeleteTopicsRequest):
            request = request.in_v6_layout()  # forwarded at v6, where v0-v5's names are not
        return [Forward(request, (conn, header))]  # the controller decides (KIP-590)

    def _describe_admin(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        """DescribeConfigs, DescribeCluster, ListPartitionReassignments: from the image."""
        response: Response
        if isinstance(request, DescribeConfigsRequest):
            me = self.config.node_id
            response = broker_admin.describe_configs(self.image, me, self.config.log, request)
        elif isinstance(request, ListPartitionReassignmentsRequest):
            response = broker_admin.list_reassignments(self.image, request)
        else:
            response = broker_admin.describe_cluster(self.image, self.config.cluster_id)
        return [Respond(conn, header, response)]

    def _delete_records(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, DeleteRecordsRequest)
        response, required = broker_admin.delete_records(
            request, self._not_leader, self.logs.get, self.high_watermark
        )
        # Answered once every live follower's log start has moved too (DelayedDeleteRecords).
        delayed = DelayedDeleteRecords(
            conn,
            header,
            now_ms + request.timeout_ms,
            [(t.name, list(t.partitions)) for t in response.topics],
            required,
        )
        return list(self.replicas.deletes.park(delayed, self._low_watermark))

    def _low_watermark(self, tp: TopicPartition) -> int | None:
        live = {b.broker_id for b in self.image.live_brokers()}
        return self.replicas.low_watermark(tp, live)

    # -- Produce ----------------------------------------------------------------------
    def _produce(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, ProduceRequest)
        actions: list[Action] = []
        topics = []
        waiting: dict[TopicPartition, int] = {}  # acks=all: offset the ISR must reach
        if request.acks not in (-1, 0, 1):
            error_all: int | None = ErrorCode.INVALID_REQUIRED_ACKS
        else:
            error_all = None
        for topic in request.topic_data:
            partitions = []
            for pdata in topic.partition_data:
                tp = TopicPartition(topic.name, pdata.index)
                if error_all is not None:
                    partitions.append(
                        PartitionProduceResponse(
                            index=pdata.index, error_code=error_all, base_offset=-1
                        )
                    )
                    continue
                response, end = self._append(tp, pdata, header.api_version, request.acks, now_ms)
                partitions.append(response)
                if end is not None:
                    if self.purgatory:  # under produce load, usually no fetch is parked
                        actions.extend(self._wake_fetches(tp, now_ms))  # followers' too
                    if request.acks == -1:
                        waiting[tp] = end
            topics.append(TopicProduceResponse(name=topic.name, partition_responses=partitions))
        if waiting:
            delayed = DelayedProduce(
                conn,
                header,
                now_ms + request.timeout_ms,
                [(t.name, list(t.partition_responses)) for t in topics],
                waiting,
            )
            return [*self.replicas.park_produce(delayed), *actions]
        # acks=0: the producer asked for no answer; the request is still complete.
        body = None if request.acks == 0 else ProduceResponse(responses=topics)
        return [Respond(conn, header, body), *actions]

    def _append(
        self, tp: TopicPartition, pdata: PartitionProduceData, version: int, acks: int, now_ms: int
    ) -> tuple[PartitionProduceResponse, int | None]:
        """Append one partition's batches; the response and, if written, the end offset."""

        def fail(code: int, message: str) -> tuple[PartitionProduceResponse, int | None]:
            log.info("produce to %s refused: %s", tp, message)
            return PartitionProduceResponse(
                index=tp.partition, error_code=code, base_offset=-1, error_message=message
            ), None

        log_ = self.logs.get(tp)
        refusal = self._not_leader(tp)
        if refusal is not None:
            return fail(refusal, f"this broker does not lead {tp}")
        if log_ is None:
            return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"unknown partition {tp}")
        refused = self.replicas.append_error(tp, acks)
        if refused is not None:
            return fail(refused, f"the ISR of {tp} is below min.insync.replicas")
        raw = pdata.records
        if isinstance(raw, FileSlice):  # only a broker's own fetch answers hold slices
            raw = raw.read()
        try:
            batches = validate_records(
                b"" if raw is None else raw,
                produce_version=version,
                max_message_bytes=self.config.message_max_bytes,
                segment_bytes=log_.config.segment_bytes,
                compacted=log_.config.compact,
            )
        except (CorruptRecordError, RecordValidationError) as exc:
            return fail(_record_error_code(exc), str(exc))
        if batches[0].producer_id >= 0:  # an idempotent producer (it sent one batch)
            try:
                duplicate = log_.producer_state.check_leader_append(
                    batches[0].producer_id,
                    batches[0].producer_epoch,
                    batches[0].base_sequence,
                    last_sequence(batches[0].base_sequence, batches[0].last_offset_delta),
                )
            except ProducerStateError as exc:
                return fail(exc.error_code, str(exc))
            if duplicate is not None:
                # A retry of a batch the log has: its original offsets, as a success. With
                # acks=all it waits, like the original, for the ISR to have them.
                return PartitionProduceResponse(
                    index=tp.partition,
                    error_code=ErrorCode.NONE,
                    base_offset=duplicate.first_offset,
                    log_start_offset=log_.log_start_offset,
                ), duplicate.last_offset + 1
        leader_epoch = self.partition_leader_epoch(tp)
        # The views validated above go to the log as they are: it parses no header again.
        first = log_.append(batches[0], leader_epoch, now_ms)
        for batch in batches[1:]:
            log_.append(batch, leader_epoch, now_ms)
        response = PartitionProduceResponse(
            index=tp.partition,
            error_code=ErrorCode.NONE,
            base_offset=first.base_offset,
            log_start_offset=log_.log_start_offset,
        )
        self.replicas.appended(tp)  # an ISR of one: the high watermark moves at once
        return response, log_.log_end_offset

    # -- Fetch ------------------------------------------------------------------------
    def _fetch(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, FetchRequest)
        early: list[Action] = []
        if request.replica_id >= 0:
            # A follower: its fetch offset is its log end; the high watermark may move.
            moved, early = self.replicas.on_follower_fetch(request, now_ms)
            early += self.replicas.deletes.check(self._low_watermark)
            for tp in moved:
                early += self.replicas.complete_produces(tp)
                early += self._wake_fetches(tp, now_ms)
        return early + self._fetch_or_wait(conn, header, request, now_ms)

    def _fetch_or_wait(
        self, conn: int, header: RequestHeader, request: FetchRequest, now_ms: int
    ) -> list[Action]:
        if request.max_wait_ms <= 0 or self._may_complete(request):
            result = self._read_fetch(request)
            if (
                result.has_error
                or request.max_wait_ms <= 0
                or result.bytes_ready >= max(request.min_bytes, 1)
            ):
                return [Respond(conn, header, result.response)]
        partitions = frozenset(
            TopicPartition(t.topic, p.partition) for t in request.topics for p in t.partitions
        )
        self.purgatory.park(
            DelayedFetch(conn, header, request, now_ms + request.max_wait_ms, partitions)
        )
        return []

    def _wake_fetches(self, tp: TopicPartition, now_ms: int) -> list[Action]:
        ready = []
        for delayed in self.purgatory.watching(tp):
            if not self._may_complete(delayed.request):
                continue
            result = self._read_fetch(delayed.request)
            if result.has_error or result.bytes_ready >= max(delayed.request.min_bytes, 1):
                ready.append((delayed, result))
        self.purgatory.remove(d for d, _ in ready)
        return [Respond(d.conn, d.header, r.response) for d, r in ready]

    def _offset_for_leader_epoch(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, OffsetForLeaderEpochRequest)
        return [Respond(conn, header, self.replicas.offset_for_leader_epoch(request))]

    def _fetch_refusal(self, tp: TopicPartition, fp: FetchPartition) -> int | None:
        """Why this broker may not serve ``fp`` (not its leader, another leader epoch)."""
        return self._not_leader(tp) or self._epoch_error(tp, fp.current_leader_epoch)

    def _may_complete(self, request: FetchRequest) -> bool:
        """Whether reading for this fetch could answer it now, judged from offsets alone
        (Kafka's DelayedFetch.tryComplete): some partition has records below the end this
        reader may see (the high watermark for a consumer, the log end for a follower), or
        an error to report. False means a read would find nothing, so none is made. With
        ``min_bytes`` above 1, only a read can count the bytes."""
        if request.min_bytes > 1:
            return True
        for topic in request.topics:
            for fp in topic.partitions:
                tp = TopicPartition(topic.topic, fp.partition)
                log_ = self.logs.get(tp)
                if log_ is None or self._fetch_refusal(tp, fp) is not None:
                    return True
                end = log_.log_end_offset if request.replica_id >= 0 else self.high_watermark(tp)
                if not log_.log_start_offset <= fp.fetch_offset <= log_.log_end_offset:
                    return True  # out of range: an error to answer
                if fp.fetch_offset < end:
                    return True
        return False

    def _read_fetch(self, request: FetchRequest) -> _FetchResult:
        budget = request.max_bytes
        total = 0
        has_error = False
        topics = []
        for topic in request.topics:
            partitions = []
            for fp in topic.partitions:
                tp = TopicPartition(topic.topic, fp.partition)
                log_ = self.logs.get(tp)
                refusal = self._fetch_refusal(tp, fp)
                if log_ is None or refusal is not None:
                    has_error = True
                    partitions.append(
                        PartitionData(
                            partition_index=fp.partition,
                            error_code=refusal or ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                            high_watermark=-1,
                            records=b"",
                        )
                    )
                    continue
                high_watermark = self.high_watermark(tp)
                last_stable = self.last_stable_offset(tp)
                # Consumers read only what is committed; followers copy everything;
                # read_committed consumers stop before the first open transaction.
                read_limit = None if request.replica_id >= 0 else high_watermark
                if request.isolation_level == READ_COMMITTED and request.replica_id < 0:
                    read_limit = last_stable
                # An empty record set, never null: librdkafka rejects a null one.
                records: FileSlice | bytes = b""
                error = ErrorCode.NONE
                try:
                    # Past the first partition with data, the response budget binds (KIP-74).
                    limit = min(fp.partition_max_bytes, budget) if total else fp.partition_max_bytes
                    if limit > 0 or not total:
                        read = log_.read(fp.fetch_offset, max(limit, 1), max_offset=read_limit)
                        if read.records is not None:
                            records = read.records if self.zero_copy else read.records.read()
                        total += read.size_in_bytes
                        budget -= read.size_in_bytes
                except OffsetOutOfRangeError:
                    error = ErrorCode.OFFSET_OUT_OF_RANGE
                    has_error = True
                aborted = None
                if request.isolation_level == READ_COMMITTED and request.replica_id < 0:
                    aborted = [
                        AbortedTransaction(producer_id=a.producer_id, first_offset=a.first_offset)
                        for a in log_.transactions.aborted_between(fp.fetch_offset, last_stable)
                    ]
                partitions.append(
                    PartitionData(
                        partition_index=fp.partition,
                        error_code=error,
                        high_watermark=high_watermark,
                        last_stable_offset=last_stable,
                        log_start_offset=log_.log_start_offset,
                        aborted_transactions=aborted,
                        records=records,
                    )
                )
            topics.append(FetchableTopicResponse(topic=topic.topic, partitions=partitions))
        return _FetchResult(FetchResponse(responses=topics), total, has_error)

    # -- ListOffsets ------------------------------------------------------------------
    def _list_offsets(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        assert isinstance(request, ListOffsetsRequest)
        topics = []
        for topic in request.topics:
            partitions = []
            for lp in topic.partitions:
                tp = TopicPartition(topic.name, lp.partition_index)
                partitions.append(self._list_offset(tp, lp.timestamp, request.isolation_level))
            topics.append(ListOffsetsTopicResponse(name=topic.name, partitions=partitions))
        return [Respond(conn, header, ListOffsetsResponse(topics=topics))]

    def _list_offset(
        self, tp: TopicPartition, timestamp: int, isolation_level: int
    ) -> ListOffsetsPartitionResponse:
        log_ = self.logs.get(tp)
        refusal = self._not_leader(tp)
        if log_ is None or refusal is not None:
            return ListOffsetsPartitionResponse(
                partition_index=tp.partition,
                error_code=refusal or ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            )
        # What a consumer of this isolation level could fetch: "latest" is its end, and a
        # search by timestamp finds nothing past it (Kafka's Partition.fetchOffsetForTimestamp).
        if isolation_level == READ_COMMITTED:
            last_fetchable = self.last_stable_offset(tp)
        else:
            last_fetchable = self.high_watermark(tp)
        found_timestamp = -1
        if timestamp == LATEST_TIMESTAMP:
            offset = last_fetchable
        elif timestamp == EARLIEST_TIMESTAMP:
            offset = log_.log_start_offset
        else:
            try:
                hit = log_.offset_for_timestamp(timestamp)
            except CorruptRecordError as exc:
                # reflog checks each batch, not each record, on produce (Kafka decodes every
                # record), and cannot decompress: a search into such a batch fails here.
                log.warning("ListOffsets on %s by timestamp failed: %s", tp, exc)
                return ListOffsetsPartitionResponse(
                    partition_index=tp.partition, error_code=_record_error_code(exc)
                )
            if hit is not None and hit.offset < last_fetchable:
                offset, found_timestamp = hit.offset, hit.timestamp
            else:
                offset = -1
        return ListOffsetsPartitionResponse(
            partition_index=tp.partition,
            error_code=ErrorCode.NONE,
            old_style_offsets=[offset] if offset >= 0 else [],
            timestamp=found_timestamp,
            offset=offset,
            leader_epoch=self.partition_leader_epoch(tp),
        )


def _new_producer_id(producer_id: int | None) -> InitProducerIdResponse:
    """InitProducerId's answer: the id with epoch 0, or "retry" when there is none yet."""
    if producer_id is None:
        return InitProducerIdResponse(error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    return InitProducerIdResponse(
        error_code=ErrorCode.NONE, producer_id=producer_id, producer_epoch=0
    )


def _record_error_code(exc: CorruptRecordError | RecordValidationError) -> int:
    """The error code Kafka answers for a record set refused, or unreadable."""
    if isinstance(exc, UnsupportedCompressionError):
        return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    if isinstance(exc, UnsupportedMessageFormatError):
        return ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT
    if isinstance(exc, RecordTooLargeError):
        return ErrorCode.MESSAGE_TOO_LARGE
    if isinstance(exc, RecordBatchTooLargeError):
        return ErrorCode.RECORD_LIST_TOO_LARGE
    if isinstance(exc, InvalidRecordError):
        return ErrorCode.INVALID_RECORD
    return ErrorCode.CORRUPT_MESSAGE
