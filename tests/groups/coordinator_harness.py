"""Speak to a GroupCoordinator core as members would, on a clock the test moves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from reflog.groups.config import GroupConfig
from reflog.groups.coordinator import GroupCoordinator, Reply
from reflog.groups.group import Group, ReplyTo
from reflog.wire.api_keys import ApiKey
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.heartbeat import HeartbeatRequest
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    JoinGroupResponse,
)
from reflog.wire.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse, MemberIdentity
from reflog.wire.messages.sync_group import (
    SyncGroupRequest,
    SyncGroupRequestAssignment,
    SyncGroupResponse,
)
from reflog.wire.schema import Response

GROUP = "payments"
SESSION_MS = 10_000
REBALANCE_MS = 30_000
DELAY_MS = 3_000


@dataclass
class Harness:
    config: GroupConfig = field(
        default_factory=lambda: GroupConfig(group_initial_rebalance_delay_ms=DELAY_MS)
    )
    now_ms: int = 0
    # Every answer so far, by the connection its request came on.
    answers: dict[int, list[Response]] = field(default_factory=dict)
    _next_conn: int = 0

    def __post_init__(self) -> None:
        self.coordinator = GroupCoordinator(self.config, random.Random(7))

    @property
    def group(self) -> Group:
        return self.coordinator.groups[GROUP]

    def _reply_to(self, key: ApiKey, version: int) -> ReplyTo:
        self._next_conn += 1
        return self._next_conn, RequestHeader(key, version, self._next_conn, "client")

    # Whether a group's new assignment is written at once (the host's replicated write).
    store_at_once: bool = True

    def _deliver(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.answers.setdefault(reply.reply_to[0], []).append(reply.response)
        if self.store_at_once:
            self.settle_stores()

    def settle_stores(self, error_code: int = 0) -> None:
        for group, generation in self.coordinator.take_stores():
            self._deliver(
                self.coordinator.group_stored(self.now_ms, group.group_id, generation, error_code)
            )

    def answer(self, conn: int) -> Response | None:
        got = self.answers.get(conn, [])
        assert len(got) <= 1, f"connection {conn} was answered {len(got)} times"
        return got[0] if got else None

    def join(
        self,
        member_id: str = "",
        *,
        protocols: tuple[tuple[str, bytes], ...] = (("range", b"sub"),),
        instance_id: str | None = None,
        version: int = 5,
        session_ms: int = SESSION_MS,
        client_id: str = "client",
    ) -> int:
        """Send a JoinGroup; the connection its answer will arrive on."""
        reply_to = self._reply_to(ApiKey.JOIN_GROUP, version)
        request = JoinGroupRequest(
            group_id=GROUP,
            session_timeout_ms=session_ms,
            rebalance_timeout_ms=REBALANCE_MS,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type="consumer",
            protocols=[JoinGroupRequestProtocol(name=n, metadata=m) for n, m in protocols],
        )
        self._deliver(self.coordinator.join_group(self.now_ms, reply_to, request, client_id))
        return reply_to[0]

    def joined(self, conn: int) -> JoinGroupResponse:
        response = self.answer(conn)
        assert isinstance(response, JoinGroupResponse), response
        return response

    def new_member(self, **kwargs: object) -> str:
        """KIP-394's two steps: ask for a member id, then join with it; the member id."""
        first = self.joined(self.join(**kwargs))  # type: ignore[arg-type]
        return first.member_id

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes] | None = None,
        instance_id: str | None = None,
    ) -> int:
        reply_to = self._reply_to(ApiKey.SYNC_GROUP, 3)
        request = SyncGroupRequest(
            group_id=GROUP,
            generation_id=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            assignments=[
                SyncGroupRequestAssignment(member_id=m, assignment=a)
                for m, a in (assignments or {}).items()
            ],
        )
        self._deliver(self.coordinator.sync_group(self.now_ms, reply_to, request))
        return reply_to[0]

    def synced(self, conn: int) -> SyncGroupResponse:
        response = self.answer(conn)
        assert isinstance(response, SyncGroupResponse), response
        return response

    def heartbeat(self, member_id: str, generation: int, instance_id: str | None = None) -> int:
        response = self.coordinator.heartbeat(
            self.now_ms,
            HeartbeatRequest(
                group_id=GROUP,
                generation_id=generation,
                member_id=member_id,
                group_instance_id=instance_id,
            ),
        )
        return response.error_code

    def leave(
        self, member_id: str, version: int = 3, instance_id: str | None = None
    ) -> LeaveGroupResponse:
        request = LeaveGroupRequest(
            group_id=GROUP,
            member_id=member_id,
            members=[MemberIdentity(member_id=member_id, group_instance_id=instance_id)],
        )
        response, replies = self.coordinator.leave_group(self.now_ms, request, version)
        self._deliver(replies)
        return response

    def advance(self, ms: int) -> None:
        """Move the clock, ticking the coordinator at every deadline on the way."""
        end = self.now_ms + ms
        while True:
            deadline = self.coordinator.next_deadline_ms()
            if deadline is None or deadline > end:
                break
            self.now_ms = max(self.now_ms, deadline)
            self._deliver(self.coordinator.tick(self.now_ms))
        self.now_ms = end
        self._deliver(self.coordinator.tick(self.now_ms))

    def stable_group_of(self, n: int) -> tuple[list[str], int]:
        """n members joined and synced (the first is the leader): their ids and generation."""
        ids = [self.new_member() for _ in range(n)]
        conns = [self.join(m) for m in ids]
        self.advance(DELAY_MS * n)  # each newcomer to a new group extends the first delay
        results = [self.joined(c) for c in conns]
        generation = results[0].generation_id
        leader = results[0].leader
        syncs = [self.sync(m, generation) for m in ids if m != leader]
        syncs.append(self.sync(leader, generation, {m: m.encode() for m in ids}))
        for c in syncs:
            assert self.synced(c).error_code == 0
        return ids, generation
