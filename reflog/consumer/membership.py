"""A consumer's membership in its group, as a pure core (Kafka: ``ConsumerCoordinator``
and ``AbstractCoordinator``, the client side of the group protocol).

The member finds its group's coordinator (FindCoordinator, to any broker), joins
(JoinGroup; a first join without a member id is told MEMBER_ID_REQUIRED and comes back with
the id it was given, KIP-394), and syncs (SyncGroup): the coordinator makes one member the
*leader*, which runs the assignor over every member's subscription and sends the result
in its SyncGroup; every member gets its own share in the answer. Then it heartbeats every
``heartbeat.interval.ms``; a heartbeat answered REBALANCE_IN_PROGRESS means "join again".
A member whose generation is fenced (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) has *lost* its
partitions: another member may already read them.

How partitions change hands depends on the rebalance protocol, the first one all the
member's assignors support:

* **eager**: before each join, the member revokes everything it owns (committing first
  when auto-commit is on); after the sync it is assigned its whole share afresh.
* **cooperative** (KIP-429): the member keeps reading through the rebalance; after the sync
  it revokes only what it lost and starts only what is new; if it revoked anything it joins
  again at once, so that the second rebalance can give those partitions to their new owner.

Offsets: with ``enable.auto.commit`` the member commits what the application has consumed
every ``auto.commit.interval.ms``, before every rejoin and on close; ``commit()`` commits
when the application says so. A partition newly assigned starts from its committed offset
(OffsetFetch); one without a committed offset is left to ``auto.offset.reset``.

The core never sends anything itself: :meth:`tick` and the response handlers queue
:class:`GroupRequest` s that the consumer takes with :meth:`take_requests` and sends (to the
coordinator, or to any broker for FindCoordinator), handing each answer back to
:meth:`on_response`. What it needs from the consumer it asks through two functions: the
offsets the application has consumed, and the partition counts of topics (for the leader).

Kafka's consumer takes these steps inside ``poll()``: the auto-commit, preparing a join (its
revocation, then the JoinGroup), reading the JoinGroup's answer (then the SyncGroup), and the
assignment's callbacks once the SyncGroup is answered; heartbeats go on from a background
thread. ``in_poll`` says whether the application is in ``poll()``: while it processes what
poll() returned (``in_poll`` False), those steps wait for its next poll and only heartbeats go.
By default the application polls all the time (``in_poll`` stays True).

reflog simplifications: no ``max.poll.interval.ms`` check (the application is assumed to
poll; the value is sent as the rebalance timeout); one OffsetCommit in flight at a time,
later offsets waiting for it; failed commits are not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from reflog.consumer.rebalance_listener import ConsumerRebalanceListener
from reflog.groups.assignors import (
    Assignor,
    MemberSubscription,
    RebalanceProtocol,
    assignor_for,
    partitions_to_revoke,
)
from reflog.groups.consumer_protocol import (
    PROTOCOL_TYPE,
    Assignment,
    Subscription,
    decode_assignment,
    encode_assignment,
    encode_cooperative_user_data,
    encode_sticky_user_data,
    encode_subscription,
    from_topic_partitions,
    member_subscription,
    to_topic_partitions,
)
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode, WireDecodeError
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    JoinGroupResponse,
)
from reflog.wire.messages.leave_group import LeaveGroupRequest, MemberIdentity
from reflog.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetCommitResponse,
)
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
)
from reflog.wire.messages.sync_group import (
    SyncGroupRequest,
    SyncGroupRequestAssignment,
    SyncGroupResponse,
)
from reflog.wire.schema import Request, Response

__all__ = [
    "TRANSITIONS",
    "CommitCallback",
    "GroupConfig",
    "GroupError",
    "GroupMembership",
    "GroupRequest",
    "MemberState",
]

NO_GENERATION = -1

# Called with the offsets a commit carried and its error (NONE when all were committed).
CommitCallback = Callable[[dict[TopicPartition, int], int], None]

# Answers that mean "ask the coordinator's whereabouts again" (Kafka: markCoordinatorUnknown).
_COORDINATOR_MOVED = (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE)
# Answers that mean "this member's generation is over": its partitions are lost.
_FENCED = (ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID)


class GroupError(Exception):
    """The group refused this member for good (e.g. INCONSISTENT_GROUP_PROTOCOL)."""

    def __init__(self, error_code: int, what: str) -> None:
        super().__init__(f"{what}: {ErrorCode(error_code).name}")
        self.error_code = error_code


class MemberState(Enum):
    """Kafka's ``AbstractCoordinator.MemberState``."""

    UNJOINED = "UNJOINED"  # not in the group: about to (re)join, or closed
    PREPARING_REBALANCE = "PREPARING_REBALANCE"  # JoinGroup sent, waiting for the answer
    COMPLETING_REBALANCE = "COMPLETING_REBALANCE"  # joined; SyncGroup to send or answer
    STABLE = "STABLE"  # has its assignment for the current generation


# state -> the states a member may move to: every move goes through GroupMembership._move.
TRANSITIONS: dict[MemberState, frozenset[MemberState]] = {
    MemberState.UNJOINED: frozenset({MemberState.UNJOINED, MemberState.PREPARING_REBALANCE}),
    MemberState.PREPARING_REBALANCE: frozenset(
        {MemberState.UNJOINED, MemberState.COMPLETING_REBALANCE}  # JoinGroup failed / answered
    ),
    MemberState.COMPLETING_REBALANCE: frozenset(
        {MemberState.UNJOINED, MemberState.STABLE}  # SyncGroup failed / answered
    ),
    MemberState.STABLE: frozenset(
        {MemberState.UNJOINED, MemberState.PREPARING_REBALANCE}  # fenced or closed / rejoins
    ),
}


@dataclass(frozen=True)
class GroupConfig:
    """The consumer settings the group protocol uses, with Kafka's defaults."""

    group_id: str
    group_instance_id: str | None = None  # static membership (KIP-345)
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000  # sent as the rebalance timeout
    partition_assignment_strategy: tuple[str, ...] = ("range", "cooperative-sticky")
    enable_auto_commit: bool = True
    auto_commit_interval_ms: int = 5_000
    retry_backoff_ms: int = 100

    def __post_init__(self) -> None:
        if not self.group_id:
            raise ValueError("group.id must not be empty")
        if not self.partition_assignment_strategy:
            raise ValueError("partition.assignment.strategy names at least one assignor")
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError("heartbeat.interval.ms must be below session.timeout.ms")

    @property
    def assignors(self) -> list[Assignor]:
        return [assignor_for(name) for name in self.partition_assignment_strategy]

    @property
    def protocol(self) -> RebalanceProtocol:
        """The first protocol every assignor supports: cooperative only if all do."""
        if all(RebalanceProtocol.COOPERATIVE in a.supported_protocols for a in self.assignors):
            return RebalanceProtocol.COOPERATIVE
        return RebalanceProtocol.EAGER


@dataclass(frozen=True)
class GroupRequest:
    body: Request
    to_coordinator: bool = True  # False: to any broker (FindCoordinator)
    timeout_ms: int = 0  # 0: request.timeout.ms; longer for a JoinGroup the coordinator holds


class GroupMembership:
    def __init__(
        self,
        config: GroupConfig,
        *,
        consumed: Callable[[], dict[TopicPartition, int]],
        partitions_per_topic: Callable[[list[str]], Mapping[str, int] | None],
        listener: ConsumerRebalanceListener | None = None,
    ) -> None:
        self.config = config
        self.protocol = config.protocol
        self._assignors = {a.name: a for a in config.assignors}
        self._consumed = consumed  # what the application has consumed: what to commit
        self._partitions_per_topic = partitions_per_topic  # None: metadata not there yet
        self.listener = listener or ConsumerRebalanceListener()
        # Who we are in the group.
        self.state = MemberState.UNJOINED
        self.member_id = ""
        self.generation_id = NO_GENERATION
        self.protocol_name: str | None = None
        self.leader_id = ""
        self.coordinator: int | None = None  # the coordinator's broker id
        self.coordinator_address: tuple[str, int] = ("", -1)  # its host and port
        self.subscription: tuple[str, ...] = ()
        self.owned: list[TopicPartition] = []  # the assignment the member works on
        self._last_assigned: tuple[list[TopicPartition], int] = ([], NO_GENERATION)  # sticky
        self.rebalances = 0  # completed SyncGroups, for views and tests
        self.in_poll = True  # False: the application is processing, the poll() steps wait
        # What is to be done.
        self._rejoin_needed = False
        self._join_prepared = False  # revoked / committed for the coming join
        self._joined: JoinGroupResponse | None = None  # waiting for our SyncGroup to go
        self._synced: tuple[SyncGroupRequest, SyncGroupResponse] | None = None  # for poll()
        self._to_fetch: set[TopicPartition] = set()  # newly assigned: committed offset?
        self._fetched: dict[TopicPartition, int | None] = {}  # for the consumer to take
        self._commit_waiting: dict[TopicPartition, int] = {}
        self._commit_callbacks: list[CommitCallback] = []  # for the waiting offsets
        self._commit_sent_callbacks: list[CommitCallback] = []  # for those in flight
        self._closing = False
        self._close_committed = False
        self.closed = False
        self.error: GroupError | None = None
        # Requests in flight (by kind: one of each at a time) and timers.
        self._in_flight: set[type[Request]] = set()
        self._outbox: list[GroupRequest] = []
        self._retry_at_ms = 0  # FindCoordinator and JoinGroup wait for this after a failure
        self._next_heartbeat_ms = 0
        self._last_heartbeat_ok_ms = 0
        self._next_auto_commit_ms = config.auto_commit_interval_ms
        self.now_ms = 0

    # -- the application's side -------------------------------------------------------
    def subscribe(self, topics: Iterable[str]) -> None:
        topics = tuple(sorted(set(topics)))
        if topics != self.subscription:
            self.subscription = topics
            self._rejoin_needed = True  # the leader must see the new subscription

    def commit(
        self, offsets: Mapping[TopicPartition, int], callback: CommitCallback | None = None
    ) -> None:
        """Commit ``offsets`` (the next offset to read, per partition) for the group.

        It goes with the current generation, so only while the member is STABLE; otherwise
        ``callback`` hears REBALANCE_IN_PROGRESS at once (Kafka's
        RebalanceInProgressException: commit again after the rebalance)."""
        if self.state != MemberState.STABLE or self.closed:
            if callback is not None:
                callback(dict(offsets), ErrorCode.REBALANCE_IN_PROGRESS)
            return
        if not offsets:
            if callback is not None:
                callback({}, ErrorCode.NONE)
            return
        self._commit_waiting.update(offsets)
        if callback is not None:
            self._commit_callbacks.append(callback)

    def close(self) -> None:
        """Leave the group: commit (with auto-commit), revoke, then LeaveGroup (a static
        member does not send it: its session timeout decides, KIP-345)."""
        self._closing = True

    @property
    def closing(self) -> bool:
        """close() was called (the member may still be committing before it leaves)."""
        return self._closing

    def take_committed(self) -> dict[TopicPartition, int | None]:
        """Committed offsets fetched for newly assigned partitions (None: none committed,
        ``auto.offset.reset`` decides)."""
        fetched, self._fetched = self._fetched, {}
        return fetched

    def awaiting_committed(self, tp: TopicPartition) -> bool:
        return tp in self._to_fetch

    # -- the runtime's side -----------------------------------------------------------
    def take_requests(self) -> list[GroupRequest]:
        out, self._outbox = self._outbox, []
        return out

    def tick(self, now_ms: int) -> None:
        """Do what is due: find the coordinator, (re)join, sync, heartbeat, commit."""
        self.now_ms = now_ms
        if self.closed or self.error is not None or not self.subscription:
            return
        if self._closing:
            self._tick_close()
            return
        if self.coordinator is None:
            self._find_coordinator()
            return
        if self._session_expired():
            self._coordinator_unknown()
            return
        if self.in_poll:  # what Kafka's poll() does; heartbeats go on regardless
            if self._synced is not None:
                synced, self._synced = self._synced, None
                self._on_sync(*synced)
            self._maybe_auto_commit()
            if self._rejoin_needed or self.state == MemberState.UNJOINED:
                self._maybe_join()
            self._maybe_sync()
        self._maybe_heartbeat()
        self._maybe_fetch_committed()
        self._maybe_send_commit()

    def next_deadline_ms(self) -> int | None:
        if self.closed or self.error is not None or not self.subscription:
            return None
        deadlines = [self._retry_at_ms]
        if self.state in (MemberState.STABLE, MemberState.COMPLETING_REBALANCE):
            deadlines.append(self._next_heartbeat_ms)
            deadlines.append(self._last_heartbeat_ok_ms + self.config.session_timeout_ms)
        if self.config.enable_auto_commit and self.state == MemberState.STABLE:
            deadlines.append(self._next_auto_commit_ms)
        future = [d for d in deadlines if d > self.now_ms]
        return min(future, default=None)

    def on_response(self, request: Request, response: Response | None, error: int) -> None:
        """The answer to a request this core queued (None: it failed, with ``error``)."""
        self._in_flight.discard(type(request))
        if response is None:
            self._on_no_answer(request)
            return
        match request:
            case FindCoordinatorRequest():
                assert isinstance(response, FindCoordinatorResponse)
                self._on_find_coordinator(response)
            case JoinGroupRequest():
                assert isinstance(response, JoinGroupResponse)
                self._on_join(response)
            case SyncGroupRequest():
                assert isinstance(response, SyncGroupResponse)
                if self.in_poll:
                    self._on_sync(request, response)
                else:  # its callbacks run in the application's next poll()
                    self._synced = (request, response)
            case HeartbeatRequest():
                assert isinstance(response, HeartbeatResponse)
                self._on_heartbeat(request, response)
            case OffsetCommitRequest():
                assert isinstance(response, OffsetCommitResponse)
                self._on_commit(request, response)
            case OffsetFetchRequest():
                assert isinstance(response, OffsetFetchResponse)
                self._on_fetch_committed(response)
            case _:
                pass  # LeaveGroup: nothing to do with the answer

    # -- sending ----------------------------------------------------------------------
    def _send(self, body: Request, *, to_coordinator: bool = True, timeout_ms: int = 0) -> None:
        self._in_flight.add(type(body))
        self._outbox.append(GroupRequest(body, to_coordinator, timeout_ms))

    def _find_coordinator(self) -> None:
        if FindCoordinatorRequest in self._in_flight or self.now_ms < self._retry_at_ms:
            return
        self._send(FindCoordinatorRequest(key=self.config.group_id), to_coordinator=False)

    def _maybe_join(self) -> None:
        if not self._join_prepared:
            self._prepare_join()
        if self.state != MemberState.STABLE:
            # Commits still waiting belong to a generation this member has left: they can
            # never go, so they fail now rather than hold up the join (the join would wait
            # for them, nothing would be due, and the member would never be woken again).
            self._fail_waiting_commits(ErrorCode.REBALANCE_IN_PROGRESS)
        if (
            self._commits_pending()  # the commit before a rejoin goes first
            or self.state not in (MemberState.UNJOINED, MemberState.STABLE)
            or self.now_ms < self._retry_at_ms
        ):
            return  # (joining or syncing: that answer comes first)
        self._rejoin_needed = False
        self._joined = None
        self._move(MemberState.PREPARING_REBALANCE)
        self._send(
            JoinGroupRequest(
                group_id=self.config.group_id,
                session_timeout_ms=self.config.session_timeout_ms,
                rebalance_timeout_ms=self.config.max_poll_interval_ms,
                member_id=self.member_id,
                group_instance_id=self.config.group_instance_id,
                protocol_type=PROTOCOL_TYPE,
                protocols=[
                    JoinGroupRequestProtocol(name=name, metadata=self._metadata(name))
                    for name in self._assignors
                ],
            ),
            # The coordinator holds a JoinGroup until every member has rejoined, up to the
            # rebalance timeout: Kafka's client waits that long and five seconds more.
            timeout_ms=self.config.max_poll_interval_ms + 5_000,
        )

    def _metadata(self, assignor: str) -> bytes:
        """This member's subscription, as the assignor ``assignor`` wants it."""
        user_data = None
        if assignor == "sticky":
            user_data = encode_sticky_user_data(*self._last_assigned)
        elif assignor == "cooperative-sticky":
            user_data = encode_cooperative_user_data(self.generation_id)
        subscription = Subscription(
            topics=list(self.subscription),
            user_data=user_data,
            owned_partitions=from_topic_partitions(self.owned),
            generation_id=self.generation_id,
        )
        return encode_subscription(subscription)

    def _maybe_sync(self) -> None:
        joined = self._joined
        if joined is None or SyncGroupRequest in self._in_flight:
            return
        assignments: list[SyncGroupRequestAssignment] = []
        if joined.leader == self.member_id:
            leader_assignment = self._assign(joined)
            if leader_assignment is None:
                return  # waiting for metadata of the members' topics
            assignments = [
                SyncGroupRequestAssignment(
                    member_id=member,
                    assignment=encode_assignment(
                        Assignment(assigned_partitions=from_topic_partitions(tps))
                    ),
                )
                for member, tps in leader_assignment.items()
            ]
        self._joined = None
        self._send(
            SyncGroupRequest(
                group_id=self.config.group_id,
                generation_id=self.generation_id,
                member_id=self.member_id,
                group_instance_id=self.config.group_instance_id,
                assignments=assignments,
            )
        )

    def _assign(self, joined: JoinGroupResponse) -> dict[str, list[TopicPartition]] | None:
        """The leader's work: run the group's chosen assignor over every member."""
        name = joined.protocol_name
        members: dict[str, MemberSubscription] = {}
        for member in joined.members:
            try:
                members[member.member_id] = member_subscription(
                    name, member.metadata, member.group_instance_id
                )
            except WireDecodeError:
                members[member.member_id] = MemberSubscription(topics=())  # gets nothing
        topics = sorted({t for s in members.values() for t in s.topics})
        partitions_per_topic = self._partitions_per_topic(topics)
        if partitions_per_topic is None:
            return None
        return self._assignors[name].assign(partitions_per_topic, members)

    def _maybe_heartbeat(self) -> None:
        if (
            self.state not in (MemberState.STABLE, MemberState.COMPLETING_REBALANCE)
            or HeartbeatRequest in self._in_flight
            or self.now_ms < self._next_heartbeat_ms
        ):
            return
        self._next_heartbeat_ms = self.now_ms + self.config.heartbeat_interval_ms
        self._send(
            HeartbeatRequest(
                group_id=self.config.group_id,
                generation_id=self.generation_id,
                member_id=self.member_id,
                group_instance_id=self.config.group_instance_id,
            )
        )

    def _maybe_fetch_committed(self) -> None:
        if (
            not self._to_fetch
            or self.state != MemberState.STABLE
            or OffsetFetchRequest in self._in_flight
            or self.now_ms < self._retry_at_ms
        ):
            return
        by_topic: dict[str, list[int]] = {}
        for tp in sorted(self._to_fetch):
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        self._send(
            OffsetFetchRequest(
                group_id=self.config.group_id,
                topics=[
                    OffsetFetchRequestTopic(name=t, partition_indexes=p)
                    for t, p in by_topic.items()
                ],
            )
        )

    # -- committing -------------------------------------------------------------------
    def _maybe_auto_commit(self) -> None:
        # Not while a rejoin waits (Kafka's poll() returns before its auto-commit then): the
        # join commits first anyway, and a commit every poll would hold the join up forever.
        if (
            self.config.enable_auto_commit
            and self.state == MemberState.STABLE
            and not self._rejoin_needed
            and self.now_ms >= self._next_auto_commit_ms
        ):
            self._next_auto_commit_ms = self.now_ms + self.config.auto_commit_interval_ms
            self._commit_consumed()

    def _commit_consumed(self) -> None:
        consumed = self._consumed()
        self.commit({tp: consumed[tp] for tp in self.owned if tp in consumed})

    def _commits_pending(self) -> bool:
        return bool(self._commit_waiting) or OffsetCommitRequest in self._in_flight

    def _maybe_send_commit(self) -> None:
        if not self._commit_waiting or OffsetCommitRequest in self._in_flight:
            return
        if self.state != MemberState.STABLE:
            self._fail_waiting_commits(ErrorCode.REBALANCE_IN_PROGRESS)
            return
        offsets, self._commit_waiting = self._commit_waiting, {}
        self._commit_sent_callbacks, self._commit_callbacks = self._commit_callbacks, []
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for tp, offset in sorted(offsets.items()):
            by_topic.setdefault(tp.topic, []).append(
                OffsetCommitRequestPartition(partition_index=tp.partition, committed_offset=offset)
            )
        self._send(
            OffsetCommitRequest(
                group_id=self.config.group_id,
                generation_id_or_member_epoch=self.generation_id,
                member_id=self.member_id,
                group_instance_id=self.config.group_instance_id,
                topics=[
                    OffsetCommitRequestTopic(name=t, partitions=p) for t, p in by_topic.items()
                ],
            )
        )

    def _fail_waiting_commits(self, error: int) -> None:
        offsets, self._commit_waiting = self._commit_waiting, {}
        callbacks, self._commit_callbacks = self._commit_callbacks, []
        for callback in callbacks:
            callback(offsets, error)

    # -- handling answers -------------------------------------------------------------
    def _on_no_answer(self, request: Request) -> None:
        """No answer (disconnected, timed out): the coordinator may be gone."""
        if isinstance(request, FindCoordinatorRequest):
            self._retry_at_ms = self.now_ms + self.config.retry_backoff_ms
            return
        self._coordinator_unknown()
        if isinstance(request, JoinGroupRequest | SyncGroupRequest):
            self._back_to_unjoined()
        elif isinstance(request, OffsetCommitRequest):
            self._report_commit(request, ErrorCode.REQUEST_TIMED_OUT)

    def _on_find_coordinator(self, response: FindCoordinatorResponse) -> None:
        if response.error_code == ErrorCode.NONE and response.node_id >= 0:
            self.coordinator = response.node_id
            self.coordinator_address = (response.host, response.port)
            self._last_heartbeat_ok_ms = self.now_ms  # a fresh start for the session clock
        else:
            self._retry_at_ms = self.now_ms + self.config.retry_backoff_ms

    def _on_join(self, response: JoinGroupResponse) -> None:
        if self.state != MemberState.PREPARING_REBALANCE:
            return  # the member gave this join up meanwhile (its coordinator moved)
        error = response.error_code
        if error == ErrorCode.NONE:
            self.member_id = response.member_id
            self.generation_id = response.generation_id
            self.protocol_name = response.protocol_name
            self.leader_id = response.leader
            self._move(MemberState.COMPLETING_REBALANCE)
            self._joined = response
            self._last_heartbeat_ok_ms = self.now_ms
            self._next_heartbeat_ms = self.now_ms + self.config.heartbeat_interval_ms
            return
        self._back_to_unjoined()
        if error == ErrorCode.MEMBER_ID_REQUIRED:
            self.member_id = response.member_id  # join again at once, with this id
        elif error in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION):
            # Evicted: whatever it still holds is lost; join again at once (as a new
            # member when the coordinator forgot the id).
            self._reset_generation(forget_member_id=error == ErrorCode.UNKNOWN_MEMBER_ID)
        elif error in _COORDINATOR_MOVED:
            self._coordinator_unknown()
        elif error in (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.REBALANCE_IN_PROGRESS):
            self._retry_at_ms = self.now_ms + self.config.retry_backoff_ms
        else:  # FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, ...
            self.error = GroupError(error, f"JoinGroup of group {self.config.group_id!r}")

    def _on_sync(self, request: SyncGroupRequest, response: SyncGroupResponse) -> None:
        if (
            request.generation_id != self.generation_id
            or self.state != MemberState.COMPLETING_REBALANCE
        ):
            return  # an answer for a generation or a join this member has left behind
        error = response.error_code
        if error != ErrorCode.NONE:
            self._on_group_error(error)
            self._back_to_unjoined()
            return
        try:
            assigned = to_topic_partitions(
                decode_assignment(response.assignment).assigned_partitions
            )
        except WireDecodeError:
            assigned = []
        self._move(MemberState.STABLE)
        self._join_prepared = False
        self.rebalances += 1
        self._apply_assignment(assigned)

    def _apply_assignment(self, assigned: list[TopicPartition]) -> None:
        if self.protocol is RebalanceProtocol.COOPERATIVE:
            revoked, added = partitions_to_revoke(self.owned, assigned)
        else:  # eager: everything was revoked before the join
            revoked, added = [], sorted(assigned)
        if revoked:
            self._revoke(revoked)
            self._rejoin_needed = True  # the second round hands them to their new owner
        self.owned = sorted(assigned)
        self._last_assigned = (list(self.owned), self.generation_id)
        self._to_fetch |= set(added)
        self.listener.on_partitions_assigned(added)
        if any(tp.topic not in self.subscription for tp in assigned):
            self._rejoin_needed = True  # subscribed elsewhere since joining

    def _on_heartbeat(self, request: HeartbeatRequest, response: HeartbeatResponse) -> None:
        if request.generation_id != self.generation_id:
            return
        error = response.error_code
        if error in (ErrorCode.NONE, ErrorCode.REBALANCE_IN_PROGRESS):
            self._last_heartbeat_ok_ms = self.now_ms  # the coordinator still counts us in
        if error == ErrorCode.REBALANCE_IN_PROGRESS and self.state != MemberState.STABLE:
            # Sent before this member began (re)joining: the rebalance it announces is the
            # one the member is already in. Rejoining for it again after the sync would
            # start one more, needless, rebalance (Kafka's HeartbeatResponseHandler ignores
            # it too unless the member is STABLE).
            return
        if error != ErrorCode.NONE:
            self._on_group_error(error)

    def _on_group_error(self, error: int) -> None:
        """An error any group request may get about the group as a whole."""
        if error == ErrorCode.REBALANCE_IN_PROGRESS:
            self._rejoin_needed = True
        elif error in _FENCED:
            self._reset_generation(forget_member_id=error != ErrorCode.ILLEGAL_GENERATION)
        elif error in _COORDINATOR_MOVED:
            self._coordinator_unknown()

    def _on_commit(self, request: OffsetCommitRequest, response: OffsetCommitResponse) -> None:
        errors = {p.error_code for t in response.topics for p in t.partitions} - {ErrorCode.NONE}
        error = min(errors, default=ErrorCode.NONE)
        if error != ErrorCode.NONE and request.generation_id_or_member_epoch == self.generation_id:
            self._on_group_error(error)
        self._report_commit(request, error)

    def _report_commit(self, request: OffsetCommitRequest, error: int) -> None:
        offsets = {
            TopicPartition(t.name, p.partition_index): p.committed_offset
            for t in request.topics
            for p in t.partitions
        }
        callbacks, self._commit_sent_callbacks = self._commit_sent_callbacks, []
        for callback in callbacks:
            callback(offsets, error)

    def _on_fetch_committed(self, response: OffsetFetchResponse) -> None:
        if response.error_code != ErrorCode.NONE:
            # COORDINATOR_LOAD_IN_PROGRESS and the like: ask again after a backoff.
            self._retry_at_ms = self.now_ms + self.config.retry_backoff_ms
            self._on_group_error(response.error_code)
            return
        for topic in response.topics:
            for p in topic.partitions:
                tp = TopicPartition(topic.name, p.partition_index)
                if tp not in self._to_fetch:
                    continue  # revoked meanwhile
                if p.error_code == ErrorCode.NONE:
                    self._to_fetch.discard(tp)
                    self._fetched[tp] = p.committed_offset if p.committed_offset >= 0 else None
                else:  # e.g. UNSTABLE_OFFSET_COMMIT: ask again after a backoff
                    self._retry_at_ms = self.now_ms + self.config.retry_backoff_ms
                    self._on_group_error(p.error_code)

    # -- transitions --------------------------------------------------------------------
    def _move(self, to: MemberState) -> None:
        if to not in TRANSITIONS[self.state]:
            raise AssertionError(f"a member does not move from {self.state.name} to {to.name}")
        self.state = to

    def _prepare_join(self) -> None:
        """Before a join (Kafka: ``onJoinPrepare``): commit, then revoke what must go."""
        self._join_prepared = True
        if self.generation_id == NO_GENERATION:
            self._lose(self.owned)  # fenced: too late to commit or to revoke in order
            return
        if self.config.enable_auto_commit and self.state == MemberState.STABLE:
            self._commit_consumed()
            self._maybe_send_commit()
        if self.protocol is RebalanceProtocol.EAGER:
            self._revoke(self.owned)
        else:
            self._revoke([tp for tp in self.owned if tp.topic not in self.subscription])

    def _revoke(self, tps: list[TopicPartition]) -> None:
        if not tps:
            return
        self.listener.on_partitions_revoked(list(tps))
        self._forget(tps)

    def _lose(self, tps: list[TopicPartition]) -> None:
        if not tps:
            return
        self.listener.on_partitions_lost(list(tps))
        self._forget(tps)

    def _forget(self, tps: list[TopicPartition]) -> None:
        gone = set(tps)
        self.owned = [tp for tp in self.owned if tp not in gone]
        self._to_fetch -= gone
        for tp in gone:
            self._fetched.pop(tp, None)

    def _reset_generation(self, *, forget_member_id: bool) -> None:
        self.generation_id = NO_GENERATION
        if forget_member_id:
            self.member_id = ""
        self._rejoin_needed = True
        self._join_prepared = False  # the next join prepares by losing the partitions
        self._back_to_unjoined()

    def _back_to_unjoined(self) -> None:
        self._move(MemberState.UNJOINED)
        self._joined = None
        self._synced = None
        self._rejoin_needed = True

    def _coordinator_unknown(self) -> None:
        self.coordinator = None
        self._retry_at_ms = self.now_ms + self.config.retry_backoff_ms
        if self.state in (MemberState.PREPARING_REBALANCE, MemberState.COMPLETING_REBALANCE):
            self._back_to_unjoined()

    def _session_expired(self) -> bool:
        return (
            self.state in (MemberState.STABLE, MemberState.COMPLETING_REBALANCE)
            and self.now_ms >= self._last_heartbeat_ok_ms + self.config.session_timeout_ms
        )

    def _tick_close(self) -> None:
        """Closing (Kafka: ``ConsumerCoordinator.close``): commit, wait for the commit,
        then revoke and leave."""
        can_commit = self.state == MemberState.STABLE and self.coordinator is not None
        if not self._close_committed:
            self._close_committed = True
            if can_commit and self.config.enable_auto_commit:
                self._commit_consumed()
        if can_commit:
            self._maybe_send_commit()
        else:
            self._fail_waiting_commits(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if self._commits_pending():
            return
        if self.generation_id == NO_GENERATION:
            self._lose(self.owned)
        else:
            self._revoke(self.owned)
        if self.member_id and self.coordinator is not None and not self.config.group_instance_id:
            self._send(
                LeaveGroupRequest(
                    group_id=self.config.group_id,
                    member_id=self.member_id,
                    members=[MemberIdentity(member_id=self.member_id)],
                )
            )
        self._move(MemberState.UNJOINED)
        self.closed = True
