"""The group coordinator inside a broker: requests in, ``__consumer_offsets`` underneath.

The broker hands every group request here (:meth:`GroupHost.handle`). A group belongs
to the leader of its ``__consumer_offsets`` partition (:mod:`reflog.groups.placement`):
another broker answers NOT_COORDINATOR, and a new leader answers
COORDINATOR_LOAD_IN_PROGRESS until it has read the partition's log and rebuilt the
groups and committed offsets from it (Kafka's ``GroupMetadataManager.loadGroupsAndOffsets``).

Offsets are committed through the broker's ordinary replicated append, as ``acks=all``
produces are: the OffsetCommit is answered once the partition's in-sync replicas have
the records, and only then do fetches see the new offsets. The topic itself is created
on first use, through the controller, like an auto-created topic.

A group's new assignment is written the same way, and SyncGroup is answered only once
it is replicated: a broker that takes over as coordinator then knows every generation that
was handed out. reflog simplification: the metadata written when a group becomes Empty or a
static member comes back is appended without waiting for the ISR (Kafka waits for the
latter before answering the member's JoinGroup).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reflog.broker_actions import Action, Forward, Respond
from reflog.controller.records import NO_LEADER
from reflog.groups.config import GroupConfig
from reflog.groups.coordinator import CommittedOffset, GroupCoordinator, Reply
from reflog.groups.error_responses import group_error_response
from reflog.groups.group import Group, GroupState, Member
from reflog.groups.placement import OFFSETS_TOPIC, coordinator_error, partition_for
from reflog.groups.records import (
    GroupMetadataKey,
    GroupMetadataValue,
    OffsetCommitKey,
    decode_key,
    decode_value,
    group_metadata_record,
    offset_commit_record,
)
from reflog.records import build_batch
from reflog.records.batch import iter_batches
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice
from reflog.replication.delayed_produce import DelayedProduce
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode, WireDecodeError
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from reflog.wire.messages.describe_groups import DescribeGroupsRequest, DescribeGroupsResponse
from reflog.wire.messages.find_coordinator import (
    GROUP_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.heartbeat import HeartbeatRequest
from reflog.wire.messages.join_group import JoinGroupRequest
from reflog.wire.messages.leave_group import LeaveGroupRequest
from reflog.wire.messages.list_groups import ListGroupsRequest, ListGroupsResponse
from reflog.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchResponse,
    OffsetFetchResponsePartition,
    OffsetFetchResponseTopic,
)
from reflog.wire.messages.sync_group import SyncGroupRequest
from reflog.wire.schema import Request

if TYPE_CHECKING:
    from reflog.broker import Broker

__all__ = ["DelayedGroupStore", "DelayedOffsetCommit", "GroupHost"]

log = logging.getLogger(__name__)

# How an append's failure reads to a committing consumer (Kafka's GroupMetadataManager).
_COMMIT_ERRORS: dict[int, int] = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
}


@dataclass
class DelayedOffsetCommit(DelayedProduce):
    """An OffsetCommit waiting, like an ``acks=all`` produce, for the ISR of its
    ``__consumer_offsets`` partition; its answer is an OffsetCommitResponse."""

    on_settled: Callable[[int], OffsetCommitResponse] | None = None

    def response(self) -> OffsetCommitResponse:  # type: ignore[override]
        """The answer once settled: on success the offsets enter the coordinator's cache
        (Kafka's putCacheCallback), so fetches never see an offset that could be lost."""
        [(_, [appended])] = self.topics
        assert self.on_settled is not None
        return self.on_settled(_COMMIT_ERRORS.get(appended.error_code, appended.error_code))


# How a failed write of a group's assignment reads to its members (Kafka's storeGroup).
_STORE_ERRORS: dict[int, int] = {
    **_COMMIT_ERRORS,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.REBALANCE_IN_PROGRESS,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
}


@dataclass
class DelayedGroupStore(DelayedProduce):
    """A group's new assignment waiting for the ISR of its ``__consumer_offsets``
    partition; settled, it answers every member's SyncGroup (``conn`` and ``header`` are
    the leader's)."""

    on_settled: Callable[[int], list[Reply]] | None = None

    def actions(self) -> list[Respond]:
        [(_, [appended])] = self.topics
        assert self.on_settled is not None
        error = _STORE_ERRORS.get(appended.error_code, appended.error_code)
        return [Respond(*r.reply_to, r.response) for r in self.on_settled(error)]


# The connection of a write that answers no one request by itself.
NO_CONNECTION = -1


class GroupHost:
    def __init__(self, broker: Broker, config: GroupConfig) -> None:
        self.broker = broker
        self.config = config
        self.coordinator = GroupCoordinator(config, random.Random(broker.config.node_id))
        # __consumer_offsets partitions this broker leads: loaded, or the next offset to load.
        self.loaded: set[int] = set()
        self.loading: dict[int, int] = {}

    # -- where groups live ----------------------------------------------------------------
    def num_partitions(self) -> int | None:
        topic = self.broker.image.topics.get(OFFSETS_TOPIC)
        return None if topic is None else len(topic.partitions)

    def partition_of(self, group_id: str) -> int | None:
        n = self.num_partitions()
        return None if n is None else partition_for(group_id, n)

    def group_error(self, group_id: str) -> int | None:
        """Why this broker cannot serve ``group_id`` now; None if it can."""
        return coordinator_error(self.partition_of(group_id), self.loading, self.loaded)

    # -- requests -------------------------------------------------------------------------
    def handle(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Action]:
        match request:
            case FindCoordinatorRequest():
                return self._find_coordinator(conn, header, request)
            case ListGroupsRequest():
                return [Respond(conn, header, self._list_groups())]
            case DescribeGroupsRequest():
                return [Respond(conn, header, self._describe_groups(request))]
        group_id = getattr(request, "group_id", "")
        error = self.group_error(group_id) if group_id else ErrorCode.INVALID_GROUP_ID
        if error is not None:
            return [Respond(conn, header, group_error_response(request, error))]
        reply_to = (conn, header)
        replies: list[Reply]
        match request:
            case JoinGroupRequest():
                client_id = header.client_id or ""
                replies = self.coordinator.join_group(now_ms, reply_to, request, client_id)
            case SyncGroupRequest():
                replies = self.coordinator.sync_group(now_ms, reply_to, request)
            case HeartbeatRequest():
                replies = [Reply(reply_to, self.coordinator.heartbeat(now_ms, request))]
            case LeaveGroupRequest():
                left, replies = self.coordinator.leave_group(now_ms, request, header.api_version)
                replies.append(Reply(reply_to, left))
            case OffsetCommitRequest():
                return self._commit(conn, header, request, now_ms) + self._write_groups(now_ms)
            case OffsetFetchRequest():
                replies = [Reply(reply_to, self._fetch_offsets(request))]
            case _:
                raise TypeError(f"{type(request).__name__} is not a group request")
        return _respond(replies) + self._write_groups(now_ms) + self._store_groups(now_ms)

    def _find_coordinator(
        self, conn: int, header: RequestHeader, request: FindCoordinatorRequest
    ) -> list[Action]:
        def answer(error: int, message: str | None = None) -> list[Action]:
            body = FindCoordinatorResponse(error_code=error, error_message=message)
            return [Respond(conn, header, body)]

        if request.key_type != GROUP_KEY_TYPE:
            return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE, "reflog has no transactions yet")
        if not request.key:
            return answer(ErrorCode.INVALID_GROUP_ID, "the group id is empty")
        p = self.partition_of(request.key)
        if p is None:
            # Created on first use, as Kafka does; the client asks again meanwhile.
            create = Forward(CreateTopicsRequest(topics=[self.offsets_topic()]), None)
            return [*answer(ErrorCode.COORDINATOR_NOT_AVAILABLE), create]
        state = self.broker.image.partition(TopicPartition(OFFSETS_TOPIC, p))
        leader = None if state is None else self.broker.image.brokers.get(state.leader)
        if state is None or state.leader == NO_LEADER or leader is None or leader.fenced:
            return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        body = FindCoordinatorResponse(node_id=leader.broker_id, host=leader.host, port=leader.port)
        return [Respond(conn, header, body)]

    def offsets_topic(self) -> CreatableTopic:
        """__consumer_offsets as Kafka creates it: compacted, offsets.topic.num.partitions
        partitions, offsets.topic.replication.factor replicas (at most one per broker)."""
        brokers = len(self.broker.image.live_brokers())
        return CreatableTopic(
            name=OFFSETS_TOPIC,
            num_partitions=self.config.offsets_topic_num_partitions,
            replication_factor=max(1, min(self.config.offsets_topic_replication_factor, brokers)),
            configs=[
                CreatableTopicConfig(name="cleanup.policy", value="compact"),
                CreatableTopicConfig(name="segment.bytes", value=str(100 * 1024 * 1024)),
            ],
        )

    def _list_groups(self) -> ListGroupsResponse:
        if self.loading:
            return ListGroupsResponse(error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        return ListGroupsResponse(groups=self.coordinator.list_groups())

    def _describe_groups(self, request: DescribeGroupsRequest) -> DescribeGroupsResponse:
        described = []
        for group_id in request.groups:
            error = self.group_error(group_id)
            if error is not None:
                body = group_error_response(DescribeGroupsRequest(groups=[group_id]), error)
                assert isinstance(body, DescribeGroupsResponse)
                described += body.groups
            else:
                described.append(self.coordinator.describe_group(group_id))
        return DescribeGroupsResponse(groups=described)

    # -- committed offsets ----------------------------------------------------------------
    def _commit(
        self, conn: int, header: RequestHeader, request: OffsetCommitRequest, now_ms: int
    ) -> list[Action]:
        error = self.coordinator.commit_error(now_ms, request)
        if error is not None:
            return [Respond(conn, header, group_error_response(request, error))]
        results: dict[TopicPartition, int] = {}
        offsets: dict[TopicPartition, CommittedOffset] = {}
        for topic in request.topics:
            for p in topic.partitions:
                tp = TopicPartition(topic.name, p.partition_index)
                metadata = p.committed_metadata or ""
                if len(metadata.encode()) > self.config.offset_metadata_max_bytes:
                    results[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
                elif self.broker.image.partition(tp) is None:
                    results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                else:
                    results[tp] = ErrorCode.NONE
                    offsets[tp] = CommittedOffset(
                        p.committed_offset, p.committed_leader_epoch, metadata, now_ms
                    )

        def settled(error: int) -> OffsetCommitResponse:
            if error == ErrorCode.NONE:
                self.coordinator.offsets_committed(request.group_id, offsets)
            for tp in offsets:
                results[tp] = error
            return _commit_response(request, results)

        if not offsets:
            return [Respond(conn, header, settled(ErrorCode.NONE))]
        records = [
            (*offset_commit_record(request.group_id, tp, c), now_ms) for tp, c in offsets.items()
        ]
        tp = self._offsets_partition(request.group_id)
        appended, end, actions = self.broker.append_internal(tp, build_batch(records), now_ms)
        delayed = DelayedOffsetCommit(
            conn,
            header,
            now_ms + self.config.offsets_commit_timeout_ms,
            [(tp.topic, [appended])],
            {} if end is None else {tp: end},
            on_settled=settled,
        )
        return [*self.broker.replicas.park_produce(delayed), *actions]

    def _offsets_partition(self, group_id: str) -> TopicPartition:
        p = self.partition_of(group_id)
        assert p is not None
        return TopicPartition(OFFSETS_TOPIC, p)

    def _fetch_offsets(self, request: OffsetFetchRequest) -> OffsetFetchResponse:
        committed = self.coordinator.offsets.get(request.group_id, {})
        if request.topics is None:  # every partition the group has committed
            wanted: dict[str, list[int]] = {}
            for tp in sorted(committed):
                wanted.setdefault(tp.topic, []).append(tp.partition)
        else:
            wanted = {t.name: t.partition_indexes for t in request.topics}
        topics = []
        for name, partitions in wanted.items():
            answers = []
            for p in partitions:
                c = committed.get(TopicPartition(name, p))
                answers.append(
                    OffsetFetchResponsePartition(
                        partition_index=p, committed_offset=-1, metadata=""
                    )
                    if c is None
                    else OffsetFetchResponsePartition(
                        partition_index=p,
                        committed_offset=c.offset,
                        committed_leader_epoch=c.leader_epoch,
                        metadata=c.metadata,
                    )
                )
            topics.append(OffsetFetchResponseTopic(name=name, partitions=answers))
        return OffsetFetchResponse(topics=topics)

    # -- group metadata records -------------------------------------------------------------
    def _write_groups(self, now_ms: int) -> list[Action]:
        actions: list[Action] = []
        for group in self.coordinator.take_dirty():
            tp = self._offsets_partition(group.group_id)
            batch = build_batch([(*group_metadata_record(group), now_ms)])
            appended, _, woken = self.broker.append_internal(tp, batch, now_ms)
            if appended.error_code != ErrorCode.NONE:
                log.info(
                    "group %s metadata not written: error %d", group.group_id, appended.error_code
                )
            actions += woken
        return actions

    def _store_groups(self, now_ms: int) -> list[Action]:
        """Write each group's new assignment; its SyncGroups are answered once the ISR has
        it (or the write fails)."""
        actions: list[Action] = []
        for group, generation in self.coordinator.take_stores():
            leader = group.members[group.leader_id or ""].awaiting_sync
            assert leader is not None, "the leader's SyncGroup starts the write"
            tp = self._offsets_partition(group.group_id)
            batch = build_batch([(*group_metadata_record(group), now_ms)])
            appended, end, woken = self.broker.append_internal(tp, batch, now_ms)

            def settled(
                error: int, group_id: str = group.group_id, gen: int = generation
            ) -> list[Reply]:
                # reflog simplification: the members' new session deadlines count from the
                # leader's SyncGroup, not from the moment the write was replicated.
                return self.coordinator.group_stored(now_ms, group_id, gen, error)

            delayed = DelayedGroupStore(
                # On no connection: the leader hanging up must not drop the other members'
                # answers, which come from the coordinator (the leader's among them).
                NO_CONNECTION,
                leader[1],
                now_ms + self.config.offsets_commit_timeout_ms,
                [(tp.topic, [appended])],
                {} if end is None else {tp: end},
                on_settled=settled,
            )
            actions += [*self.broker.replicas.park_produce(delayed), *woken]
        return actions

    # -- time -----------------------------------------------------------------------------
    def tick(self, now_ms: int) -> list[Action]:
        for p in list(self.loading):
            self._load_step(p, now_ms)
        return _respond(self.coordinator.tick(now_ms)) + self._write_groups(now_ms)

    def next_deadline_ms(self) -> int | None:
        if self.loading:
            return 0  # long past: keep loading, one buffer per tick, at once
        return self.coordinator.next_deadline_ms()

    # -- becoming and ceasing to be a coordinator -----------------------------------------
    def leadership_changed(self, now_ms: int) -> list[Action]:
        """After a metadata change: load the __consumer_offsets partitions this broker now
        leads; drop the groups of those it no longer leads."""
        me = self.broker.config.node_id
        led = set()
        topic = self.broker.image.topics.get(OFFSETS_TOPIC)
        if topic is not None:
            led = {p for p, s in topic.partitions.items() if s.leader == me}
        for p in led - self.loaded - set(self.loading):
            log.info("loading groups of %s-%d", OFFSETS_TOPIC, p)
            self.loading[p] = 0
        gone = (self.loaded | set(self.loading)) - led
        replies: list[Reply] = []
        if gone:
            moved = {g for g in self.coordinator.groups if self.partition_of(g) in gone}
            replies = self.coordinator.unload(now_ms, moved)
            self.loaded -= gone
            for p in gone:
                self.loading.pop(p, None)
        return _respond(replies)

    def _load_step(self, p: int, now_ms: int) -> None:
        """Read one buffer of the partition's log into the coordinator."""
        tp = TopicPartition(OFFSETS_TOPIC, p)
        log_ = self.broker.logs.get(tp)
        offset = max(self.loading[p], 0 if log_ is None else log_.log_start_offset)
        if log_ is None or offset >= log_.log_end_offset:
            self._finish_loading(p, now_ms)
            return
        read = log_.read(offset, self.config.offsets_load_buffer_size)
        raw = read.records.read() if isinstance(read.records, FileSlice) else b""
        next_offset = log_.log_end_offset
        try:
            for batch in iter_batches(raw):
                next_offset = batch.base_offset + batch.last_offset_delta + 1
                if batch.is_transactional:  # offsets that count once their marker says so
                    self.broker.txns.load_offsets_batch(tp, batch)
                    continue
                if batch.is_control:
                    continue
                for record in batch.records():
                    if record.key is not None:
                        self._load_record(record.key, record.value)
        except (CorruptRecordError, WireDecodeError) as exc:
            log.warning("%s: unreadable record while loading, skipped: %s", tp, exc)
        self.loading[p] = next_offset
        if next_offset >= log_.log_end_offset:
            self._finish_loading(p, now_ms)

    def _load_record(self, key_bytes: bytes, value_bytes: bytes | None) -> None:
        key = decode_key(key_bytes)
        value = None if value_bytes is None else decode_value(key, value_bytes)
        groups = self.coordinator.groups
        if isinstance(key, OffsetCommitKey):
            offsets = self.coordinator.offsets.setdefault(key.group, {})
            tp = TopicPartition(key.topic, key.partition)
            if value is None:
                offsets.pop(tp, None)
            else:
                assert not isinstance(value, GroupMetadataValue)
                offsets[tp] = CommittedOffset(
                    value.offset, value.leader_epoch, value.metadata, value.commit_timestamp
                )
            groups.setdefault(key.group, Group(key.group))
        else:
            assert isinstance(key, GroupMetadataKey)
            if value is None:
                groups.pop(key.group, None)
            else:
                assert isinstance(value, GroupMetadataValue)
                groups[key.group] = _group_from_record(key.group, value)

    def _finish_loading(self, p: int, now_ms: int) -> None:
        del self.loading[p]
        self.loaded.add(p)
        # Loaded members must heartbeat within their session from now on.
        for group_id, group in self.coordinator.groups.items():
            if self.partition_of(group_id) == p:
                for m in group.members.values():
                    m.session_deadline_ms = now_ms + m.session_timeout_ms
        log.info("loaded groups of %s-%d", OFFSETS_TOPIC, p)


def _group_from_record(group_id: str, value: GroupMetadataValue) -> Group:
    protocol = value.protocol
    group = Group(
        group_id,
        state=GroupState.STABLE if value.members else GroupState.EMPTY,
        generation_id=value.generation,
        protocol_type=value.protocol_type or None,
        protocol_name=protocol,
        state_timestamp_ms=max(value.current_state_timestamp, 0),
    )
    for m in value.members:
        group.add(
            Member(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                session_timeout_ms=m.session_timeout,
                rebalance_timeout_ms=m.rebalance_timeout,
                protocol_type=value.protocol_type,
                protocols=[(protocol or "", m.subscription)],
                assignment=m.assignment,
            )
        )
    group.leader_id = value.leader
    return group


def _commit_response(
    request: OffsetCommitRequest, results: dict[TopicPartition, int]
) -> OffsetCommitResponse:
    return OffsetCommitResponse(
        topics=[
            OffsetCommitResponseTopic(
                name=t.name,
                partitions=[
                    OffsetCommitResponsePartition(
                        p.partition_index, results[TopicPartition(t.name, p.partition_index)]
                    )
                    for p in t.partitions
                ],
            )
            for t in request.topics
        ]
    )


def _respond(replies: list[Reply]) -> list[Action]:
    return [Respond(r.reply_to[0], r.reply_to[1], r.response) for r in replies]
