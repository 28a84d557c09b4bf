"""Raft's messages to and from reflog's typed wire messages (reflog.wire.messages.quorum).

The Raft core speaks in plain dataclasses with string node ids; on the wire a
controller is its integer node id and every message names its sender.
"""

from __future__ import annotations

from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RaftMessage,
    RequestVote,
    RequestVoteResponse,
    Snapshot,
)
from reflog.wire.messages.quorum import (
    RaftAppendEntriesRequest,
    RaftAppendEntriesResponse,
    RaftEntry,
    RaftInstallSnapshotRequest,
    RaftInstallSnapshotResponse,
    RaftVoteRequest,
    RaftVoteResponse,
)

__all__ = ["RAFT_WIRE_TYPES", "RaftWire", "from_wire", "to_wire"]

RaftWire = (
    RaftVoteRequest
    | RaftVoteResponse
    | RaftAppendEntriesRequest
    | RaftAppendEntriesResponse
    | RaftInstallSnapshotRequest
    | RaftInstallSnapshotResponse
)
RAFT_WIRE_TYPES = (
    RaftVoteRequest,
    RaftVoteResponse,
    RaftAppendEntriesRequest,
    RaftAppendEntriesResponse,
    RaftInstallSnapshotRequest,
    RaftInstallSnapshotResponse,
)


def to_wire(sender: int, msg: RaftMessage) -> RaftWire:
    if isinstance(msg, RequestVote):
        return RaftVoteRequest(
            sender=sender,
            term=msg.term,
            candidate_id=int(msg.candidate_id),
            last_log_index=msg.last_log_index,
            last_log_term=msg.last_log_term,
            pre_vote=msg.pre_vote,
        )
    if isinstance(msg, RequestVoteResponse):
        return RaftVoteResponse(
            sender=sender, term=msg.term, vote_granted=msg.vote_granted, pre_vote=msg.pre_vote
        )
    if isinstance(msg, AppendEntries):
        return RaftAppendEntriesRequest(
            sender=sender,
            term=msg.term,
            leader_id=int(msg.leader_id),
            prev_log_index=msg.prev_log_index,
            prev_log_term=msg.prev_log_term,
            entries=[RaftEntry(term=e.term, index=e.index, data=e.data) for e in msg.entries],
            leader_commit=msg.leader_commit,
        )
    if isinstance(msg, AppendEntriesResponse):
        return RaftAppendEntriesResponse(
            sender=sender,
            term=msg.term,
            success=msg.success,
            match_index=msg.match_index,
            conflict_index=msg.conflict_index,
        )
    if isinstance(msg, InstallSnapshot):
        return RaftInstallSnapshotRequest(
            sender=sender,
            term=msg.term,
            leader_id=int(msg.leader_id),
            last_index=msg.snapshot.last_index,
            last_term=msg.snapshot.last_term,
            data=msg.snapshot.data,
        )
    return RaftInstallSnapshotResponse(sender=sender, term=msg.term, match_index=msg.match_index)


def from_wire(w: RaftWire) -> tuple[int, RaftMessage]:
    """(sender, message) from a decoded wire message."""
    msg: RaftMessage
    if isinstance(w, RaftVoteRequest):
        msg = RequestVote(
            term=w.term,
            candidate_id=str(w.candidate_id),
            last_log_index=w.last_log_index,
            last_log_term=w.last_log_term,
            pre_vote=w.pre_vote,
        )
    elif isinstance(w, RaftVoteResponse):
        msg = RequestVoteResponse(term=w.term, vote_granted=w.vote_granted, pre_vote=w.pre_vote)
    elif isinstance(w, RaftAppendEntriesRequest):
        entries = tuple(Entry(term=e.term, index=e.index, data=bytes(e.data)) for e in w.entries)
        msg = AppendEntries(
            term=w.term,
            leader_id=str(w.leader_id),
            prev_log_index=w.prev_log_index,
            prev_log_term=w.prev_log_term,
            entries=entries,
            leader_commit=w.leader_commit,
        )
    elif isinstance(w, RaftAppendEntriesResponse):
        msg = AppendEntriesResponse(
            term=w.term,
            success=w.success,
            match_index=w.match_index,
            conflict_index=w.conflict_index,
        )
    elif isinstance(w, RaftInstallSnapshotRequest):
        snapshot = Snapshot(last_index=w.last_index, last_term=w.last_term, data=bytes(w.data))
        msg = InstallSnapshot(term=w.term, leader_id=str(w.leader_id), snapshot=snapshot)
    else:
        msg = InstallSnapshotResponse(term=w.term, match_index=w.match_index)
    return w.sender, msg
