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


def entries(terms: list[int]) -> list[Entry]:
    return [Entry(term, i + 1, b"e%d" % (i + 1)) for i, term in enumerate(terms)]


def test_compact_drops_the_applied_prefix_and_keeps_indexes() -> None:
    follower = node(log=entries([1, 1, 1, 2, 2]), term=2)
    follower.step(0, "b", AppendEntries(2, "b", 5, 2, (), leader_commit=4))
    ready = follower.compact(4, b"state@4")
    assert ready.snapshot == Snapshot(4, 2, b"state@4")
    assert [e.index for e in follower.log] == [5]
    # The log still answers for index 4 through the snapshot: an append after it matches.
    ready = follower.step(0, "b", AppendEntries(2, "b", 4, 2, (Entry(2, 5, b"e5"),), 5))
    assert ready.messages == [("b", AppendEntriesResponse(2, True, 5))]


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
    leader.step(10_000, "b", RequestVoteResponse(2, True))
    assert leader.role == Role.LEADER  # and it appended its no-op at index 4
    leader.step(10_000, "b", AppendEntriesResponse(2, True, 4))  # a majority: 4 commits
    leader.compact(4, b"state@4")
    ready = leader.step(10_000, "c", AppendEntriesResponse(2, False, 0, conflict_index=1))
    assert ready.messages == [("c", InstallSnapshot(2, "a", Snapshot(4, 2, b"state@4")))]


def test_install_snapshot_replaces_a_conflicting_log() -> None:
    follower = node(log=entries([1, 1, 3]), term=3)
    snap = Snapshot(5, 4, b"state@5")
    ready = follower.step(0, "b", InstallSnapshot(4, "b", snap))
    assert ready.snapshot == snap and ready.install == snap  # persist it, and load it
    assert ready.truncate_from == 6  # nothing of the old log survives
    assert follower.log == [] and follower.commit_index == 5
    assert ready.messages == [("b", InstallSnapshotResponse(4, 5))]


def test_install_snapshot_keeps_a_log_that_continues_past_it() -> None:
    follower = node(log=entries([1, 1, 1, 1]), term=1)
    ready = follower.step(0, "b", InstallSnapshot(1, "b", Snapshot(2, 1, b"state@2")))
    assert ready.truncate_from is None
    assert [e.index for e in follower.log] == [3, 4]  # Figure 13, step 6


def test_memory_and_file_storage_keep_the_snapshot_and_the_entries_after_it(
    tmp_path: Path,
) -> None:
    for storage in (MemoryRaftStorage(), FileRaftStorage(tmp_path)):
        storage.append(entries([1, 1, 2, 2]))
        storage.save_snapshot(Snapshot(2, 1, b"state@2"))
        state = storage.load()
        assert state.snapshot == Snapshot(2, 1, b"state@2")
        assert [e.index for e in state.log] == [3, 4]
        storage.truncate_from(4)
        assert [e.index for e in storage.load().log] == [3]


def test_file_storage_survives_a_crash_between_snapshot_and_log_rewrite(tmp_path: Path) -> None:
    storage = FileRaftStorage(tmp_path)
    storage.append(entries([1, 1, 2]))
    # The snapshot file is written first; simulate dying before the log was rewritten.
    (tmp_path / "raft-snapshot.json").write_text('{"last_index": 2, "last_term": 1, "data": "00"}')
    state = FileRaftStorage(tmp_path).load()
    assert state.snapshot == Snapshot(2, 1, b"\x00")
    assert [e.index for e in state.log] == [3]  # entries the snapshot covers are skipped
