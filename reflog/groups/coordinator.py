"""The group coordinator: a pure core for the consumer groups one broker coordinates.

Members join (JoinGroup), receive their assignment (SyncGroup), prove they are
alive (Heartbeat) and leave (LeaveGroup); the coordinator moves each group
through Empty, PreparingRebalance, CompletingRebalance and Stable (see
:mod:`reflog.groups.group`) and fences members of an old generation. It also
keeps the group's committed offsets in memory; the broker writes them to
``__consumer_offsets`` and loads them back (:mod:`reflog.groups.host`).

Time comes in as ``now_ms``; :meth:`GroupCoordinator.tick` runs what is due
(session timeouts, the end of a rebalance's wait) and
:meth:`GroupCoordinator.next_deadline_ms` says when that is. A JoinGroup or
SyncGroup that must wait for the other members is parked on its member and
answered later, as a :class:`Reply` from whichever call completes it (Kafka's
``DelayedJoin`` purgatory, kept on the group itself).

When the leader's SyncGroup brings the assignment, nobody is answered yet: the host writes
the group's new metadata to ``__consumer_offsets`` (:meth:`GroupCoordinator.take_stores`)
and reports when the in-sync replicas have it (:meth:`GroupCoordinator.group_stored`);
only then is the group Stable and every member told its assignment.

Kafka's code to read beside this: ``GroupCoordinator.scala`` (``handleJoinGroup``,
``handleSyncGroup``, ``handleHeartbeat``, ``handleLeaveGroup``, ``onCompleteJoin``).

reflog simplifications: a member's ``client_host`` is left empty (the core never sees
sockets); committed offsets never expire (no ``offsets.retention.minutes``) and an Empty
group is never deleted; a member that joined but never sends SyncGroup is dropped by its
session timeout alone (Kafka also gives up on it after the rebalance timeout); and a new
member's JoinGroup waits as long as the rebalance does (Kafka answers it after 5 minutes).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from reflog.groups.config import GroupConfig
from reflog.groups.group import Group, GroupState, Member, ReplyTo, select_protocol
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.describe_groups import DescribedGroup, DescribedGroupMember
from reflog.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupResponse,
    JoinGroupResponseMember,
)
from reflog.wire.messages.leave_group import (
    LeaveGroupRequest,
    LeaveGroupResponse,
    MemberIdentity,
    MemberResponse,
)
from reflog.wire.messages.list_groups import ListedGroup
from reflog.wire.messages.offset_commit import OffsetCommitRequest
from reflog.wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse
from reflog.wire.schema import Response

__all__ = ["CommittedOffset", "GroupCoordinator", "Reply"]

# KIP-394: from JoinGroup v4 a first join gets MEMBER_ID_REQUIRED and a member id.
MEMBER_ID_REQUIRED_FROM_VERSION = 4
# LeaveGroup v3 names its members in a list, each answered on its own.
BATCHED_LEAVE_FROM_VERSION = 3


@dataclass(frozen=True)
class Reply:
    """The answer to a request that was parked: send ``response`` to ``reply_to``."""

    reply_to: ReplyTo
    response: Response


@dataclass(frozen=True)
class CommittedOffset:
    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp_ms: int = 0


@dataclass
class GroupCoordinator:
    config: GroupConfig
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    groups: dict[str, Group] = field(default_factory=dict)
    offsets: dict[str, dict[TopicPartition, CommittedOffset]] = field(default_factory=dict)
    # Groups whose metadata changed since the host last wrote it to __consumer_offsets.
    dirty: set[str] = field(default_factory=set)
    # Groups whose new assignment is being written, with its generation.
    stores: dict[str, int] = field(default_factory=dict)
    _to_store: list[tuple[str, int]] = field(default_factory=list)

    # -- JoinGroup ----------------------------------------------------------------------
    def join_group(
        self, now_ms: int, reply_to: ReplyTo, request: JoinGroupRequest, client_id: str
    ) -> list[Reply]:
        error = self._join_error(request)
        if error is not None:
            return [_join_reply(reply_to, error, request.member_id)]
        group = self.groups.get(request.group_id)
        if group is None:
            if request.member_id:
                return [_join_reply(reply_to, ErrorCode.UNKNOWN_MEMBER_ID, request.member_id)]
            group = Group(request.group_id, state_timestamp_ms=now_ms)
        if group.is_(GroupState.DEAD):
            return [_join_reply(reply_to, ErrorCode.COORDINATOR_NOT_AVAILABLE, request.member_id)]
        if not group.supports(request.protocol_type, [p.name for p in request.protocols]):
            return [_join_reply(reply_to, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.member_id)]
        self.groups[group.group_id] = group
        if not request.member_id:
            return self._join_new_member(now_ms, group, reply_to, request, client_id)
        return self._join_known_member(now_ms, group, reply_to, request, client_id)

    def _join_error(self, request: JoinGroupRequest) -> int | None:
        if not request.group_id:
            return ErrorCode.INVALID_GROUP_ID
        timeout = request.session_timeout_ms
        if not (
            self.config.group_min_session_timeout_ms
            <= timeout
            <= self.config.group_max_session_timeout_ms
        ):
            return ErrorCode.INVALID_SESSION_TIMEOUT
        return None

    def _join_new_member(
        self,
        now_ms: int,
        group: Group,
        reply_to: ReplyTo,
        request: JoinGroupRequest,
        client_id: str,
    ) -> list[Reply]:
        instance_id = request.group_instance_id
        member_id = self._new_member_id(group, instance_id or client_id)
        if instance_id is not None:
            old_id = group.static_members.get(instance_id)
            if old_id is not None:
                return self._replace_static_member(
                    now_ms, group, old_id, member_id, reply_to, request
                )
        elif reply_to[1].api_version >= MEMBER_ID_REQUIRED_FROM_VERSION:
            # KIP-394: hand out the id first, so a client that times out and retries
            # rejoins as the same member instead of leaving a ghost behind.
            group.pending_members[member_id] = now_ms + request.session_timeout_ms
            return [_join_reply(reply_to, ErrorCode.MEMBER_ID_REQUIRED, member_id)]
        return self._add_member_and_rebalance(
            now_ms, group, member_id, reply_to, request, client_id
        )

    def _join_known_member(
        self,
        now_ms: int,
        group: Group,
        reply_to: ReplyTo,
        request: JoinGroupRequest,
        client_id: str,
    ) -> list[Reply]:
        member_id = request.member_id
        if member_id in group.pending_members:
            del group.pending_members[member_id]
            return self._add_member_and_rebalance(
                now_ms, group, member_id, reply_to, request, client_id
            )
        error = _member_error(group, member_id, request.group_instance_id)
        if error is not None or group.is_(GroupState.EMPTY):
            return [_join_reply(reply_to, error or ErrorCode.UNKNOWN_MEMBER_ID, member_id)]
        member = group.members[member_id]
        protocols = [(p.name, p.metadata) for p in request.protocols]
        unchanged = protocols == member.protocols
        if group.is_(GroupState.COMPLETING_REBALANCE) and unchanged:
            # It lost our JoinGroup answer: send it again.
            return [Reply(reply_to, self._join_result(group, member_id))]
        if group.is_(GroupState.STABLE) and unchanged and member_id != group.leader_id:
            return [Reply(reply_to, self._join_result(group, member_id))]
        # The leader rejoining a Stable group asks for a new assignment (the topics'
        # partitions may have changed without any member's subscription changing).
        replies = self._park_join(member, reply_to, request)
        member.protocols = protocols
        if group.is_(GroupState.PREPARING_REBALANCE):
            return replies + self._maybe_complete_join(now_ms, group)
        return replies + self._prepare_rebalance(now_ms, group)

    def _add_member_and_rebalance(
        self,
        now_ms: int,
        group: Group,
        member_id: str,
        reply_to: ReplyTo,
        request: JoinGroupRequest,
        client_id: str,
    ) -> list[Reply]:
        member = Member(
            member_id=member_id,
            group_instance_id=request.group_instance_id,
            client_id=client_id,
            client_host="",
            session_timeout_ms=request.session_timeout_ms,
            rebalance_timeout_ms=_rebalance_timeout(request),
            protocol_type=request.protocol_type,
            protocols=[(p.name, p.metadata) for p in request.protocols],
            awaiting_join=reply_to,
            session_deadline_ms=now_ms + request.session_timeout_ms,
        )
        group.add(member)
        if group.is_(GroupState.PREPARING_REBALANCE) and group.generation_id == 0:
            group.new_member_added = True  # a brand-new group: wait a little longer
        if group.is_(GroupState.PREPARING_REBALANCE):
            return self._maybe_complete_join(now_ms, group)
        return self._prepare_rebalance(now_ms, group)

    def _replace_static_member(
        self,
        now_ms: int,
        group: Group,
        old_id: str,
        new_id: str,
        reply_to: ReplyTo,
        request: JoinGroupRequest,
    ) -> list[Reply]:
        """KIP-345: a static member restarted (it lost its member id): it takes over its
        old place under a new id, and the old id is fenced. A Stable group carries on
        without a rebalance; the member gets its old assignment in SyncGroup."""
        member = group.members.pop(old_id)
        replies = []
        if member.awaiting_join is not None:
            replies.append(_join_reply(member.awaiting_join, ErrorCode.FENCED_INSTANCE_ID, old_id))
        if member.awaiting_sync is not None:
            replies.append(_sync_reply(member.awaiting_sync, ErrorCode.FENCED_INSTANCE_ID))
        member.awaiting_join = member.awaiting_sync = None
        member.member_id = new_id
        member.session_timeout_ms = request.session_timeout_ms
        member.rebalance_timeout_ms = _rebalance_timeout(request)
        member.session_deadline_ms = now_ms + request.session_timeout_ms
        group.members[new_id] = member
        group.static_members[request.group_instance_id or ""] = new_id
        if group.leader_id == old_id:
            group.leader_id = new_id
        self.dirty.add(group.group_id)
        old_protocols = member.protocols
        member.protocols = [(p.name, p.metadata) for p in request.protocols]
        # As Kafka does, a Stable group rebalances only if the protocol it would select
        # changes: the metadata bytes differ after any restart (a subscription carries the
        # member's generation, -1 on a fresh start), so comparing them would always rebalance.
        if group.is_(GroupState.STABLE) and (
            member.protocols == old_protocols
            or select_protocol(list(group.members.values())) == group.protocol_name
        ):
            return [*replies, Reply(reply_to, self._join_result(group, new_id, send_members=False))]
        member.awaiting_join = reply_to
        if group.is_(GroupState.PREPARING_REBALANCE):
            return replies + self._maybe_complete_join(now_ms, group)
        return replies + self._prepare_rebalance(now_ms, group)

    def _park_join(
        self, member: Member, reply_to: ReplyTo, request: JoinGroupRequest
    ) -> list[Reply]:
        replies = []
        if member.awaiting_join is not None:
            # A second JoinGroup while the first still waits: the first is superseded.
            replies.append(
                _join_reply(member.awaiting_join, ErrorCode.REBALANCE_IN_PROGRESS, member.member_id)
            )
        member.awaiting_join = reply_to
        member.session_timeout_ms = request.session_timeout_ms
        member.rebalance_timeout_ms = _rebalance_timeout(request)
        return replies

    def _new_member_id(self, group: Group, prefix: str) -> str:
        while True:
            member_id = f"{prefix}-{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"
            if member_id not in group.members and member_id not in group.pending_members:
                return member_id

    # -- rebalancing ----------------------------------------------------------------------
    def _prepare_rebalance(self, now_ms: int, group: Group) -> list[Reply]:
        """Start a rebalance: every member must rejoin within the rebalance timeout."""
        replies = []
        if group.is_(GroupState.COMPLETING_REBALANCE):
            # The assignment being computed is stale: whoever waits in SyncGroup rejoins.
            for member in group.members.values():
                if member.awaiting_sync is not None:
                    replies.append(
                        _sync_reply(member.awaiting_sync, ErrorCode.REBALANCE_IN_PROGRESS)
                    )
                    member.awaiting_sync = None
        timeout = group.rebalance_timeout_ms()
        delay = min(self.config.group_initial_rebalance_delay_ms, timeout)
        # The first rebalance of an empty group waits group.initial.rebalance.delay.ms for
        # more members, longer while more keep arriving, up to the rebalance timeout.
        group.initial_join = group.is_(GroupState.EMPTY) and delay > 0
        if group.initial_join:
            group.initial_delay_remaining_ms = max(timeout - delay, 0)
            group.new_member_added = False
            group.rebalance_deadline_ms = now_ms + delay
        else:
            group.rebalance_deadline_ms = now_ms + timeout
        group.transition(GroupState.PREPARING_REBALANCE, now_ms)
        return replies + self._maybe_complete_join(now_ms, group)

    def _maybe_complete_join(self, now_ms: int, group: Group) -> list[Reply]:
        """Complete the join once every member has rejoined; the first rebalance's delay
        only ends at its deadline (Kafka's InitialDelayedJoin never completes early)."""
        preparing = group.is_(GroupState.PREPARING_REBALANCE) and not group.initial_join
        if preparing and group.all_joined():
            return self._complete_join(now_ms, group)
        return []

    def _rebalance_deadline_passed(self, now_ms: int, group: Group) -> list[Reply]:
        if group.initial_join and group.new_member_added and group.initial_delay_remaining_ms:
            delay = min(
                self.config.group_initial_rebalance_delay_ms, group.initial_delay_remaining_ms
            )
            group.initial_delay_remaining_ms -= delay
            group.new_member_added = False
            group.rebalance_deadline_ms = now_ms + delay
            return []
        group.initial_join = False
        return self._complete_join(now_ms, group)

    def _complete_join(self, now_ms: int, group: Group) -> list[Reply]:
        """Everyone has rejoined, or the time is up: start the next generation."""
        for member in list(group.members.values()):
            if member.awaiting_join is None and member.group_instance_id is None:
                group.remove(member.member_id)  # a dynamic member that did not rejoin
        group.rebalance_deadline_ms = None
        if not group.members:
            group.generation_id += 1
            group.protocol_name = None
            group.leader_id = None
            group.transition(GroupState.EMPTY, now_ms)
            self.dirty.add(group.group_id)
            return []
        joined = [m for m in group.members.values() if m.awaiting_join is not None]
        if not joined:
            # Only static members that have not rejoined: wait for them (or for their
            # sessions to end) another rebalance timeout.
            group.rebalance_deadline_ms = now_ms + group.rebalance_timeout_ms()
            return []
        if group.leader_id is None or group.members[group.leader_id].awaiting_join is None:
            group.leader_id = joined[0].member_id
        group.generation_id += 1
        group.protocol_name = select_protocol(list(group.members.values()))
        group.transition(GroupState.COMPLETING_REBALANCE, now_ms)
        replies = []
        for member in joined:
            assert member.awaiting_join is not None
            replies.append(Reply(member.awaiting_join, self._join_result(group, member.member_id)))
            member.awaiting_join = None
            member.session_deadline_ms = now_ms + member.session_timeout_ms
        return replies

    def _join_result(
        self, group: Group, member_id: str, send_members: bool = True
    ) -> JoinGroupResponse:
        """The JoinGroup answer of this generation: only the leader sees every member's
        subscription, to compute the assignment from."""
        protocol = group.protocol_name or ""
        members = []
        if send_members and member_id == group.leader_id:
            members = [
                JoinGroupResponseMember(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    metadata=m.metadata(protocol),
                )
                for m in group.members.values()
            ]
        return JoinGroupResponse(
            error_code=ErrorCode.NONE,
            generation_id=group.generation_id,
            protocol_name=protocol,
            leader=group.leader_id or "",
            member_id=member_id,
            members=members,
        )

    # -- SyncGroup ------------------------------------------------------------------------
    def sync_group(self, now_ms: int, reply_to: ReplyTo, request: SyncGroupRequest) -> list[Reply]:
        group = self.groups.get(request.group_id)
        error = self._generation_error(
            group, request.member_id, request.group_instance_id, request.generation_id
        )
        if error is not None:
            return [_sync_reply(reply_to, error)]
        assert group is not None
        member = group.members[request.member_id]
        if group.is_(GroupState.PREPARING_REBALANCE):
            return [_sync_reply(reply_to, ErrorCode.REBALANCE_IN_PROGRESS)]
        member.session_deadline_ms = now_ms + member.session_timeout_ms
        if group.is_(GroupState.STABLE):
            # It lost our SyncGroup answer, or a static member came back: its assignment.
            return [Reply(reply_to, SyncGroupResponse(assignment=member.assignment))]
        member.awaiting_sync = reply_to
        writing = self.stores.get(group.group_id) == group.generation_id
        if request.member_id != group.leader_id or writing:
            return []  # wait for the leader's assignment, and for it to be written
        assignments = {a.member_id: a.assignment for a in request.assignments}
        for m in group.members.values():
            m.assignment = assignments.get(m.member_id, b"")
        # Nobody gets an assignment before the group's metadata with this generation is
        # replicated: a coordinator that takes over must not hand the generation out again.
        self.stores[group.group_id] = group.generation_id
        self._to_store.append((group.group_id, group.generation_id))
        return []

    def group_stored(
        self, now_ms: int, group_id: str, generation: int, error_code: int
    ) -> list[Reply]:
        """The write of ``generation``'s assignment is settled (Kafka's ``storeGroup``
        callback): on success the group is Stable and every member gets its assignment;
        on failure they get the error and the group rebalances."""
        if self.stores.get(group_id) == generation:
            del self.stores[group_id]
        group = self.groups.get(group_id)
        if group is None or generation != group.generation_id:
            return []
        if not group.is_(GroupState.COMPLETING_REBALANCE):
            return []  # a rebalance started meanwhile, and answered the waiting members
        replies = []
        for m in group.members.values():
            if error_code != ErrorCode.NONE:
                m.assignment = b""
            if m.awaiting_sync is not None:
                response = SyncGroupResponse(error_code=error_code, assignment=m.assignment)
                replies.append(Reply(m.awaiting_sync, response))
                m.awaiting_sync = None
                m.session_deadline_ms = now_ms + m.session_timeout_ms
        if error_code != ErrorCode.NONE:
            return replies + self._prepare_rebalance(now_ms, group)
        group.transition(GroupState.STABLE, now_ms)
        return replies

    def take_stores(self) -> list[tuple[Group, int]]:
        """The groups whose assignment waits to be written, with its generation; the host
        writes each and calls :meth:`group_stored` once the write is settled."""
        taken = [(self.groups[g], gen) for g, gen in self._to_store if g in self.groups]
        self._to_store.clear()
        return taken

    # -- Heartbeat ------------------------------------------------------------------------
    def heartbeat(self, now_ms: int, request: HeartbeatRequest) -> HeartbeatResponse:
        group = self.groups.get(request.group_id)
        error = self._generation_error(
            group, request.member_id, request.group_instance_id, request.generation_id
        )
        if error is not None:
            return HeartbeatResponse(error_code=error)
        assert group is not None
        member = group.members[request.member_id]
        member.session_deadline_ms = now_ms + member.session_timeout_ms
        if group.is_(GroupState.PREPARING_REBALANCE):
            return HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS)
        return HeartbeatResponse(error_code=ErrorCode.NONE)

    def _generation_error(
        self, group: Group | None, member_id: str, instance_id: str | None, generation_id: int
    ) -> int | None:
        """Why a member of ``generation_id`` may not sync or heartbeat; None if it may."""
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = _member_error(group, member_id, instance_id)
        if error is not None:
            return error
        if group.is_(GroupState.EMPTY):
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        return None

    # -- LeaveGroup -----------------------------------------------------------------------
    def leave_group(
        self, now_ms: int, request: LeaveGroupRequest, version: int
    ) -> tuple[LeaveGroupResponse, list[Reply]]:
        if version < BATCHED_LEAVE_FROM_VERSION:
            leaving = [MemberIdentity(member_id=request.member_id)]
        else:
            leaving = request.members
        group = self.groups.get(request.group_id)
        results: list[MemberResponse] = []
        replies: list[Reply] = []
        for who in leaving:
            error = self._leave_one(now_ms, group, who, replies)
            results.append(
                MemberResponse(
                    member_id=who.member_id,
                    group_instance_id=who.group_instance_id,
                    error_code=error,
                )
            )
        if version < BATCHED_LEAVE_FROM_VERSION:
            return LeaveGroupResponse(error_code=results[0].error_code), replies
        return LeaveGroupResponse(error_code=ErrorCode.NONE, members=results), replies

    def _leave_one(
        self, now_ms: int, group: Group | None, who: MemberIdentity, replies: list[Reply]
    ) -> int:
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        member_id = who.member_id
        if who.group_instance_id is not None:
            # A static member may leave by its instance id alone (an admin removing it).
            known = group.static_members.get(who.group_instance_id)
            if known is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if member_id and member_id != known:
                return ErrorCode.FENCED_INSTANCE_ID
            member_id = known
        if group.pending_members.pop(member_id, None) is not None:
            return ErrorCode.NONE
        if member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        replies += self._remove_member(now_ms, group, member_id)
        return ErrorCode.NONE

    def _remove_member(self, now_ms: int, group: Group, member_id: str) -> list[Reply]:
        """A member left or its session ended: the others rebalance without it."""
        member = group.remove(member_id)
        assert member is not None
        replies = []
        if member.awaiting_join is not None:
            replies.append(
                _join_reply(member.awaiting_join, ErrorCode.UNKNOWN_MEMBER_ID, member_id)
            )
        if member.awaiting_sync is not None:
            replies.append(_sync_reply(member.awaiting_sync, ErrorCode.UNKNOWN_MEMBER_ID))
        if group.is_(GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            return replies + self._prepare_rebalance(now_ms, group)
        return replies + self._maybe_complete_join(now_ms, group)

    # -- time -----------------------------------------------------------------------------
    def tick(self, now_ms: int) -> list[Reply]:
        """End the sessions that ran out and the rebalances whose wait is over."""
        replies: list[Reply] = []
        for group in list(self.groups.values()):
            for member_id, deadline in list(group.pending_members.items()):
                if deadline <= now_ms:
                    del group.pending_members[member_id]
                    replies += self._maybe_complete_join(now_ms, group)
            for member in list(group.members.values()):
                if member.member_id not in group.members:
                    continue  # removed by the rebalance another removal started
                if not member.is_waiting() and member.session_deadline_ms <= now_ms:
                    replies += self._remove_member(now_ms, group, member.member_id)
            ends = group.rebalance_deadline_ms
            if group.is_(GroupState.PREPARING_REBALANCE) and ends is not None and ends <= now_ms:
                replies += self._rebalance_deadline_passed(now_ms, group)
        return replies

    def next_deadline_ms(self) -> int | None:
        if not self.groups:  # asked after every message a broker handles; most lead none
            return None
        deadlines: list[int] = []
        for group in self.groups.values():
            deadlines += group.pending_members.values()
            deadlines += [
                m.session_deadline_ms for m in group.members.values() if not m.is_waiting()
            ]
            if (
                group.is_(GroupState.PREPARING_REBALANCE)
                and group.rebalance_deadline_ms is not None
            ):
                deadlines.append(group.rebalance_deadline_ms)
        return min(deadlines, default=None)

    # -- committed offsets ----------------------------------------------------------------
    def commit_error(self, now_ms: int, request: OffsetCommitRequest) -> int | None:
        """Why this commit may not be written; None if it may (Kafka's ``doCommitOffsets``).

        A commit with generation -1 is a "simple" one, from a consumer that assigns its
        partitions itself: allowed while the group has no members. A member's commit
        counts as a heartbeat.
        """
        generation = request.generation_id_or_member_epoch
        group = self.groups.get(request.group_id)
        if group is None:
            if generation >= 0:
                return ErrorCode.ILLEGAL_GENERATION
            self.groups[request.group_id] = Group(request.group_id, state_timestamp_ms=now_ms)
            return None
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation < 0 and group.is_(GroupState.EMPTY):
            return None
        if group.is_(GroupState.COMPLETING_REBALANCE):
            return ErrorCode.REBALANCE_IN_PROGRESS
        error = _member_error(group, request.member_id, request.group_instance_id)
        if error is not None:
            return error
        if generation != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        member = group.members[request.member_id]
        member.session_deadline_ms = now_ms + member.session_timeout_ms
        return None

    def offsets_committed(
        self, group_id: str, offsets: dict[TopicPartition, CommittedOffset]
    ) -> None:
        """The commit is replicated: later fetches see it."""
        self.offsets.setdefault(group_id, {}).update(offsets)

    def committed(self, group_id: str, tp: TopicPartition) -> CommittedOffset | None:
        return self.offsets.get(group_id, {}).get(tp)

    # -- ListGroups and DescribeGroups ----------------------------------------------------
    def list_groups(self) -> list[ListedGroup]:
        return [
            ListedGroup(group_id=g.group_id, protocol_type=g.protocol_type or "")
            for g in sorted(self.groups.values(), key=lambda g: g.group_id)
            if not g.is_(GroupState.DEAD)
        ]

    def describe_group(self, group_id: str) -> DescribedGroup:
        group = self.groups.get(group_id)
        if group is None:
            return DescribedGroup(
                error_code=ErrorCode.NONE, group_id=group_id, group_state=GroupState.DEAD.value
            )
        stable = group.is_(GroupState.STABLE)
        protocol = group.protocol_name or ""
        members = [
            DescribedGroupMember(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                # As Kafka: subscriptions and assignments only once they settle.
                member_metadata=m.metadata(protocol) if stable else b"",
                member_assignment=m.assignment if stable else b"",
            )
            for m in group.members.values()
        ]
        return DescribedGroup(
            error_code=ErrorCode.NONE,
            group_id=group_id,
            group_state=group.state.value,
            protocol_type=group.protocol_type or "",
            protocol_data=protocol,
            members=members,
        )

    # -- moving between coordinators ------------------------------------------------------
    def unload(self, now_ms: int, group_ids: set[str]) -> list[Reply]:
        """These groups' partition has a new leader: they are Dead here, and whoever
        waits is told to find the new coordinator."""
        replies = []
        for group_id in group_ids:
            group = self.groups.pop(group_id, None)
            self.offsets.pop(group_id, None)
            self.dirty.discard(group_id)
            self.stores.pop(group_id, None)
            if group is None:
                continue
            group.transition(GroupState.DEAD, now_ms)
            for m in group.members.values():
                if m.awaiting_join is not None:
                    replies.append(
                        _join_reply(m.awaiting_join, ErrorCode.NOT_COORDINATOR, m.member_id)
                    )
                if m.awaiting_sync is not None:
                    replies.append(_sync_reply(m.awaiting_sync, ErrorCode.NOT_COORDINATOR))
        return replies

    def take_dirty(self) -> list[Group]:
        """The groups whose metadata must be written to __consumer_offsets again."""
        groups = [self.groups[g] for g in sorted(self.dirty) if g in self.groups]
        self.dirty.clear()
        return groups


def _member_error(group: Group, member_id: str, instance_id: str | None) -> int | None:
    """KIP-345: a static member's instance id must still map to its member id; another
    member id means a newer instance took its place (FENCED_INSTANCE_ID)."""
    if instance_id is not None:
        known = group.static_members.get(instance_id)
        if known is not None and known != member_id:
            return ErrorCode.FENCED_INSTANCE_ID
    if member_id not in group.members:
        return ErrorCode.UNKNOWN_MEMBER_ID
    return None


def _join_reply(reply_to: ReplyTo, error_code: int, member_id: str) -> Reply:
    return Reply(reply_to, JoinGroupResponse(error_code=error_code, member_id=member_id))


def _sync_reply(reply_to: ReplyTo, error_code: int) -> Reply:
    return Reply(reply_to, SyncGroupResponse(error_code=error_code))


def _rebalance_timeout(request: JoinGroupRequest) -> int:
    # JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout.
    if request.rebalance_timeout_ms < 0:
        return request.session_timeout_ms
    return request.rebalance_timeout_ms
