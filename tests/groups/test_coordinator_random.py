"""The coordinator core under random members: joining, leaving, crashing, restarting.

Each seed drives a GroupCoordinator with members that follow the protocol as a consumer
does (KIP-394's second join, SyncGroup from the leader with a round-robin assignment,
heartbeats, rejoining on REBALANCE_IN_PROGRESS, starting over on UNKNOWN_MEMBER_ID), and
crashes and restarts them at random. After every step: every answer goes to a request
that waits for one, once; no two members of one generation own the same partition; the
generation never goes back. Once the faults stop, the group becomes Stable with exactly
the live members, who own every partition between them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from reflog.groups.config import GroupConfig
from reflog.groups.coordinator import GroupCoordinator, Reply
from reflog.groups.group import GroupState
from reflog.wire.api_keys import ApiKey
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.heartbeat import HeartbeatRequest
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    JoinGroupResponse,
)
from reflog.wire.messages.leave_group import LeaveGroupRequest, MemberIdentity
from reflog.wire.messages.sync_group import (
    SyncGroupRequest,
    SyncGroupRequestAssignment,
    SyncGroupResponse,
)

GROUP = "g"
PARTITIONS = 6
SESSION_MS = 6_000
REBALANCE_MS = 10_000
HEARTBEAT_MS = 1_000


@dataclass
class Client:
    name: str
    static: str | None
    member_id: str = ""
    generation: int = -1
    assignment: frozenset[int] = frozenset()
    waiting: int | None = None  # the connection of the request it waits on
    next_heartbeat_ms: int = 0
    alive: bool = True
    stable: bool = False


@dataclass
class World:
    seed: int
    rng: random.Random = field(init=False)
    now_ms: int = 0
    conns: int = 0
    coordinator: GroupCoordinator = field(init=False)
    clients: list[Client] = field(default_factory=list)
    outstanding: dict[int, Client] = field(default_factory=dict)
    # generation -> partition -> member id that owns it
    owners: dict[int, dict[int, str]] = field(default_factory=dict)
    highest_generation: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        config = GroupConfig(group_initial_rebalance_delay_ms=self.rng.choice([0, 500]))
        self.coordinator = GroupCoordinator(config, random.Random(self.seed))

    def reply_to(self, client: Client, key: ApiKey, version: int) -> tuple[int, RequestHeader]:
        self.conns += 1
        client.waiting = self.conns
        self.outstanding[self.conns] = client
        return self.conns, RequestHeader(key, version, self.conns, client.name)

    # -- what members send ----------------------------------------------------------------
    def join(self, c: Client) -> None:
        c.stable = False
        request = JoinGroupRequest(
            group_id=GROUP,
            session_timeout_ms=SESSION_MS,
            rebalance_timeout_ms=REBALANCE_MS,
            member_id=c.member_id,
            group_instance_id=c.static,
            protocol_type="consumer",
            protocols=[JoinGroupRequestProtocol(name="roundrobin", metadata=b"")],
        )
        reply_to = self.reply_to(c, ApiKey.JOIN_GROUP, 5)
        self.deliver(self.coordinator.join_group(self.now_ms, reply_to, request, c.name))

    def on_join(self, c: Client, r: JoinGroupResponse) -> None:
        if r.error_code == ErrorCode.MEMBER_ID_REQUIRED:
            c.member_id = r.member_id
            return self.join(c)
        if r.error_code != ErrorCode.NONE:
            if r.error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
                c.member_id = ""
            return self.join(c)
        c.member_id, c.generation = r.member_id, r.generation_id
        assignments = []
        if r.leader == r.member_id:
            ids = [m.member_id for m in r.members]
            assignments = [
                SyncGroupRequestAssignment(
                    member_id=m, assignment=bytes(p for p in range(PARTITIONS) if p % len(ids) == i)
                )
                for i, m in enumerate(ids)
            ]
        request = SyncGroupRequest(
            group_id=GROUP,
            generation_id=c.generation,
            member_id=c.member_id,
            group_instance_id=c.static,
            assignments=assignments,
        )
        reply_to = self.reply_to(c, ApiKey.SYNC_GROUP, 3)
        self.deliver(self.coordinator.sync_group(self.now_ms, reply_to, request))
        return None

    def on_sync(self, c: Client, r: SyncGroupResponse) -> None:
        if r.error_code != ErrorCode.NONE:
            if r.error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
                c.member_id = ""
            return self.join(c)
        c.assignment = frozenset(r.assignment)
        c.stable = True
        c.next_heartbeat_ms = self.now_ms + HEARTBEAT_MS
        # A static member's new process takes its old place (KIP-345): the owner is the
        # instance, not the process.
        owner = c.static or c.member_id
        owners = self.owners.setdefault(c.generation, {})
        for p in c.assignment:
            other = owners.setdefault(p, owner)
            assert other == owner, f"partition {p} of generation {c.generation} twice"
        return None

    def heartbeat(self, c: Client) -> None:
        request = HeartbeatRequest(
            group_id=GROUP,
            generation_id=c.generation,
            member_id=c.member_id,
            group_instance_id=c.static,
        )
        error = self.coordinator.heartbeat(self.now_ms, request).error_code
        c.next_heartbeat_ms = self.now_ms + HEARTBEAT_MS
        if error in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
            c.member_id = ""
        if error != ErrorCode.NONE:
            self.join(c)

    def leave(self, c: Client) -> None:
        request = LeaveGroupRequest(
            group_id=GROUP,
            members=[MemberIdentity(member_id=c.member_id, group_instance_id=c.static)],
        )
        _, replies = self.coordinator.leave_group(self.now_ms, request, 3)
        self.crash(c)
        self.deliver(replies)

    def crash(self, c: Client) -> None:
        c.alive = False
        if c.waiting is not None:
            self.outstanding[c.waiting] = Client("gone", None, alive=False)  # answered to no one
        c.waiting = None

    # -- the coordinator's answers --------------------------------------------------------
    def deliver(self, replies: list[Reply]) -> None:
        for group, generation in self.coordinator.take_stores():
            # The host's replicated write of the assignment: now, or failed.
            error = ErrorCode.NONE if self.rng.random() < 0.9 else ErrorCode.NOT_COORDINATOR
            replies = replies + self.coordinator.group_stored(
                self.now_ms, group.group_id, generation, error
            )
        for reply in replies:
            conn = reply.reply_to[0]
            assert conn in self.outstanding, f"an answer to connection {conn}, which waits for none"
            c = self.outstanding.pop(conn)
            if not c.alive:
                continue
            assert c.waiting == conn
            c.waiting = None
            if isinstance(reply.response, JoinGroupResponse):
                self.on_join(c, reply.response)
            else:
                assert isinstance(reply.response, SyncGroupResponse)
                self.on_sync(c, reply.response)
        generation = (
            self.coordinator.groups[GROUP].generation_id if GROUP in self.coordinator.groups else 0
        )
        assert generation >= self.highest_generation
        self.highest_generation = generation

    def advance(self, ms: int) -> None:
        end = self.now_ms + ms
        while True:
            due = [c.next_heartbeat_ms for c in self.live() if c.stable]
            deadline = min([*due, self.coordinator.next_deadline_ms() or end, end])
            self.now_ms = max(self.now_ms, deadline)
            for c in self.live():
                if c.stable and c.waiting is None and c.next_heartbeat_ms <= self.now_ms:
                    self.heartbeat(c)
            self.deliver(self.coordinator.tick(self.now_ms))
            if self.now_ms >= end:
                return

    def live(self) -> list[Client]:
        return [c for c in self.clients if c.alive]

    def start(self) -> None:
        n = len(self.clients)
        static = f"i{n}" if self.rng.random() < 0.3 else None
        c = Client(f"c{n}", static)
        self.clients.append(c)
        self.join(c)

    def restart_static(self) -> None:
        dead = [c for c in self.clients if not c.alive and c.static is not None]
        if dead:
            old = self.rng.choice(dead)
            old.static, static = None, old.static
            c = Client(f"c{len(self.clients)}", static)  # a new process, same instance id
            self.clients.append(c)
            self.join(c)


@pytest.mark.parametrize("seed", range(300))
def test_random_members_always_settle_into_one_stable_generation(seed: int) -> None:
    w = World(seed)
    for _ in range(3):
        w.start()
    for _ in range(w.rng.randint(5, 25)):
        fault = w.rng.random()
        live = w.live()
        if fault < 0.3 or not live:
            w.start()
        elif fault < 0.45:
            w.leave(w.rng.choice(live))
        elif fault < 0.6:
            w.crash(w.rng.choice(live))
        elif fault < 0.7:
            w.restart_static()
        w.advance(w.rng.randint(1, 4_000))
    if not w.live():
        w.start()
    # Faults over: sessions of the crashed run out, the live rejoin, and the group settles.
    w.advance(3 * (SESSION_MS + REBALANCE_MS))
    group = w.coordinator.groups[GROUP]
    live = w.live()
    assert group.state == GroupState.STABLE
    assert sorted(group.members) == sorted(c.member_id for c in live)
    assert all(c.stable and c.generation == group.generation_id for c in live)
    owned = sorted(p for c in live for p in c.assignment)
    assert owned == list(range(PARTITIONS))
