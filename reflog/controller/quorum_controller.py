"""The active controller: the cluster's metadata as a state machine replicated by Raft.

A :class:`QuorumController` runs on every controller node. All of them apply the
committed metadata log to their :class:`MetadataImage`; the one whose Raft node
leads (the *active* controller) also takes writes: broker registrations, broker
heartbeats (and fencing a broker whose session ran out), topic creation with
replica placement, the partition leader/ISR changes those cause (KIP-631), and
blocks of producer ids for brokers to hand out (KIP-730).

Like the Raft core under it, it is pure: a runtime calls one method per event
and carries out the :class:`ControllerReady` it gets back — first the Raft
readies (persist, then send), then the replies to brokers and clients.

Writes go one at a time: a write is computed from the committed image, proposed,
and answered once committed; the next waits for it. (Kafka's controller applies
writes to an uncommitted in-memory image to pipeline them; reflog trades that
speed for a rule a reader can check: no write ever sees a state that may vanish.)
A new leader takes writes only after it has applied its own first entry, so its
image holds everything its predecessors committed.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from dataclasses import dataclass, field, replace

from reflog.controller.admin import (
    AdminRequest,
    complete_reassignment,
    effective_topic_config,
    error_answer,
    plan_admin,
)
from reflog.controller.config import ControllerConfig
from reflog.controller.image import MetadataImage, partition_change
from reflog.controller.placement import assign_replicas, choose_leader
from reflog.controller.records import (
    FenceBrokerRecord,
    MetadataRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    TopicConfig,
    TopicRecord,
    UnfenceBrokerRecord,
    decode_records,
    encode_records,
)
from reflog.raft.core import RaftNode, Ready, Role
from reflog.raft.messages import Entry, RaftMessage
from reflog.raft.storage import PersistentState
from reflog.storage.log_config import LogConfig
from reflog.storage.topic_config import TopicConfigError, apply_overrides
from reflog.topic_partition import (
    TopicPartition,
    too_many_partitions,
    topic_name_error,
)
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import (
    CreatableTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.quorum import (
    AllocateProducerIdsRequest,
    AllocateProducerIdsResponse,
    AlterPartitionRequest,
    AlterPartitionResponse,
    BrokerHeartbeatRequest,
    BrokerHeartbeatResponse,
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
    MetadataBatch,
)
from reflog.wire.schema import ZERO_UUID, Response

__all__ = ["ControllerReady", "QuorumController", "Reply"]

# At most this many metadata batches in one heartbeat answer; the broker asks again.
MAX_BATCHES_PER_HEARTBEAT = 1_000

# The namespace of topic ids (uuid5): any fixed UUID would do.
_TOPIC_IDS = uuid.UUID("8f3c1d2e-5b7a-4c9e-9a41-6d2f0b7e3c15")

# Producer ids per AllocateProducerIds answer (Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).
PRODUCER_ID_BLOCK_SIZE = 1_000


Reply = (
    BrokerRegistrationResponse
    | BrokerHeartbeatResponse
    | CreateTopicsResponse
    | AlterPartitionResponse
    | AllocateProducerIdsResponse
    | Response  # the admin APIs' answers (reflog.controller.admin)
)


@dataclass
class ControllerReady:
    """Do the Raft readies in order (persist, then send), then send the replies."""

    raft: list[Ready] = field(default_factory=list)
    replies: list[tuple[object, Reply]] = field(default_factory=list)


@dataclass(frozen=True)
class _Register:
    token: object
    broker_id: int
    host: str
    port: int


@dataclass(frozen=True)
class _CreateTopics:
    token: object
    request: CreateTopicsRequest


@dataclass(frozen=True)
class _Fence:
    broker_id: int
    broker_epoch: int


@dataclass(frozen=True)
class _Unfence:
    broker_id: int
    broker_epoch: int


@dataclass(frozen=True)
class _AlterPartition:
    token: object
    request: AlterPartitionRequest


@dataclass(frozen=True)
class _AllocateProducerIds:
    token: object
    request: AllocateProducerIdsRequest


@dataclass(frozen=True)
class _Admin:
    token: object
    request: AdminRequest


_Write = (
    _Register | _CreateTopics | _Fence | _Unfence | _AlterPartition | _AllocateProducerIds | _Admin
)


@dataclass
class _InFlight:
    write: _Write
    index: int
    term: int
    reply: Reply | None  # sent once the write commits


class QuorumController:
    def __init__(
        self,
        config: ControllerConfig,
        state: PersistentState,
        rng: random.Random,
        now_ms: int,
    ) -> None:
        self.config = config
        self.raft = RaftNode(
            str(config.node_id), [str(v) for v in config.voters], config.raft, state, rng, now_ms
        )
        self.image = MetadataImage()
        if state.snapshot is not None:
            self.image = MetadataImage.from_records(
                state.snapshot.last_index, decode_records(state.snapshot.data)
            )
        self.queue: deque[_Write] = deque()
        self.in_flight: _InFlight | None = None
        self.last_heartbeat_ms: dict[int, int] = {}
        self._active_from_index: int | None = None  # our first entry as leader, once we lead
        self._active_term = -1
        self._out = ControllerReady()

    # -- entry points -----------------------------------------------------------------
    def tick(self, now_ms: int) -> ControllerReady:
        self._raft_ready(now_ms, self.raft.tick(now_ms))
        if self.is_active():
            self._fence_expired_sessions(now_ms)
        self._next_write(now_ms)
        return self._take()

    def step(self, now_ms: int, src: int, message: RaftMessage) -> ControllerReady:
        self._raft_ready(now_ms, self.raft.step(now_ms, str(src), message))
        self._next_write(now_ms)
        return self._take()

    def register_broker(
        self, now_ms: int, token: object, request: BrokerRegistrationRequest
    ) -> ControllerReady:
        if not self.is_active():
            self._reply(token, self._not_controller_registration())
        else:
            self.queue.append(_Register(token, request.broker_id, request.host, request.port))
            self._next_write(now_ms)
        return self._take()

    def broker_heartbeat(
        self, now_ms: int, token: object, request: BrokerHeartbeatRequest
    ) -> ControllerReady:
        broker = self.image.brokers.get(request.broker_id)
        if not self.is_active():
            reply = BrokerHeartbeatResponse(
                error_code=ErrorCode.NOT_CONTROLLER, leader_id=self.leader_id()
            )
        elif broker is None or broker.broker_epoch != request.broker_epoch:
            reply = BrokerHeartbeatResponse(error_code=ErrorCode.STALE_BROKER_EPOCH)
        else:
            self.last_heartbeat_ms[request.broker_id] = now_ms
            # A registered broker is let in once it has caught up with the metadata log
            # up to its own registration: then it knows every partition it hosts.
            if broker.fenced and request.metadata_offset >= broker.broker_epoch:
                self._enqueue_once(_Unfence(broker.broker_id, broker.broker_epoch))
            reply = self._with_metadata(
                BrokerHeartbeatResponse(
                    error_code=ErrorCode.NONE, is_fenced=broker.fenced, leader_id=self.leader_id()
                ),
                request.metadata_offset,
            )
            self._next_write(now_ms)
        self._reply(token, reply)
        return self._take()

    def create_topics(
        self, now_ms: int, token: object, request: CreateTopicsRequest
    ) -> ControllerReady:
        if not self.is_active():
            results = [
                CreatableTopicResult(name=t.name, error_code=ErrorCode.NOT_CONTROLLER)
                for t in request.topics
            ]
            self._reply(token, CreateTopicsResponse(topics=results))
        else:
            self.queue.append(_CreateTopics(token, request))
            self._next_write(now_ms)
        return self._take()

    def alter_partition(
        self, now_ms: int, token: object, request: AlterPartitionRequest
    ) -> ControllerReady:
        if not self.is_active():
            self._reply(token, AlterPartitionResponse(error_code=ErrorCode.NOT_CONTROLLER))
        else:
            self.queue.append(_AlterPartition(token, request))
            self._next_write(now_ms)
        return self._take()

    def allocate_producer_ids(
        self, now_ms: int, token: object, request: AllocateProducerIdsRequest
    ) -> ControllerReady:
        if not self.is_active():
            self._reply(token, AllocateProducerIdsResponse(error_code=ErrorCode.NOT_CONTROLLER))
        else:
            self.queue.append(_AllocateProducerIds(token, request))
            self._next_write(now_ms)
        return self._take()

    def admin(self, now_ms: int, token: object, request: AdminRequest) -> ControllerReady:
        """An admin request a broker forwarded (DeleteTopics, CreatePartitions, the config
        changes, ElectLeaders, AlterPartitionReassignments): see :mod:`reflog.controller.admin`."""
        if not self.is_active():
            self._reply(token, error_answer(request, ErrorCode.NOT_CONTROLLER))
        else:
            self.queue.append(_Admin(token, request))
            self._next_write(now_ms)
        return self._take()

    def _with_metadata(
        self, reply: BrokerHeartbeatResponse, offset: int
    ) -> BrokerHeartbeatResponse:
        """Add the committed metadata log after ``offset``: what a following broker lacks."""
        snapshot = self.raft.snapshot
        if offset < snapshot.last_index:  # compacted away: send the snapshot first
            reply = replace(reply, snapshot_offset=snapshot.last_index, snapshot=snapshot.data)
            offset = snapshot.last_index
        first = offset - snapshot.last_index  # raft.log position of entry offset + 1
        last = min(self.image.offset, offset + MAX_BATCHES_PER_HEARTBEAT) - snapshot.last_index
        batches = [MetadataBatch(offset=e.index, data=e.data) for e in self.raft.log[first:last]]
        return replace(reply, batches=batches)

    def _not_controller_registration(self) -> BrokerRegistrationResponse:
        return BrokerRegistrationResponse(
            error_code=ErrorCode.NOT_CONTROLLER, leader_id=self.leader_id()
        )

    # -- who leads --------------------------------------------------------------------
    def is_active(self) -> bool:
        return (
            self.raft.role == Role.LEADER
            and self._active_from_index is not None
            and self.image.offset >= self._active_from_index
        )

    def leader_id(self) -> int:
        return int(self.raft.leader_id) if self.raft.leader_id is not None else -1

    def next_deadline_ms(self) -> int:
        deadline = self.raft.next_deadline_ms()
        if self.is_active():
            for broker in self.image.live_brokers():
                last = self.last_heartbeat_ms.get(broker.broker_id)
                if last is not None:
                    deadline = min(deadline, last + self.config.broker_session_timeout_ms + 1)
        return deadline

    # -- Raft -------------------------------------------------------------------------
    def _raft_ready(self, now_ms: int, ready: Ready) -> None:
        self._out.raft.append(ready)
        if ready.install is not None:
            records = decode_records(ready.install.data)
            self.image = MetadataImage.from_records(ready.install.last_index, records)
        for entry in ready.committed:
            self.image.apply(entry.index, decode_records(entry.data))
            self._committed(now_ms, entry)
        self._watch_leadership(now_ms)
        if self.raft.applied_index - self.raft.snapshot.last_index >= (
            self.config.metadata_snapshot_batches
        ):
            data = encode_records(self.image.to_records())
            self._out.raft.append(self.raft.compact(self.image.offset, data))

    def _watch_leadership(self, now_ms: int) -> None:
        if self.raft.role == Role.LEADER and self._active_term != self.raft.current_term:
            # Newly elected: writes wait until our no-op entry (the last one) is applied;
            # every broker gets a full session before we may fence it.
            self._active_term = self.raft.current_term
            self._active_from_index = self._last_index()
            self.last_heartbeat_ms = {b: now_ms for b in self.image.brokers}
        elif self.raft.role != Role.LEADER and self._active_from_index is not None:
            self._active_from_index = None
            self._active_term = -1
            self._fail_writes()

    def _committed(self, now_ms: int, entry: Entry) -> None:
        flight = self.in_flight
        if flight is None or entry.index != flight.index:
            return
        self.in_flight = None
        if entry.term != flight.term:
            self._fail(flight.write)  # our entry was replaced: it never committed
        elif flight.reply is not None:
            token = getattr(flight.write, "token", None)
            self._reply(token, flight.reply)

    def _fail_writes(self) -> None:
        if self.in_flight is not None:
            self._fail(self.in_flight.write)
            self.in_flight = None
        while self.queue:
            self._fail(self.queue.popleft())

    def _fail(self, write: _Write) -> None:
        if isinstance(write, _Register):
            self._reply(write.token, self._not_controller_registration())
        elif isinstance(write, _AlterPartition):
            self._reply(write.token, AlterPartitionResponse(error_code=ErrorCode.NOT_CONTROLLER))
        elif isinstance(write, _AllocateProducerIds):
            reply = AllocateProducerIdsResponse(error_code=ErrorCode.NOT_CONTROLLER)
            self._reply(write.token, reply)
        elif isinstance(write, _Admin):
            self._reply(write.token, error_answer(write.request, ErrorCode.NOT_CONTROLLER))
        elif isinstance(write, _CreateTopics):
            results = [
                CreatableTopicResult(name=t.name, error_code=ErrorCode.NOT_CONTROLLER)
                for t in write.request.topics
            ]
            self._reply(write.token, CreateTopicsResponse(topics=results))

    # -- writes, one at a time --------------------------------------------------------
    def _enqueue_once(self, write: _Write) -> None:
        if write not in self.queue and (self.in_flight is None or self.in_flight.write != write):
            self.queue.append(write)

    def _next_write(self, now_ms: int) -> None:
        while self.in_flight is None and self.queue and self.is_active():
            write = self.queue.popleft()
            records, reply = self._plan(write)
            if not records:
                if reply is not None:
                    self._reply(getattr(write, "token", None), reply)
                continue
            entry, ready = self.raft.propose(now_ms, encode_records(records))
            assert entry is not None and entry.index == self._last_index()
            self.in_flight = _InFlight(write, entry.index, entry.term, reply)
            self._raft_ready(now_ms, ready)

    def _plan(self, write: _Write) -> tuple[list[MetadataRecord], Reply | None]:
        """The records a write appends, computed from the committed image, and its answer."""
        if isinstance(write, _Register):
            return self._plan_register(write)
        if isinstance(write, _CreateTopics):
            return self._plan_create_topics(write.request)
        if isinstance(write, _AlterPartition):
            return self._plan_alter_partition(write.request)
        if isinstance(write, _AllocateProducerIds):
            return self._plan_allocate_producer_ids(write.request)
        if isinstance(write, _Admin):
            return plan_admin(self.image, self._topic_defaults(), write.request)
        broker = self.image.brokers.get(write.broker_id)
        if broker is None or broker.broker_epoch != write.broker_epoch:
            return [], None  # that incarnation is gone already
        if isinstance(write, _Fence):
            if broker.fenced:
                return [], None
            live = {b.broker_id for b in self.image.live_brokers()} - {write.broker_id}
            fence: list[MetadataRecord] = [FenceBrokerRecord(**_ids(write))]
            return fence + self._elect_leaders(live), None
        if not broker.fenced:
            return [], None
        live = {b.broker_id for b in self.image.live_brokers()} | {write.broker_id}
        unfence: list[MetadataRecord] = [UnfenceBrokerRecord(**_ids(write))]
        return unfence + self._elect_leaders(live), None

    def _plan_register(self, write: _Register) -> tuple[list[MetadataRecord], Reply | None]:
        # A broker's epoch is the offset of its registration: the index this entry will get.
        epoch = self._last_index() + 1
        records: list[MetadataRecord] = [
            RegisterBrokerRecord(
                broker_id=write.broker_id,
                broker_epoch=epoch,
                host=write.host,
                port=write.port,
                fenced=True,
            )
        ]
        # A new incarnation starts fenced: whatever the old one led must move or wait.
        live = {b.broker_id for b in self.image.live_brokers()} - {write.broker_id}
        records += self._elect_leaders(live)
        return records, BrokerRegistrationResponse(
            error_code=ErrorCode.NONE, broker_epoch=epoch, leader_id=self.config.node_id
        )

    def _plan_alter_partition(
        self, request: AlterPartitionRequest
    ) -> tuple[list[MetadataRecord], Reply | None]:
        """A leader's new ISR, committed only if it still leads in the epochs it names."""
        tp = TopicPartition(request.topic, request.partition)
        state = self.image.partition(tp)
        broker = self.image.brokers.get(request.broker_id)

        def refuse(code: int) -> tuple[list[MetadataRecord], Reply | None]:
            return [], AlterPartitionResponse(error_code=code)

        if state is None:
            return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        if broker is None or broker.broker_epoch != request.broker_epoch:
            return refuse(ErrorCode.STALE_BROKER_EPOCH)
        if state.leader != request.broker_id or state.leader_epoch != request.leader_epoch:
            return refuse(ErrorCode.FENCED_LEADER_EPOCH)  # a leader that was replaced
        if state.partition_epoch != request.partition_epoch:
            return refuse(ErrorCode.INVALID_UPDATE_VERSION)  # it decided from a stale ISR
        live = {b.broker_id for b in self.image.live_brokers()}
        new_isr = tuple(request.new_isr)
        if (
            request.broker_id not in new_isr
            or not set(new_isr) <= set(state.replicas)
            or not set(new_isr) <= live
        ):
            return refuse(ErrorCode.INELIGIBLE_REPLICA)
        change = partition_change(tp, state, state.leader, new_isr)
        records: list[MetadataRecord] = [change]
        # A reassignment whose new replicas are now all in sync takes its last step in the
        # same batch: the replica set shrinks to the target (KIP-455).
        after = replace(
            state,
            isr=new_isr,
            partition_epoch=change.partition_epoch,
            leader_epoch=change.leader_epoch,
        )
        finished = complete_reassignment(tp, after, live)
        if finished is not None:
            records.append(finished)
        reply = AlterPartitionResponse(
            error_code=ErrorCode.NONE,
            topic=tp.topic,
            partition=tp.partition,
            leader_epoch=change.leader_epoch,
            partition_epoch=change.partition_epoch,
            isr=list(new_isr),
        )
        return records, reply

    def _plan_allocate_producer_ids(
        self, request: AllocateProducerIdsRequest
    ) -> tuple[list[MetadataRecord], Reply | None]:
        """The next block of producer ids, after every block committed before it (Kafka's
        ``ProducerIdControlManager``). The answer goes out only once the record commits, so
        a block a broker hands ids from is in the metadata log, and no later block, from
        this controller or the next, can overlap it."""
        broker = self.image.brokers.get(request.broker_id)
        if broker is None or broker.broker_epoch != request.broker_epoch:
            return [], AllocateProducerIdsResponse(error_code=ErrorCode.STALE_BROKER_EPOCH)
        start = self.image.next_producer_id
        record = ProducerIdsRecord(
            broker_id=request.broker_id,
            broker_epoch=request.broker_epoch,
            next_producer_id=start + PRODUCER_ID_BLOCK_SIZE,
        )
        reply = AllocateProducerIdsResponse(
            error_code=ErrorCode.NONE,
            producer_id_start=start,
            producer_id_len=PRODUCER_ID_BLOCK_SIZE,
        )
        return [record], reply

    def _elect_leaders(self, live: set[int]) -> list[MetadataRecord]:
        """A PartitionChangeRecord for every partition whose leader or ISR must change."""
        changes: list[MetadataRecord] = []
        for tp, state in self.image.partitions():
            leader, isr = choose_leader(
                state.replicas, state.isr, state.leader, live, self._unclean(tp.topic)
            )
            if (leader, isr) != (state.leader, state.isr):
                changes.append(partition_change(tp, state, leader, isr))
        return changes

    def _unclean(self, topic: str) -> bool:
        """unclean.leader.election.enable: the topic's, else the cluster's dynamic one, else
        the controller's own (all validated when they were set)."""
        config = effective_topic_config(self.image, topic, self._topic_defaults())
        return config.unclean_leader_election_enable

    def _topic_defaults(self) -> LogConfig:
        return LogConfig(unclean_leader_election_enable=self.config.unclean_leader_election_enable)

    def _plan_create_topics(
        self, request: CreateTopicsRequest
    ) -> tuple[list[MetadataRecord], Reply | None]:
        records: list[MetadataRecord] = []
        results = []
        live = [b.broker_id for b in self.image.live_brokers()]
        planned: set[str] = set()
        refusal = too_many_partitions(
            (t.num_partitions for t in request.topics), self.config.num_partitions
        )
        for topic in request.topics:
            configs = {c.name: c.value for c in topic.configs if c.value is not None}
            partitions = (
                self.config.num_partitions if topic.num_partitions == -1 else (topic.num_partitions)
            )
            factor = topic.replication_factor
            if factor == -1:
                factor = self.config.default_replication_factor
            error, message = (
                (ErrorCode.POLICY_VIOLATION, refusal)
                if refusal is not None
                else self._check_new_topic(topic.name, live, partitions, factor, configs)
            )
            if error == ErrorCode.NONE and topic.name in planned:
                error, message = ErrorCode.INVALID_REQUEST, "Topic named twice in one request."
            topic_id = ZERO_UUID
            if error == ErrorCode.NONE and not request.validate_only:
                planned.add(topic.name)
                new = self._new_topic(topic.name, partitions, factor, configs, live)
                topic_id = next(r.topic_id for r in new if isinstance(r, TopicRecord))
                records += new
            results.append(_created(topic.name, topic_id, error, message, partitions, factor))
        return records, CreateTopicsResponse(topics=results)

    def _check_new_topic(
        self, name: str, live: list[int], partitions: int, factor: int, configs: dict[str, str]
    ) -> tuple[int, str | None]:
        problem = topic_name_error(name)
        if problem is not None:
            return ErrorCode.INVALID_TOPIC_EXCEPTION, problem
        if name in self.image.topics:
            return ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists."
        if partitions <= 0:
            return ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0."
        if factor <= 0:
            return (
                ErrorCode.INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            )
        if factor > len(live):  # Kafka's words
            return (
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {factor} time(s): The target replication "
                f"factor of {factor} cannot be reached because only {len(live)} broker(s) "
                "are registered.",
            )
        try:
            apply_overrides(LogConfig(), configs)
        except TopicConfigError as exc:
            return ErrorCode.INVALID_CONFIG, str(exc)
        return ErrorCode.NONE, None

    def _new_topic(
        self, name: str, partitions: int, factor: int, configs: dict[str, str], live: list[int]
    ) -> list[MetadataRecord]:
        # Start each topic's placement one broker further on, so leaders spread over topics.
        start = len(self.image.topics)
        assignment = assign_replicas(live, partitions, factor, start)
        topic_configs = [TopicConfig(name=k, value=v) for k, v in sorted(configs.items())]
        # Unique without drawing randomness (which would shift Raft's timeouts): no two
        # committed topics share the metadata offset of their record and their name.
        topic_id = uuid.uuid5(_TOPIC_IDS, f"{self._last_index() + 1}/{name}")
        records: list[MetadataRecord] = [
            TopicRecord(name=name, configs=topic_configs, topic_id=topic_id)
        ]
        for p, replicas in enumerate(assignment):
            records.append(
                PartitionRecord(
                    topic=name, partition=p, replicas=replicas, isr=replicas, leader=replicas[0]
                )
            )
        return records

    # -- broker sessions --------------------------------------------------------------
    def _fence_expired_sessions(self, now_ms: int) -> None:
        for broker in self.image.live_brokers():
            # A broker unfenced in entries we applied after taking over has had no session
            # with us yet: its session starts now (else a dead one would never be fenced).
            last = self.last_heartbeat_ms.setdefault(broker.broker_id, now_ms)
            if now_ms - last > self.config.broker_session_timeout_ms:
                # Its session is over: forget it (a heartbeat starts a new one) and fence it.
                del self.last_heartbeat_ms[broker.broker_id]
                self._enqueue_once(_Fence(broker.broker_id, broker.broker_epoch))

    # -- helpers ----------------------------------------------------------------------
    def _last_index(self) -> int:
        return self.raft.snapshot.last_index + len(self.raft.log)

    def _reply(self, token: object, reply: Reply) -> None:
        self._out.replies.append((token, reply))

    def _take(self) -> ControllerReady:
        out, self._out = self._out, ControllerReady()
        return out


def _created(
    name: str, topic_id: uuid.UUID, error: int, message: str | None, partitions: int, factor: int
) -> CreatableTopicResult:
    """One topic's answer; from v5 it says what was made, from v7 under which id.

    reflog simplification: the v5+ answer carries no configs (null); DescribeConfigs
    shows them."""
    ok = error == ErrorCode.NONE
    return CreatableTopicResult(
        name=name,
        topic_id=topic_id,
        error_code=error,
        error_message=message,
        num_partitions=partitions if ok else -1,
        replication_factor=factor if ok else -1,
    )


def _ids(write: _Fence | _Unfence) -> dict[str, int]:
    return {"broker_id": write.broker_id, "broker_epoch": write.broker_epoch}
