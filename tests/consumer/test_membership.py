"""The member's side of the group protocol, driven by scripted coordinator answers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from reflog.consumer.membership import TRANSITIONS, GroupConfig, GroupMembership, MemberState
from reflog.consumer.rebalance_listener import ConsumerRebalanceListener
from reflog.groups.assignors import RebalanceProtocol
from reflog.groups.consumer_protocol import (
    Assignment,
    Subscription,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
    from_topic_partitions,
    to_topic_partitions,
)
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupResponse,
    JoinGroupResponseMember,
)
from reflog.wire.messages.leave_group import LeaveGroupRequest
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
from reflog.wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse
from reflog.wire.schema import Request, Response

T = TopicPartition
ALL = [T("t", p) for p in range(4)]


class Heard(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self.events: list[tuple[str, list[TopicPartition]]] = []

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.events.append(("revoked", revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.events.append(("assigned", assigned))

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.events.append(("lost", lost))


@dataclass
class Member:
    """One membership core, the clock, and what it has sent and not had answered."""

    core: GroupMembership
    heard: Heard
    consumed: dict[TopicPartition, int] = field(default_factory=dict)
    now: int = 0
    pending: list[Request] = field(default_factory=list)

    def tick(self, at: int | None = None) -> list[Request]:
        self.now = self.now if at is None else at
        self.core.tick(self.now)
        sent = [r.body for r in self.core.take_requests()]
        self.pending.extend(sent)
        return sent

    def answer(self, response: Response | None, error: int = 0) -> None:
        request = self.pending.pop(0)
        self.core.on_response(request, response, error)

    def sent(self, kind: type[Request]) -> Request:
        [request] = [r for r in self.pending if isinstance(r, kind)]
        return request

    def answer_only(self, kind: type[Request], response: Response) -> None:
        request = self.sent(kind)
        self.pending.remove(request)
        self.core.on_response(request, response, 0)


def member(*strategy: str, **settings: object) -> Member:
    heard = Heard()
    consumed: dict[TopicPartition, int] = {}
    timings: dict[str, object] = {
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        "auto_commit_interval_ms": 5_000,
    }
    config = GroupConfig(
        group_id="g",
        partition_assignment_strategy=strategy or ("range",),
        **{**timings, **settings},  # type: ignore[arg-type]
    )
    core = GroupMembership(
        config,
        consumed=lambda: dict(consumed),
        partitions_per_topic=lambda topics: {"t": 4},
        listener=heard,
    )
    m = Member(core, heard, consumed)
    core.subscribe(["t"])
    return m


def subscription_bytes(*owned: TopicPartition, generation: int = -1) -> bytes:
    return encode_subscription(
        Subscription(
            topics=["t"], owned_partitions=from_topic_partitions(owned), generation_id=generation
        )
    )


def assignment_bytes(*tps: TopicPartition) -> bytes:
    return encode_assignment(Assignment(assigned_partitions=from_topic_partitions(tps)))


def join_as_follower(m: Member, generation: int, assigned: list[TopicPartition]) -> None:
    """From a JoinGroup on its way to STABLE with ``assigned``."""
    join = m.sent(JoinGroupRequest)
    m.answer_only(
        JoinGroupRequest,
        JoinGroupResponse(
            generation_id=generation,
            protocol_name=join.protocols[0].name,
            leader="other",
            member_id="me",
        ),
    )
    m.tick()
    m.answer_only(SyncGroupRequest, SyncGroupResponse(assignment=assignment_bytes(*assigned)))
    m.tick()


def stable(
    *strategy: str, assigned: list[TopicPartition] | None = None, **settings: object
) -> Member:
    """A member that found its coordinator, joined as a follower and fetched no offsets."""
    m = member(*strategy, **settings)
    m.tick()
    m.answer(FindCoordinatorResponse(node_id=2, host="b2", port=9092))
    m.tick()
    join_as_follower(m, 1, ALL[:2] if assigned is None else assigned)
    fetch = m.sent(OffsetFetchRequest)
    m.answer_only(
        OffsetFetchRequest,
        OffsetFetchResponse(
            topics=[
                OffsetFetchResponseTopic(
                    name="t",
                    partitions=[
                        OffsetFetchResponsePartition(partition_index=p, committed_offset=-1)
                        for p in fetch.topics[0].partition_indexes  # type: ignore[index]
                    ],
                )
            ]
        ),
    )
    m.core.take_committed()
    m.heard.events.clear()
    return m


def commit_ok(request: OffsetCommitRequest) -> OffsetCommitResponse:
    return OffsetCommitResponse(
        topics=[
            OffsetCommitResponseTopic(
                name=t.name,
                partitions=[
                    OffsetCommitResponsePartition(partition_index=p.partition_index)
                    for p in t.partitions
                ],
            )
            for t in request.topics
        ]
    )


# -- joining -----------------------------------------------------------------------------------
def test_a_new_member_finds_the_coordinator_then_joins_again_with_the_member_id_it_is_given() -> (
    None
):
    m = member()
    [find] = m.tick()
    assert isinstance(find, FindCoordinatorRequest) and find.key == "g"
    m.answer(FindCoordinatorResponse(node_id=2, host="b2", port=9092))
    assert m.core.coordinator == 2
    [join] = m.tick()
    assert (
        isinstance(join, JoinGroupRequest)
        and join.member_id == ""
        and join.protocol_type == "consumer"
    )
    m.answer(JoinGroupResponse(error_code=ErrorCode.MEMBER_ID_REQUIRED, member_id="m-1"))
    [again] = m.tick()
    assert isinstance(again, JoinGroupRequest) and again.member_id == "m-1"


def test_the_leader_runs_the_chosen_assignor_over_every_members_subscription() -> None:
    m = member("roundrobin", "range")
    m.tick()
    m.answer(FindCoordinatorResponse(node_id=2))
    [join] = m.tick()
    assert [p.name for p in join.protocols] == ["roundrobin", "range"]  # type: ignore[attr-defined]
    m.answer(
        JoinGroupResponse(
            generation_id=1,
            protocol_name="range",
            leader="a",
            member_id="a",
            members=[
                JoinGroupResponseMember(member_id="a", metadata=subscription_bytes()),
                JoinGroupResponseMember(member_id="b", metadata=subscription_bytes()),
            ],
        )
    )
    assert m.core.state == MemberState.COMPLETING_REBALANCE
    [sync] = m.tick()
    assert isinstance(sync, SyncGroupRequest) and sync.generation_id == 1
    given = {
        a.member_id: to_topic_partitions(decode_assignment(a.assignment).assigned_partitions)
        for a in sync.assignments
    }
    assert given == {"a": ALL[:2], "b": ALL[2:]}
    m.answer(
        SyncGroupResponse(
            assignment=dict((a.member_id, a.assignment) for a in sync.assignments)["a"]
        )
    )
    assert m.core.state == MemberState.STABLE and m.core.owned == ALL[:2]
    assert m.heard.events == [("assigned", ALL[:2])]


def test_newly_assigned_partitions_start_from_their_committed_offsets() -> None:
    m = member()
    m.tick()
    m.answer(FindCoordinatorResponse(node_id=2))
    m.tick()
    join_as_follower(m, 1, ALL[:2])
    fetch = m.sent(OffsetFetchRequest)
    assert fetch.topics is not None and fetch.topics[0].partition_indexes == [0, 1]
    assert m.core.awaiting_committed(T("t", 0))
    m.answer_only(
        OffsetFetchRequest,
        OffsetFetchResponse(
            topics=[
                OffsetFetchResponseTopic(
                    name="t",
                    partitions=[
                        OffsetFetchResponsePartition(partition_index=0, committed_offset=42),
                        OffsetFetchResponsePartition(partition_index=1, committed_offset=-1),
                    ],
                )
            ]
        ),
    )
    assert m.core.take_committed() == {T("t", 0): 42, T("t", 1): None}
    assert not m.core.awaiting_committed(T("t", 0))


def test_a_coordinator_still_loading_is_asked_again_after_a_backoff() -> None:
    m = member()
    m.tick()
    m.answer(FindCoordinatorResponse(node_id=2))
    m.tick()
    join_as_follower(m, 1, ALL[:1])
    m.answer_only(
        OffsetFetchRequest, OffsetFetchResponse(error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    )
    assert not [r for r in m.tick() if isinstance(r, OffsetFetchRequest)]
    assert [r for r in m.tick(m.now + 100) if isinstance(r, OffsetFetchRequest)]


# -- staying in the group ----------------------------------------------------------------------
def test_a_stable_member_heartbeats_every_heartbeat_interval() -> None:
    m = stable()
    assert m.tick(999) == []
    [heartbeat] = m.tick(1_000)
    assert isinstance(heartbeat, HeartbeatRequest) and heartbeat.generation_id == 1
    assert heartbeat.member_id == "me"
    assert m.core.next_deadline_ms() == 2_000


def test_a_heartbeat_answered_not_coordinator_sends_the_member_to_find_it_again() -> None:
    m = stable()
    m.tick(1_000)
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.NOT_COORDINATOR))
    assert m.core.coordinator is None
    [find] = m.tick(1_100)
    assert isinstance(find, FindCoordinatorRequest)
    assert m.core.owned == ALL[:2]  # it keeps reading meanwhile


def test_eager_member_commits_then_revokes_everything_before_it_rejoins() -> None:
    m = stable("range")
    m.consumed.update({T("t", 0): 10, T("t", 1): 20})
    m.tick(1_000)
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS))
    sent = m.tick(1_001)
    [commit] = [r for r in sent if isinstance(r, OffsetCommitRequest)]
    assert [(p.partition_index, p.committed_offset) for p in commit.topics[0].partitions] == [
        (0, 10),
        (1, 20),
    ]
    assert commit.generation_id_or_member_epoch == 1
    assert not [r for r in sent if isinstance(r, JoinGroupRequest)], "the commit goes first"
    assert m.heard.events == [("revoked", ALL[:2])] and m.core.owned == []
    m.answer_only(OffsetCommitRequest, commit_ok(commit))
    [join] = m.tick()
    assert isinstance(join, JoinGroupRequest)
    version, subscription = decode_subscription(join.protocols[0].metadata)
    assert version == 3 and subscription.owned_partitions == [] and subscription.generation_id == 1
    join_as_follower(m, 2, ALL[:1])
    assert m.heard.events[-1] == ("assigned", ALL[:1])


def test_cooperative_member_keeps_its_partitions_and_revokes_only_what_moves_then_rejoins() -> None:
    m = stable("cooperative-sticky")
    assert m.core.protocol is RebalanceProtocol.COOPERATIVE
    m.consumed.update({T("t", 1): 20})
    m.tick(1_000)
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS))
    sent = m.tick(1_001)
    [commit] = [r for r in sent if isinstance(r, OffsetCommitRequest)]
    m.answer_only(OffsetCommitRequest, commit_ok(commit))
    [join] = m.tick()
    assert isinstance(join, JoinGroupRequest)
    _, subscription = decode_subscription(join.protocols[0].metadata)
    assert (
        to_topic_partitions(subscription.owned_partitions) == ALL[:2]
        and subscription.generation_id == 1
    )
    assert m.heard.events == [] and m.core.owned == ALL[:2]  # nothing revoked yet
    join_as_follower(m, 2, ALL[:1])
    assert m.heard.events == [("revoked", [T("t", 1)]), ("assigned", [])]
    assert m.core.owned == ALL[:1]
    # It revoked something: it joins again at once, for the second round.
    [again] = [r for r in m.pending if isinstance(r, JoinGroupRequest)]
    _, subscription = decode_subscription(again.protocols[0].metadata)
    assert (
        to_topic_partitions(subscription.owned_partitions) == ALL[:1]
        and subscription.generation_id == 2
    )


def test_a_rebalance_heard_of_from_a_heartbeat_after_rejoining_starts_no_other_one() -> None:
    m = stable("range", enable_auto_commit=False)
    [heartbeat] = m.tick(1_000)
    m.core.subscribe(["t", "u"])  # the member rejoins on its own while the heartbeat is out
    [join] = m.tick(1_001)
    assert isinstance(heartbeat, HeartbeatRequest) and isinstance(join, JoinGroupRequest)
    # The answer tells of the rebalance the member's own JoinGroup is part of.
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS))
    join_as_follower(m, 2, ALL[:1])
    assert m.core.state == MemberState.STABLE and m.core.generation_id == 2
    assert not [r for r in m.tick(1_002) + m.pending if isinstance(r, JoinGroupRequest)]


def test_range_with_cooperative_sticky_rebalances_eagerly_as_kafkas_default_does() -> None:
    assert member("range", "cooperative-sticky").core.protocol is RebalanceProtocol.EAGER


def test_a_fenced_member_loses_its_partitions_without_committing() -> None:
    m = stable("cooperative-sticky")
    m.consumed.update({T("t", 0): 10})
    m.tick(1_000)
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.ILLEGAL_GENERATION))
    sent = m.tick(1_001)
    assert m.heard.events == [("lost", ALL[:2])] and m.core.owned == []
    assert not [r for r in sent if isinstance(r, OffsetCommitRequest)]
    [join] = [r for r in sent if isinstance(r, JoinGroupRequest)]
    assert join.member_id == "me"  # ILLEGAL_GENERATION keeps the id; UNKNOWN_MEMBER_ID would not


def test_an_evicted_member_joins_again_as_a_new_member() -> None:
    m = stable()
    m.tick(1_000)
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.UNKNOWN_MEMBER_ID))
    [join] = [r for r in m.tick(1_001) if isinstance(r, JoinGroupRequest)]
    assert join.member_id == "" and m.heard.events == [("lost", ALL[:2])]


def test_a_member_without_heartbeat_answers_for_a_session_looks_for_the_coordinator_again() -> None:
    m = stable()
    for at in range(1_000, 10_000, 1_000):
        m.tick(at)
    assert m.core.coordinator == 2  # heartbeats went out, none was answered
    m.tick(10_000)
    assert m.core.coordinator is None


def test_a_join_refused_for_an_inconsistent_protocol_is_an_error_for_the_application() -> None:
    m = member()
    m.tick()
    m.answer(FindCoordinatorResponse(node_id=2))
    m.tick()
    m.answer(JoinGroupResponse(error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
    assert (
        m.core.error is not None
        and m.core.error.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    )
    assert m.tick(5_000) == []


# -- committing --------------------------------------------------------------------------------
def test_auto_commit_commits_what_was_consumed_every_interval() -> None:
    m = stable(session_timeout_ms=60_000)
    m.consumed.update({T("t", 0): 5})
    sent = m.tick(5_000)
    [commit] = [r for r in sent if isinstance(r, OffsetCommitRequest)]
    assert [(p.partition_index, p.committed_offset) for p in commit.topics[0].partitions] == [
        (0, 5)
    ]
    m.answer_only(OffsetCommitRequest, commit_ok(commit))
    assert not [r for r in m.tick(9_999) if isinstance(r, OffsetCommitRequest)]
    assert [r for r in m.tick(10_000) if isinstance(r, OffsetCommitRequest)]


def test_a_manual_commit_reports_its_outcome() -> None:
    m = stable(enable_auto_commit=False)
    outcomes: list[tuple[dict[TopicPartition, int], int]] = []
    m.core.commit({T("t", 1): 7}, lambda offsets, error: outcomes.append((offsets, error)))
    [commit] = m.tick(10)
    assert isinstance(commit, OffsetCommitRequest)
    m.answer_only(OffsetCommitRequest, commit_ok(commit))
    assert outcomes == [({T("t", 1): 7}, ErrorCode.NONE)]


def test_a_commit_during_a_rebalance_fails_with_rebalance_in_progress() -> None:
    m = member()
    outcomes: list[int] = []
    m.core.commit({T("t", 0): 1}, lambda offsets, error: outcomes.append(error))
    assert outcomes == [ErrorCode.REBALANCE_IN_PROGRESS]


def test_a_commit_left_waiting_when_the_member_is_fenced_does_not_hold_up_its_rejoin() -> None:
    # Seed 46 of the randomized group test: fenced with a commit in flight and another
    # waiting behind it, the member must rejoin as soon as the one in flight is answered.
    # The waiting one can never go (its generation is over); when it blocked the join,
    # the member asked to be woken for nothing more and sat UNJOINED for good.
    m = stable(session_timeout_ms=60_000)
    m.consumed.update({T("t", 0): 5})
    m.tick(5_000)
    in_flight = m.sent(OffsetCommitRequest)
    outcomes: list[int] = []
    m.core.commit({T("t", 1): 7}, lambda offsets, error: outcomes.append(error))
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.UNKNOWN_MEMBER_ID))
    assert not [r for r in m.tick(5_001) if isinstance(r, JoinGroupRequest)]  # commit first
    m.answer_only(OffsetCommitRequest, commit_ok(in_flight))
    [join] = [r for r in m.tick(5_002) if isinstance(r, JoinGroupRequest)]
    assert join.member_id == "" and m.core.state == MemberState.PREPARING_REBALANCE
    assert outcomes == [ErrorCode.REBALANCE_IN_PROGRESS]


# -- leaving -----------------------------------------------------------------------------------
def test_close_commits_then_revokes_then_leaves() -> None:
    m = stable()
    m.consumed.update({T("t", 0): 3})
    m.core.close()
    [commit] = m.tick(10)
    assert isinstance(commit, OffsetCommitRequest) and m.heard.events == []
    m.answer_only(OffsetCommitRequest, commit_ok(commit))
    [leave] = m.tick(11)
    assert isinstance(leave, LeaveGroupRequest) and leave.member_id == "me"
    assert m.heard.events == [("revoked", ALL[:2])] and m.core.closed


def test_a_static_member_closes_without_leave_group() -> None:
    m = stable(enable_auto_commit=False, group_instance_id="instance-1")
    m.core.close()
    assert m.tick(10) == [] and m.core.closed
    assert m.heard.events == [("revoked", ALL[:2])]


# -- the state table ---------------------------------------------------------------------------
def test_a_join_answered_after_the_member_gave_it_up_is_ignored() -> None:
    m = stable()
    m.tick(1_000)
    m.answer_only(HeartbeatRequest, HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS))
    m.tick(1_001)
    assert m.core.state == MemberState.PREPARING_REBALANCE
    # A commit from before fails for want of an answer: the coordinator may be gone.
    m.core.on_response(OffsetCommitRequest(group_id="g"), None, ErrorCode.REQUEST_TIMED_OUT)
    assert m.core.state == MemberState.UNJOINED and m.core.coordinator is None
    m.answer_only(
        JoinGroupRequest,
        JoinGroupResponse(generation_id=2, protocol_name="range", leader="me", member_id="me"),
    )
    assert m.core.state == MemberState.UNJOINED and m.core.generation_id == 1


def test_every_move_is_one_the_table_allows() -> None:
    for state, moves in TRANSITIONS.items():
        for to in MemberState:
            m = member()
            m.core.state = state
            if to in moves:
                m.core._move(to)
                assert m.core.state == to
            else:
                with pytest.raises(AssertionError, match="does not move"):
                    m.core._move(to)
