"""Unit rules of the Raft core and its storage, without a network."""

from __future__ import annotations

import random
from pathlib import Path

from reflog.raft import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    FileRaftStorage,
    InstallSnapshot,
    InstallSnapshotResponse,
    MemoryRaftStorage,
    PersistentState,
    RaftConfig,
    RaftNode,
    RequestVote,
    RequestVoteResponse,
    Role,
    Snapshot,
)


def node(name: str = "a", log: list[Entry] | None = None, term: int = 0) -> RaftNode:
    state = PersistentState(current_term=term, log=list(log or []))
    return RaftNode(
        name, ["a", "b", "c"], RaftConfig(pre_vote=False), state, random.Random(1), now_ms=0
    )


def test_a_vote_goes_to_at_most_one_candidate_per_term() -> None:
    voter = node()
    first = voter.step(
        0, "b", RequestVote(term=1, candidate_id="b", last_log_index=0, last_log_term=0)
    )
    second = voter.step(
        0, "c", RequestVote(term=1, candidate_id="c", last_log_index=0, last_log_term=0)
    )
    assert first.messages == [("b", RequestVoteResponse(term=1, vote_granted=True))]
    assert second.messages == [("c", RequestVoteResponse(term=1, vote_granted=False))]
    assert first.hard_state == (1, "b")  # persisted before the answer leaves


def test_no_vote_for_a_candidate_with_a_less_up_to_date_log() -> None:
    voter = node(log=entries([1, 2]), term=2)
    ready = voter.step(
        0, "b", RequestVote(term=3, candidate_id="b", last_log_index=5, last_log_term=1)
    )
    assert ready.messages == [("b", RequestVoteResponse(term=3, vote_granted=False))]


def test_append_entries_with_a_gap_is_refused_with_where_to_back_up() -> None:
    follower = node(log=entries([1]), term=1)
    ready = follower.step(
        0,
        "b",
        AppendEntries(
            term=1, leader_id="b", prev_log_index=5, prev_log_term=1, entries=(), leader_commit=0
        ),
    )
    [(_, answer)] = ready.messages
    assert isinstance(answer, AppendEntriesResponse)
    assert not answer.success and answer.conflict_index == 2


def test_a_conflicting_suffix_is_truncated_and_replaced() -> None:
    follower = node(log=entries([1, 2, 2]), term=2)
    new = Entry(term=3, index=2, data=b"new")
    append = AppendEntries(
        term=3, leader_id="b", prev_log_index=1, prev_log_term=1, entries=(new,), leader_commit=2
    )
    ready = follower.step(0, "b", append)
    assert ready.truncate_from == 2
    assert ready.append == [new]
    assert [e.data for e in ready.committed] == [b"e1", b"new"]
    assert [e.data for e in follower.log] == [b"e1", b"new"]


def test_figure_8_a_leader_never_commits_an_old_terms_entry_by_counting() -> None:
    # Leader of term 4 whose log has an entry of term 2 on a majority: it must not commit it
    # until an entry of term 4 is replicated too.
    leader = node(log=entries([1, 2]), term=3)
    leader.step(0, "b", RequestVoteResponse(term=3, vote_granted=False))  # nothing
    leader.tick(10_000)  # election: term 4
    for peer in ("b", "c"):
        leader.step(10_000, peer, RequestVoteResponse(term=4, vote_granted=True))
    assert leader.role == Role.LEADER and leader.current_term == 4
    leader.step(10_001, "b", AppendEntriesResponse(term=4, success=True, match_index=2))
    assert leader.commit_index == 0  # index 2 is on a majority, but of term 2
    its_own_no_op = AppendEntriesResponse(term=4, success=True, match_index=3)
    ready = leader.step(10_002, "b", its_own_no_op)
    assert leader.commit_index == 3
    assert [e.index for e in ready.committed] == [1, 2, 3]


def test_file_storage_survives_a_torn_last_line(tmp_path: Path) -> None:
    storage = FileRaftStorage(tmp_path)
    storage.save_hard_state(7, "b")
    written = [Entry(term=7, index=1, data=b"\x00\x01"), Entry(term=7, index=2, data=b"two")]
    storage.append(written)
    with open(tmp_path / "raft-log.jsonl", "a") as f:
        f.write('{"term": 7, "index": 3, "da')  # a crash in the middle of a write
    state = FileRaftStorage(tmp_path).load()
    assert (state.current_term, state.voted_for) == (7, "b")
    assert state.log == written
    storage.truncate_from(2)
    assert FileRaftStorage(tmp_path).load().log == written[:1]


def entries(terms: list[int]) -> list[Entry]:
    return [Entry(term=term, index=i + 1, data=b"e%d" % (i + 1)) for i, term in enumerate(terms)]


def test_compact_drops_the_applied_prefix_and_keeps_indexes() -> None:
    follower = node(log=entries([1, 1, 1, 2, 2]), term=2)
    heartbeat = AppendEntries(
        term=2, leader_id="b", prev_log_index=5, prev_log_term=2, entries=(), leader_commit=4
    )
    follower.step(0, "b", heartbeat)
    ready = follower.compact(4, b"state@4")
    assert ready.snapshot == Snapshot(last_index=4, last_term=2, data=b"state@4")
    assert [e.index for e in follower.log] == [5]
    # The log still answers for index 4 through the snapshot: an append after it matches.
    append = AppendEntries(
        term=2,
        leader_id="b",
        prev_log_index=4,
        prev_log_term=2,
        entries=(Entry(term=2, index=5, data=b"e5"),),
        leader_commit=5,
    )
    ready = follower.step(0, "b", append)
    assert ready.messages == [("b", AppendEntriesResponse(term=2, success=True, match_index=5))]


def test_compact_refuses_an_index_not_yet_applied() -> None:
    follower = node(log=entries([1, 1]), term=1)
    try:
        follower.compact(2, b"")
    except ValueError:
        pass
    else:
        raise AssertionError("compacted past the applied index")


def test_a_leader_sends_its_snapshot_to_a_follower_behind_it() -> None:
    leader = node(log=entries([1, 1, 1]), term=1)
    leader.tick(10_000)  # election timeout: a candidate in term 2
    leader.step(10_000, "b", RequestVoteResponse(term=2, vote_granted=True))
    assert leader.role == Role.LEADER  # and it appended its no-op at index 4
    # A majority has index 4: it commits.
    leader.step(10_000, "b", AppendEntriesResponse(term=2, success=True, match_index=4))
    leader.compact(4, b"state@4")
    refusal = AppendEntriesResponse(term=2, success=False, match_index=0, conflict_index=1)
    ready = leader.step(10_000, "c", refusal)
    snapshot = Snapshot(last_index=4, last_term=2, data=b"state@4")
    assert ready.messages == [("c", InstallSnapshot(term=2, leader_id="a", snapshot=snapshot))]


def test_install_snapshot_replaces_a_conflicting_log() -> None:
    follower = node(log=entries([1, 1, 3]), term=3)
    snap = Snapshot(last_index=5, last_term=4, data=b"state@5")
    ready = follower.step(0, "b", InstallSnapshot(term=4, leader_id="b", snapshot=snap))
    assert ready.snapshot == snap and ready.install == snap  # persist it, and load it
    assert ready.truncate_from == 6  # nothing of the old log survives
    assert follower.log == [] and follower.commit_index == 5
    assert ready.messages == [("b", InstallSnapshotResponse(term=4, match_index=5))]


def test_install_snapshot_keeps_a_log_that_continues_past_it() -> None:
    follower = node(log=entries([1, 1, 1, 1]), term=1)
    snap = Snapshot(last_index=2, last_term=1, data=b"state@2")
    ready = follower.step(0, "b", InstallSnapshot(term=1, leader_id="b", snapshot=snap))
    assert ready.truncate_from is None
    assert [e.index for e in follower.log] == [3, 4]  # Figure 13, step 6


def test_memory_and_file_storage_keep_the_snapshot_and_the_entries_after_it(
    tmp_path: Path,
) -> None:
    for storage in (MemoryRaftStorage(), FileRaftStorage(tmp_path)):
        storage.append(entries([1, 1, 2, 2]))
        snap = Snapshot(last_index=2, last_term=1, data=b"state@2")
        storage.save_snapshot(snap)
        state = storage.load()
        assert state.snapshot == snap
        assert [e.index for e in state.log] == [3, 4]
        storage.truncate_from(4)
        assert [e.index for e in storage.load().log] == [3]


def test_file_storage_survives_a_crash_between_snapshot_and_log_rewrite(tmp_path: Path) -> None:
    storage = FileRaftStorage(tmp_path)
    storage.append(entries([1, 1, 2]))
    # The snapshot file is written first; simulate dying before the log was rewritten.
    (tmp_path / "raft-snapshot.json").write_text('{"last_index": 2, "last_term": 1, "data": "00"}')
    state = FileRaftStorage(tmp_path).load()
    assert state.snapshot == Snapshot(last_index=2, last_term=1, data=b"\x00")
    assert [e.index for e in state.log] == [3]  # entries the snapshot covers are skipped


def test_a_refusal_names_the_first_index_of_the_conflicting_term() -> None:
    """The thesis's faster backup (and etcd's): a follower whose entry at prev_log_index has
    another term answers with the first index of that term, so the leader skips the whole
    term in one round instead of one entry per round."""
    follower = node(log=entries([1, 1, 2, 2, 2, 2]), term=3)
    append = AppendEntries(
        term=3, leader_id="b", prev_log_index=6, prev_log_term=3, entries=(), leader_commit=0
    )
    ready = follower.step(0, "b", append)
    refusal = AppendEntriesResponse(term=3, success=False, match_index=0, conflict_index=3)
    assert ready.messages == [("b", refusal)]


def leader_with_a_snapshot_sent_to_c() -> RaftNode:
    """Leader "a" of term 2, its log compacted to a snapshot at 4, which it sent to "c"."""
    leader = node(log=entries([1, 1, 1]), term=1)
    leader.tick(10_000)  # a candidate in term 2
    leader.step(10_000, "b", RequestVoteResponse(term=2, vote_granted=True))
    leader.step(10_000, "b", AppendEntriesResponse(term=2, success=True, match_index=4))
    leader.compact(4, b"state@4")
    refusal = AppendEntriesResponse(term=2, success=False, match_index=0, conflict_index=1)
    [(_, sent)] = leader.step(10_000, "c", refusal).messages
    assert isinstance(sent, InstallSnapshot)
    return leader


def test_a_leader_counts_a_follower_that_installed_its_snapshot_as_matching_it() -> None:
    leader = leader_with_a_snapshot_sent_to_c()
    leader.step(10_000, "c", InstallSnapshotResponse(term=2, match_index=4))
    assert leader.match_index == {"b": 4, "c": 4}
    # A stale answer (an older, smaller snapshot) moves nothing back.
    leader.step(10_001, "c", InstallSnapshotResponse(term=2, match_index=2))
    assert leader.match_index["c"] == 4 and leader.next_index["c"] == 5


def test_a_lone_voter_stands_at_its_first_tick_and_others_wait_for_their_timeout() -> None:
    alone = RaftNode("a", ["a"], RaftConfig(), PersistentState(), random.Random(1), now_ms=0)
    alone.tick(0)
    assert alone.role == Role.LEADER and alone.current_term == 1
    one_of_three = RaftNode(
        "a", ["a", "b", "c"], RaftConfig(), PersistentState(), random.Random(1), now_ms=0
    )
    assert one_of_three.next_deadline_ms() >= RaftConfig().election_timeout_ms
    assert one_of_three.tick(0).messages == [] and one_of_three.role == Role.FOLLOWER


def test_by_default_a_node_asks_for_a_pre_vote_before_it_stands() -> None:
    """PreVote (KIP-996 in Kafka) is on unless turned off: a node whose election timer
    fires asks first, in the term it would stand in, and keeps its own term."""
    a = RaftNode("a", ["a", "b", "c"], RaftConfig(), PersistentState(), random.Random(1), 0)
    ready = a.tick(10_000)
    assert a.role == Role.PRE_CANDIDATE and a.current_term == 0
    ask = RequestVote(term=1, candidate_id="a", last_log_index=0, last_log_term=0, pre_vote=True)
    assert ready.messages == [("b", ask), ("c", ask)]


def test_an_append_reaching_back_into_the_snapshot_keeps_the_entries_after_it() -> None:
    """A leader that does not know the follower compacted sends from before its snapshot:
    what the snapshot holds is committed, so it is skipped, and the rest appended."""
    follower = node(log=entries([1, 1, 1, 1]), term=1)
    commit = AppendEntries(
        term=1, leader_id="b", prev_log_index=4, prev_log_term=1, entries=(), leader_commit=4
    )
    follower.step(0, "b", commit)
    follower.compact(4, b"state@4")
    overlapping = AppendEntries(
        term=1,
        leader_id="b",
        prev_log_index=2,
        prev_log_term=1,
        entries=tuple(entries([1, 1, 1, 1, 1, 1])[2:]),  # indexes 3 to 6
        leader_commit=4,
    )
    ready = follower.step(1, "b", overlapping)
    assert ready.messages == [("b", AppendEntriesResponse(term=1, success=True, match_index=6))]
    assert [e.index for e in follower.log] == [5, 6]


def test_in_a_cluster_of_four_two_votes_are_not_a_majority() -> None:
    """Half is not a majority: with four voters two candidates could each get two votes in
    the same term, so it takes three."""
    a = RaftNode(
        "a",
        ["a", "b", "c", "d"],
        RaftConfig(pre_vote=False),
        PersistentState(),
        random.Random(1),
        0,
    )
    a.tick(10_000)  # a candidate in term 1, with its own vote
    a.step(10_000, "b", RequestVoteResponse(term=1, vote_granted=True))
    assert a.role == Role.CANDIDATE
    a.step(10_000, "c", RequestVoteResponse(term=1, vote_granted=True))
    assert a.role == Role.LEADER


def test_a_leader_sends_its_snapshot_once_and_then_appends_after_it() -> None:
    leader = leader_with_a_snapshot_sent_to_c()
    heartbeat = leader.tick(leader.next_deadline_ms()).messages
    to_c = [message for to, message in heartbeat if to == "c"]
    assert to_c == [
        AppendEntries(
            term=2, leader_id="a", prev_log_index=4, prev_log_term=2, entries=(), leader_commit=4
        )
    ]


def test_a_late_snapshot_answer_to_a_leader_that_stepped_down_changes_nothing() -> None:
    leader = leader_with_a_snapshot_sent_to_c()
    newer = AppendEntries(
        term=3, leader_id="b", prev_log_index=4, prev_log_term=2, entries=(), leader_commit=4
    )
    leader.step(10_001, "b", newer)
    assert leader.role == Role.FOLLOWER
    ready = leader.step(10_002, "c", InstallSnapshotResponse(term=3, match_index=4))
    assert ready.messages == [] and leader.match_index["c"] == 0


def test_a_pre_vote_for_the_term_a_voter_is_already_in_is_refused() -> None:
    """A pre-vote asks "would you vote for me in the next term?": an asker one term behind
    names the voter's own term, and gets no."""
    voter = node(term=3)
    ask = RequestVote(term=3, candidate_id="b", last_log_index=0, last_log_term=0, pre_vote=True)
    ready = voter.step(10_000, "b", ask)  # no leader heard from: only the term decides
    refused = RequestVoteResponse(term=3, vote_granted=False, pre_vote=True)
    assert ready.messages == [("b", refused)]
    ask_next = RequestVote(
        term=4, candidate_id="b", last_log_index=0, last_log_term=0, pre_vote=True
    )
    assert voter.step(10_000, "b", ask_next).messages == [
        ("b", RequestVoteResponse(term=4, vote_granted=True, pre_vote=True))
    ]


def follower_with_its_own_snapshot_at_2() -> RaftNode:
    """A follower of term 1 with entries 1 to 6, the first two compacted into a snapshot."""
    follower = node(log=entries([1, 1, 1, 1, 1, 1]), term=1)
    commit = AppendEntries(
        term=1, leader_id="b", prev_log_index=6, prev_log_term=1, entries=(), leader_commit=2
    )
    follower.step(0, "b", commit)
    follower.compact(2, b"state@2")
    return follower


def test_a_newer_snapshot_keeps_the_log_past_it_on_a_follower_that_has_one() -> None:
    follower = follower_with_its_own_snapshot_at_2()
    snap = Snapshot(last_index=4, last_term=1, data=b"state@4")
    follower.step(1, "b", InstallSnapshot(term=1, leader_id="b", snapshot=snap))
    assert [e.index for e in follower.log] == [5, 6]


def test_a_conflicting_entry_after_a_snapshot_truncates_from_its_own_index() -> None:
    follower = follower_with_its_own_snapshot_at_2()
    newer = AppendEntries(
        term=2,
        leader_id="b",
        prev_log_index=3,
        prev_log_term=1,
        entries=(Entry(term=2, index=4, data=b"new"),),
        leader_commit=2,
    )
    ready = follower.step(1, "b", newer)
    assert ready.truncate_from == 4
    assert [(e.index, e.term) for e in follower.log] == [(3, 1), (4, 2)]


def test_compact_refuses_an_index_already_in_the_snapshot() -> None:
    follower = follower_with_its_own_snapshot_at_2()
    try:
        follower.compact(2, b"state@2 again")
    except ValueError:
        pass
    else:
        raise AssertionError("compacted to the snapshot it already has")


def test_a_stale_candidate_and_a_stale_leader_are_told_the_current_term() -> None:
    follower = node(term=3)
    vote = RequestVote(term=2, candidate_id="b", last_log_index=9, last_log_term=2)
    assert follower.step(0, "b", vote).messages == [
        ("b", RequestVoteResponse(term=3, vote_granted=False))
    ]
    append = AppendEntries(
        term=2, leader_id="c", prev_log_index=0, prev_log_term=0, entries=(), leader_commit=0
    )
    assert follower.step(0, "c", append).messages == [
        ("c", AppendEntriesResponse(term=3, success=False, match_index=0))
    ]


def test_in_a_cluster_of_four_an_entry_on_two_servers_is_not_committed() -> None:
    a = RaftNode(
        "a",
        ["a", "b", "c", "d"],
        RaftConfig(pre_vote=False),
        PersistentState(),
        random.Random(1),
        0,
    )
    a.tick(10_000)
    for voter in ("b", "c"):
        a.step(10_000, voter, RequestVoteResponse(term=1, vote_granted=True))
    assert a.role == Role.LEADER  # its no-op is entry 1
    a.step(10_001, "b", AppendEntriesResponse(term=1, success=True, match_index=1))
    assert a.commit_index == 0  # two of four
    a.step(10_001, "c", AppendEntriesResponse(term=1, success=True, match_index=1))
    assert a.commit_index == 1


def test_a_follower_refuses_to_truncate_an_entry_it_has_committed() -> None:
    """Leader Completeness makes this unreachable; the core checks it anyway, up to and
    including the commit index."""
    follower = node(log=entries([1, 1]), term=2)
    commit = AppendEntries(
        term=2, leader_id="b", prev_log_index=2, prev_log_term=1, entries=(), leader_commit=2
    )
    follower.step(0, "b", commit)
    rewrite = AppendEntries(
        term=2,
        leader_id="b",
        prev_log_index=1,
        prev_log_term=1,
        entries=(Entry(term=2, index=2, data=b"other"),),
        leader_commit=2,
    )
    try:
        follower.step(1, "b", rewrite)
    except AssertionError as error:
        assert "committed entry 2" in str(error)
    else:
        raise AssertionError("a committed entry was truncated")


def test_a_voter_ignores_candidates_for_an_election_timeout_after_hearing_a_leader() -> None:
    """CheckQuorum's lease (the thesis, §4.2.3): within the minimum election timeout of the
    leader's last append a vote request is ignored; from then on it is answered."""
    voter = node(term=1)
    heartbeat = AppendEntries(
        term=1, leader_id="b", prev_log_index=0, prev_log_term=0, entries=(), leader_commit=0
    )
    voter.step(100, "b", heartbeat)
    vote = RequestVote(term=2, candidate_id="c", last_log_index=0, last_log_term=0)
    timeout = RaftConfig().election_timeout_ms
    assert voter.step(100 + timeout - 1, "c", vote).messages == []
    assert voter.step(100 + timeout, "c", vote).messages == [
        ("c", RequestVoteResponse(term=2, vote_granted=True))
    ]
