"""Raft's messages (Figures 2 and 13 of the paper, plus PreVote from Ongaro's thesis §9.6).

Frozen dataclasses: the core receives and returns them; a runtime carries them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AppendEntries",
    "AppendEntriesResponse",
    "Entry",
    "InstallSnapshot",
    "InstallSnapshotResponse",
    "RaftMessage",
    "RequestVote",
    "RequestVoteResponse",
    "Snapshot",
]


@dataclass(frozen=True, kw_only=True)
class Entry:
    term: int
    index: int
    data: bytes


@dataclass(frozen=True, kw_only=True)
class RequestVote:
    term: int
    candidate_id: str
    last_log_index: int
    last_log_term: int
    # A pre-vote asks "would you vote for me?" without anyone changing term (thesis §9.6).
    pre_vote: bool = False


@dataclass(frozen=True, kw_only=True)
class RequestVoteResponse:
    term: int
    vote_granted: bool
    pre_vote: bool = False


@dataclass(frozen=True, kw_only=True)
class AppendEntries:
    term: int
    leader_id: str
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int


@dataclass(frozen=True, kw_only=True)
class AppendEntriesResponse:
    term: int
    success: bool
    # On success: the last index now known to match the leader's log.
    match_index: int
    # On failure, where the leader should back up to (the fast backup of the 6.5840 lab):
    # the first index of the conflicting term, or the follower's log length + 1.
    conflict_index: int = 0


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The state machine as of ``last_index`` (Figure 12): it replaces the log up to there."""

    last_index: int
    last_term: int
    data: bytes


@dataclass(frozen=True, kw_only=True)
class InstallSnapshot:
    """Figure 13, sent whole: reflog's snapshots are small, so there is no ``offset``/``done``."""

    term: int
    leader_id: str
    snapshot: Snapshot


@dataclass(frozen=True, kw_only=True)
class InstallSnapshotResponse:
    term: int
    # The follower's log now matches the leader's up to here (the snapshot's last index).
    match_index: int


RaftMessage = (
    RequestVote
    | RequestVoteResponse
    | AppendEntries
    | AppendEntriesResponse
    | InstallSnapshot
    | InstallSnapshotResponse
)
