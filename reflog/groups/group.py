"""One consumer group as its coordinator sees it: members, generation, state.

The five states and the moves between them are Kafka's (``GroupState`` in Kafka's
``GroupMetadata``):

* **Empty**: no members; committed offsets may remain.
* **PreparingRebalance**: waiting for every member to (re)join.
* **CompletingRebalance**: everyone joined; waiting for the leader's assignment.
* **Stable**: every member has its assignment and heartbeats.
* **Dead**: the group's partition moved to another coordinator; nothing is served.

:data:`TRANSITIONS` lists every allowed move; :meth:`Group.transition` refuses any other,
so a mistake in the coordinator shows up as an error, not as a strange group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reflog.wire.headers import RequestHeader

__all__ = [
    "TRANSITIONS",
    "Group",
    "GroupState",
    "IllegalTransitionError",
    "Member",
    "ReplyTo",
    "select_protocol",
]

# The request a parked JoinGroup or SyncGroup answers: connection and header.
ReplyTo = tuple[int, RequestHeader]


class GroupState(StrEnum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


# state -> the states it may move to (Kafka's GroupState.validPreviousStates, turned round).
TRANSITIONS: dict[GroupState, frozenset[GroupState]] = {
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE, GroupState.DEAD}),
    GroupState.PREPARING_REBALANCE: frozenset(
        {GroupState.COMPLETING_REBALANCE, GroupState.EMPTY, GroupState.DEAD}
    ),
    GroupState.COMPLETING_REBALANCE: frozenset(
        {GroupState.STABLE, GroupState.PREPARING_REBALANCE, GroupState.DEAD}
    ),
    GroupState.STABLE: frozenset({GroupState.PREPARING_REBALANCE, GroupState.DEAD}),
    GroupState.DEAD: frozenset({GroupState.DEAD}),
}


class IllegalTransitionError(Exception):
    pass


@dataclass
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    # (name, metadata) in the member's order of preference.
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    # A JoinGroup or SyncGroup waiting for the rebalance to get that far.
    awaiting_join: ReplyTo | None = None
    awaiting_sync: ReplyTo | None = None
    # When the member is removed unless it heartbeats (or commits, or joins) first.
    session_deadline_ms: int = 0

    def metadata(self, protocol: str) -> bytes:
        """The member's metadata for ``protocol`` (empty if it does not support it)."""
        return next((m for name, m in self.protocols if name == protocol), b"")

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def is_waiting(self) -> bool:
        """A member parked in JoinGroup or SyncGroup counts as alive (Kafka's
        ``hasSatisfiedHeartbeat``): its session clock stands still meanwhile."""
        return self.awaiting_join is not None or self.awaiting_sync is not None


@dataclass
class Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    # KIP-394: member ids handed out with MEMBER_ID_REQUIRED, not yet joined with
    # (id -> the time the id is forgotten unless it joins).
    pending_members: dict[str, int] = field(default_factory=dict)
    # KIP-345: group.instance.id -> the member id it holds now.
    static_members: dict[str, str] = field(default_factory=dict)
    # When PreparingRebalance gives up on members that have not rejoined (or, for the
    # first rebalance of an empty group, when the initial delay ends).
    rebalance_deadline_ms: int | None = None
    # The first rebalance of an empty group waits group.initial.rebalance.delay.ms for
    # more members (Kafka's InitialDelayedJoin), extended while newcomers keep arriving.
    initial_join: bool = False
    initial_delay_remaining_ms: int = 0
    new_member_added: bool = False
    # When the state last changed (Kafka's currentStateTimestamp).
    state_timestamp_ms: int = 0

    def transition(self, to: GroupState, now_ms: int) -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransitionError(f"group {self.group_id}: {self.state} -> {to}")
        self.state = to
        self.state_timestamp_ms = now_ms

    def is_(self, *states: GroupState) -> bool:
        return self.state in states

    def add(self, member: Member) -> None:
        if not self.members:
            self.protocol_type = member.protocol_type
        self.members[member.member_id] = member
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id

    def remove(self, member_id: str) -> Member | None:
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        if member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        return member

    def candidate_protocols(self) -> set[str]:
        """The protocols every member supports."""
        names: set[str] | None = None
        for member in self.members.values():
            supported = set(member.protocol_names())
            names = supported if names is None else names & supported
        return names or set()

    def supports(self, protocol_type: str, protocols: list[str]) -> bool:
        """Whether a member with these protocols may join (Kafka's ``supportsProtocols``)."""
        if not self.members:
            return bool(protocol_type) and bool(protocols)
        return protocol_type == self.protocol_type and bool(
            self.candidate_protocols() & set(protocols)
        )

    def all_joined(self) -> bool:
        return all(m.awaiting_join is not None for m in self.members.values()) and not (
            self.pending_members
        )

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)


def select_protocol(members: list[Member]) -> str:
    """Kafka's choice: among the protocols every member supports, each member votes for
    the one it prefers most; the most votes win.

    reflog simplification: a tie goes to the protocol the first member prefers (Kafka's
    tie-break follows its map's iteration order).
    """
    candidates = set(members[0].protocol_names())
    for member in members[1:]:
        candidates &= set(member.protocol_names())
    votes: dict[str, int] = {}
    for member in members:
        choice = next(name for name in member.protocol_names() if name in candidates)
        votes[choice] = votes.get(choice, 0) + 1
    first_preference = [n for n in members[0].protocol_names() if n in votes]
    return max(first_preference, key=lambda name: votes[name])
