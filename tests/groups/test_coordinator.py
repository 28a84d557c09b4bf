"""The group coordinator's behaviours, named as Kafka's GroupCoordinator tests name them."""

from __future__ import annotations

import pytest

from reflog.groups.coordinator import CommittedOffset
from reflog.groups.group import TRANSITIONS, Group, GroupState, IllegalTransitionError
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.join_group import JoinGroupResponse
from reflog.wire.messages.offset_commit import OffsetCommitRequest

from .coordinator_harness import DELAY_MS, GROUP, REBALANCE_MS, SESSION_MS, Harness


def test_a_first_join_without_member_id_gets_member_id_required_and_an_id_to_rejoin_with() -> None:
    h = Harness()
    first = h.joined(h.join(client_id="app"))
    assert first.error_code == ErrorCode.MEMBER_ID_REQUIRED
    assert first.member_id.startswith("app-")
    assert h.group.pending_members and not h.group.members
    conn = h.join(first.member_id)
    assert h.answer(conn) is None  # parked: the first rebalance waits the initial delay
    assert first.member_id in h.group.members


def test_join_group_v3_has_no_member_id_required_step() -> None:
    h = Harness()
    conn = h.join(version=3)
    h.advance(DELAY_MS)
    joined = h.joined(conn)
    assert joined.error_code == ErrorCode.NONE
    assert joined.generation_id == 1
    assert joined.leader == joined.member_id


def test_the_first_rebalance_waits_the_initial_delay_and_grows_while_members_arrive() -> None:
    h = Harness()
    a = h.new_member()
    ca = h.join(a)
    h.advance(DELAY_MS - 1)
    b = h.new_member()
    cb = h.join(b)
    h.advance(1)  # the first delay ends, but b arrived meanwhile: wait another delay
    assert h.answer(ca) is None
    assert h.group.state == GroupState.PREPARING_REBALANCE
    h.advance(DELAY_MS)
    assert h.joined(ca).generation_id == h.joined(cb).generation_id == 1
    assert h.group.state == GroupState.COMPLETING_REBALANCE


def test_the_leader_alone_receives_every_members_subscription() -> None:
    h = Harness()
    ids = [h.new_member(protocols=(("range", b"s%d" % i),)) for i in range(3)]
    conns = [h.join(m, protocols=(("range", b"s%d" % i),)) for i, m in enumerate(ids)]
    h.advance(3 * DELAY_MS)
    results = [h.joined(c) for c in conns]
    assert {r.leader for r in results} == {ids[0]}
    assert [(m.member_id, m.metadata) for m in results[0].members] == [
        (ids[0], b"s0"),
        (ids[1], b"s1"),
        (ids[2], b"s2"),
    ]
    assert results[1].members == results[2].members == []
    assert {r.protocol_name for r in results} == {"range"}


def test_followers_sync_waits_for_the_leaders_assignment() -> None:
    h = Harness()
    ids = [h.new_member() for _ in range(2)]
    conns = [h.join(m) for m in ids]
    h.advance(2 * DELAY_MS)
    generation = h.joined(conns[0]).generation_id
    follower = h.sync(ids[1], generation)
    assert h.answer(follower) is None
    leader = h.sync(ids[0], generation, {ids[0]: b"p0", ids[1]: b"p1"})
    assert h.synced(leader).assignment == b"p0"
    assert h.synced(follower).assignment == b"p1"
    assert h.group.state == GroupState.STABLE


def test_a_new_member_makes_the_stable_group_rebalance_and_heartbeats_say_so() -> None:
    h = Harness()
    (a, b), generation = h.stable_group_of(2)
    c = h.new_member()
    cc = h.join(c)
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.heartbeat(a, generation) == ErrorCode.REBALANCE_IN_PROGRESS
    ca, cb = h.join(a), h.join(b)  # both rejoin: the join completes at once
    results = [h.joined(x) for x in (ca, cb, cc)]
    assert {r.generation_id for r in results} == {generation + 1}
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    assert h.heartbeat(a, generation + 1) == ErrorCode.NONE


def test_a_member_of_an_old_generation_is_fenced_with_illegal_generation() -> None:
    h = Harness()
    (a, b), generation = h.stable_group_of(2)
    h.leave(b)
    h.joined(h.join(a))
    assert h.heartbeat(a, generation) == ErrorCode.ILLEGAL_GENERATION
    assert h.synced(h.sync(a, generation)).error_code == ErrorCode.ILLEGAL_GENERATION
    assert h.synced(h.sync(a, generation + 1, {a: b"all"})).assignment == b"all"


def test_an_unknown_member_id_is_refused_everywhere() -> None:
    h = Harness()
    _, generation = h.stable_group_of(1)
    assert h.heartbeat("ghost", generation) == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.synced(h.sync("ghost", generation)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.joined(h.join("ghost")).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.leave("ghost").members[0].error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_a_member_that_stops_heartbeating_is_removed_after_its_session_timeout() -> None:
    h = Harness()
    (a, b), generation = h.stable_group_of(2)
    for _ in range(3):
        h.advance(SESSION_MS // 2)
        assert h.heartbeat(a, generation) in (ErrorCode.NONE, ErrorCode.REBALANCE_IN_PROGRESS)
    assert b not in h.group.members
    assert h.group.state == GroupState.PREPARING_REBALANCE
    ca = h.join(a)
    assert h.joined(ca).generation_id == generation + 1
    assert [m.member_id for m in h.joined(ca).members] == [a]


def test_members_that_do_not_rejoin_within_the_rebalance_timeout_are_dropped() -> None:
    h = Harness()
    (a, b), generation = h.stable_group_of(2)
    ca = h.join(a)  # the leader rejoins: a rebalance
    assert h.group.state == GroupState.PREPARING_REBALANCE
    for _ in range(REBALANCE_MS // (SESSION_MS // 2)):
        h.advance(SESSION_MS // 2 - 1)
        h.heartbeat(b, generation)  # alive, but never rejoins
    h.advance(REBALANCE_MS)
    joined = h.joined(ca)
    assert joined.generation_id == generation + 1
    assert [m.member_id for m in joined.members] == [a]
    assert b not in h.group.members


def test_the_last_member_leaving_empties_the_group_with_a_new_generation() -> None:
    h = Harness()
    (a,), generation = h.stable_group_of(1)
    response = h.leave(a, version=1)
    assert response.error_code == ErrorCode.NONE
    assert h.group.state == GroupState.EMPTY
    assert h.group.generation_id == generation + 1
    assert h.heartbeat(a, generation) == ErrorCode.UNKNOWN_MEMBER_ID


def test_a_member_leaving_mid_sync_sends_the_others_back_to_rejoin() -> None:
    h = Harness()
    ids = [h.new_member() for _ in range(3)]
    conns = [h.join(m) for m in ids]
    h.advance(3 * DELAY_MS)
    generation = h.joined(conns[0]).generation_id
    waiting = h.sync(ids[1], generation)
    h.leave(ids[2])
    assert h.synced(waiting).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    assert h.group.state == GroupState.PREPARING_REBALANCE


def test_a_static_member_joins_without_the_member_id_required_step() -> None:
    h = Harness()
    conn = h.join(instance_id="i0")
    h.advance(DELAY_MS)
    assert h.joined(conn).error_code == ErrorCode.NONE


def test_a_restarted_static_member_takes_its_place_back_without_a_rebalance() -> None:
    h = Harness()
    conns = [h.join(instance_id=f"i{n}") for n in range(2)]
    h.advance(2 * DELAY_MS)
    ids = [h.joined(c).member_id for c in conns]
    generation = h.joined(conns[0]).generation_id
    follower = h.sync(ids[1], generation, instance_id="i1")
    h.synced(h.sync(ids[0], generation, {ids[0]: b"p0", ids[1]: b"p1"}, instance_id="i0"))
    assert h.synced(follower).assignment == b"p1"
    # i1 restarts: it lost its member id, joins with its instance id only.
    back = h.joined(h.join(instance_id="i1"))
    assert back.error_code == ErrorCode.NONE
    assert back.member_id != ids[1]
    assert back.generation_id == generation
    assert h.group.state == GroupState.STABLE
    assert h.synced(h.sync(back.member_id, generation, instance_id="i1")).assignment == b"p1"
    # The old incarnation is fenced.
    assert h.heartbeat(ids[1], generation, instance_id="i1") == ErrorCode.FENCED_INSTANCE_ID


def test_a_restarted_static_member_with_new_subscription_bytes_keeps_its_place() -> None:
    # A restarted consumer's subscription differs in its bytes (it carries the member's
    # generation, -1 after a restart); Kafka rebalances only if the selected protocol changes.
    h = Harness()
    conns = [h.join(instance_id=f"i{n}", protocols=(("range", b"gen-1"),)) for n in range(2)]
    h.advance(2 * DELAY_MS)
    ids = [h.joined(c).member_id for c in conns]
    generation = h.joined(conns[0]).generation_id
    follower = h.sync(ids[1], generation, instance_id="i1")
    h.synced(h.sync(ids[0], generation, {ids[0]: b"p0", ids[1]: b"p1"}, instance_id="i0"))
    h.synced(follower)
    back = h.joined(h.join(instance_id="i1", protocols=(("range", b"gen--1"),)))
    assert back.error_code == ErrorCode.NONE
    assert back.generation_id == generation
    assert h.group.state == GroupState.STABLE
    assert h.synced(h.sync(back.member_id, generation, instance_id="i1")).assignment == b"p1"


def test_a_restarted_static_member_that_changes_the_selected_protocol_rebalances() -> None:
    h = Harness()
    conns = [
        h.join(instance_id=f"i{n}", protocols=(("range", b""), ("roundrobin", b"")))
        for n in range(2)
    ]
    h.advance(2 * DELAY_MS)
    ids = [h.joined(c).member_id for c in conns]
    generation = h.joined(conns[0]).generation_id
    follower = h.sync(ids[1], generation, instance_id="i1")
    h.synced(h.sync(ids[0], generation, {ids[0]: b"p0", ids[1]: b"p1"}, instance_id="i0"))
    h.synced(follower)
    h.join(instance_id="i1", protocols=(("roundrobin", b""),))  # range is no longer shared
    assert h.group.state == GroupState.PREPARING_REBALANCE


def test_a_static_member_rides_out_a_restart_shorter_than_its_session() -> None:
    h = Harness()
    conn = h.join(instance_id="i0")
    h.advance(DELAY_MS)
    m = h.joined(conn).member_id
    h.synced(h.sync(m, 1, {m: b"p"}, instance_id="i0"))
    h.advance(SESSION_MS - 1)  # down, no heartbeats
    back = h.joined(h.join(instance_id="i0"))
    assert back.generation_id == 1
    h.advance(SESSION_MS - 1)
    assert h.group.state == GroupState.STABLE and h.group.generation_id == 1
    h.advance(SESSION_MS)  # and now really gone
    assert h.group.state == GroupState.EMPTY


def test_the_protocol_every_member_supports_with_the_most_votes_is_chosen() -> None:
    h = Harness()
    prefs = [
        (("roundrobin", b""), ("range", b"")),
        (("range", b""), ("roundrobin", b"")),
        (("range", b""), ("roundrobin", b""), ("sticky", b"")),
    ]
    ids = [h.new_member(protocols=p) for p in prefs]
    conns = [h.join(m, protocols=p) for m, p in zip(ids, prefs, strict=True)]
    h.advance(3 * DELAY_MS)
    assert {h.joined(c).protocol_name for c in conns} == {"range"}


def test_a_member_with_no_protocol_in_common_is_refused_inconsistent_group_protocol() -> None:
    h = Harness()
    h.stable_group_of(1)
    refused = h.joined(h.join(protocols=(("cooperative-sticky", b""),)))
    assert refused.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL


def test_a_session_timeout_outside_the_brokers_bounds_is_refused() -> None:
    h = Harness()
    assert h.joined(h.join(session_ms=10)).error_code == ErrorCode.INVALID_SESSION_TIMEOUT


def commit(h: Harness, member_id: str = "", generation: int = -1) -> int | None:
    request = OffsetCommitRequest(
        group_id=GROUP, generation_id_or_member_epoch=generation, member_id=member_id
    )
    return h.coordinator.commit_error(h.now_ms, request)


def test_offset_commits_are_fenced_by_generation_and_refused_while_completing() -> None:
    h = Harness()
    assert commit(h) is None  # a simple commit creates an Empty group
    assert h.group.state == GroupState.EMPTY
    h.coordinator.groups.clear()
    (a, b), generation = h.stable_group_of(2)
    assert commit(h, a, generation) is None
    assert commit(h, a, generation - 1) == ErrorCode.ILLEGAL_GENERATION
    assert commit(h) == ErrorCode.UNKNOWN_MEMBER_ID  # members manage this group
    h.join(a)  # PreparingRebalance: the current generation may still commit (eager revoke)
    assert commit(h, b, generation) is None
    h.join(b)
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    assert commit(h, b, generation + 1) == ErrorCode.REBALANCE_IN_PROGRESS


def test_committed_offsets_are_seen_once_written() -> None:
    h = Harness()
    tp = TopicPartition("orders", 0)
    assert h.coordinator.committed(GROUP, tp) is None
    h.coordinator.offsets_committed(GROUP, {tp: CommittedOffset(42, metadata="m")})
    assert h.coordinator.committed(GROUP, tp) == CommittedOffset(42, metadata="m")


def test_describe_shows_assignments_once_stable_and_list_names_the_group() -> None:
    h = Harness()
    (a, b), _ = h.stable_group_of(2)
    described = h.coordinator.describe_group(GROUP)
    assert described.group_state == "Stable"
    assert described.protocol_type == "consumer" and described.protocol_data == "range"
    assert {(m.member_id, m.member_assignment) for m in described.members} == {
        (a, a.encode()),
        (b, b.encode()),
    }
    assert [g.group_id for g in h.coordinator.list_groups()] == [GROUP]
    assert h.coordinator.describe_group("nobody").group_state == "Dead"


def test_a_group_moved_to_another_coordinator_sends_its_waiting_members_there() -> None:
    h = Harness()
    ids = [h.new_member() for _ in range(2)]
    conns = [h.join(m) for m in ids]
    replies = h.coordinator.unload(h.now_ms, {GROUP})
    assert sorted(r.reply_to[0] for r in replies) == conns
    assert all(
        isinstance(r.response, JoinGroupResponse)
        and r.response.error_code == ErrorCode.NOT_COORDINATOR
        for r in replies
    )
    assert GROUP not in h.coordinator.groups


def test_a_move_the_state_table_does_not_list_is_refused() -> None:
    group = Group("g")
    with pytest.raises(IllegalTransitionError):
        group.transition(GroupState.STABLE, 0)  # Empty must rebalance first
    group.transition(GroupState.PREPARING_REBALANCE, 1)
    assert group.state_timestamp_ms == 1
    assert GroupState.EMPTY in TRANSITIONS[GroupState.PREPARING_REBALANCE]


def test_sync_group_is_answered_only_once_the_assignment_is_written() -> None:
    h = Harness(store_at_once=False)
    ids = [h.new_member() for _ in range(2)]
    conns = [h.join(m) for m in ids]
    h.advance(2 * DELAY_MS)
    generation = h.joined(conns[0]).generation_id
    follower = h.sync(ids[1], generation)
    leader = h.sync(ids[0], generation, {ids[0]: b"p0", ids[1]: b"p1"})
    assert h.answer(leader) is None and h.answer(follower) is None
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    h.settle_stores()
    assert (h.synced(leader).assignment, h.synced(follower).assignment) == (b"p0", b"p1")
    assert h.group.state == GroupState.STABLE


def test_a_failed_write_of_the_assignment_sends_the_members_back_to_rejoin() -> None:
    h = Harness(store_at_once=False)
    ids = [h.new_member() for _ in range(2)]
    conns = [h.join(m) for m in ids]
    h.advance(2 * DELAY_MS)
    generation = h.joined(conns[0]).generation_id
    follower = h.sync(ids[1], generation)
    leader = h.sync(ids[0], generation, {ids[0]: b"p0", ids[1]: b"p1"})
    h.settle_stores(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    assert h.synced(leader).error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
    assert h.synced(follower).assignment == b""
    assert h.group.state == GroupState.PREPARING_REBALANCE


def test_a_write_overtaken_by_a_rebalance_does_not_hold_up_the_next_generation() -> None:
    h = Harness(store_at_once=False)
    (a,) = [h.new_member()]
    ca = h.join(a)
    h.advance(DELAY_MS)
    first = h.joined(ca).generation_id
    h.sync(a, first, {a: b"old"})
    [(_, pending)] = h.coordinator.take_stores()  # the write of the first assignment, slow
    b = h.new_member()
    cb, ca = h.join(b), h.join(a)
    second = h.joined(ca).generation_id
    follower = h.sync(b, second)
    leader = h.sync(a, second, {a: b"p0", b: b"p1"})
    h.settle_stores()  # the second generation's write
    assert (h.synced(leader).assignment, h.synced(follower).assignment) == (b"p0", b"p1")
    late = h.coordinator.group_stored(h.now_ms, GROUP, pending, ErrorCode.NONE)
    assert late == [] and h.group.generation_id == second and h.group.state == GroupState.STABLE
    assert h.joined(cb).generation_id == second
