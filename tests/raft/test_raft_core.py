"""Unit rules of the Raft core and its storage, without a network."""

from __future__ import annotations

import random
from pathlib import Path

from reflog.raft import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    FileRaftStorage,
    PersistentState,
    RaftConfig,
    RaftNode,
    RequestVote,
    RequestVoteResponse,
    Role,
)


def node(name: str = "a", log: list[Entry] | None = None, term: int = 0) -> RaftNode:
    state = PersistentState(current_term=term, log=list(log or []))
    return RaftNode(
        name, ["a", "b", "c"], RaftConfig(pre_vote=False), state, random.Random(1), now_ms=0
    )


def test_a_vote_goes_to_at_most_one_candidate_per_term() -> None:
    voter = node()
    first = voter.step(0, "b", RequestVote(1, "b", 0, 0))
    second = voter.step(0, "c", RequestVote(1, "c", 0, 0))
    assert first.messages == [("b", RequestVoteResponse(1, True))]
    assert second.messages == [("c", RequestVoteResponse(1, False))]
    assert first.hard_state == (1, "b")  # persisted before the answer leaves


def test_no_vote_for_a_candidate_with_a_less_up_to_date_log() -> None:
    voter = node(log=[Entry(1, 1, b"x"), Entry(2, 2, b"y")], term=2)
    ready = voter.step(0, "b", RequestVote(3, "b", last_log_index=5, last_log_term=1))
    assert ready.messages == [("b", RequestVoteResponse(3, False))]


def test_append_entries_with_a_gap_is_refused_with_where_to_back_up() -> None:
    follower = node(log=[Entry(1, 1, b"x")], term=1)
    ready = follower.step(
        0,
        "b",
        AppendEntries(1, "b", prev_log_index=5, prev_log_term=1, entries=(), leader_commit=0),
    )
    [(_, answer)] = ready.messages
    assert isinstance(answer, AppendEntriesResponse)
    assert not answer.success and answer.conflict_index == 2


def test_a_conflicting_suffix_is_truncated_and_replaced() -> None:
    follower = node(log=[Entry(1, 1, b"a"), Entry(2, 2, b"stale"), Entry(2, 3, b"stale")], term=2)
    ready = follower.step(
        0, "b", AppendEntries(3, "b", 1, 1, (Entry(3, 2, b"new"),), leader_commit=2)
    )
    assert ready.truncate_from == 2
    assert ready.append == [Entry(3, 2, b"new")]
    assert [e.data for e in ready.committed] == [b"a", b"new"]
    assert [e.data for e in follower.log] == [b"a", b"new"]


def test_figure_8_a_leader_never_commits_an_old_terms_entry_by_counting() -> None:
    # Leader of term 4 whose log has an entry of term 2 on a majority: it must not commit it
    # until an entry of term 4 is replicated too.
    leader = node(log=[Entry(1, 1, b"x"), Entry(2, 2, b"old")], term=3)
    leader.step(0, "b", RequestVoteResponse(3, False))  # nothing
    leader.tick(10_000)  # election: term 4
    for peer in ("b", "c"):
        leader.step(10_000, peer, RequestVoteResponse(4, True))
    assert leader.role == Role.LEADER and leader.current_term == 4
    leader.step(10_001, "b", AppendEntriesResponse(4, True, match_index=2))
    assert leader.commit_index == 0  # index 2 is on a majority, but of term 2
    ready = leader.step(10_002, "b", AppendEntriesResponse(4, True, match_index=3))  # its own no-op
    assert leader.commit_index == 3
    assert [e.index for e in ready.committed] == [1, 2, 3]


def test_file_storage_survives_a_torn_last_line(tmp_path: Path) -> None:
    storage = FileRaftStorage(tmp_path)
    storage.save_hard_state(7, "b")
    storage.append([Entry(7, 1, b"\x00\x01"), Entry(7, 2, b"two")])
    with open(tmp_path / "raft-log.jsonl", "a") as f:
        f.write('{"term": 7, "index": 3, "da')  # a crash in the middle of a write
    state = FileRaftStorage(tmp_path).load()
    assert (state.current_term, state.voted_for) == (7, "b")
    assert state.log == [Entry(7, 1, b"\x00\x01"), Entry(7, 2, b"two")]
    storage.truncate_from(2)
    assert FileRaftStorage(tmp_path).load().log == [Entry(7, 1, b"\x00\x01")]
