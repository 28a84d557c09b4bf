"""The reference answer: reflog's own Raft core, fed one RequestVote."""

from __future__ import annotations

import random

from reflog.raft.core import RaftConfig, RaftNode
from reflog.raft.messages import Entry, RequestVote, RequestVoteResponse
from reflog.raft.storage import PersistentState

__all__ = ["handle_request_vote"]


def handle_request_vote(
    current_term: int,
    voted_for: str | None,
    last_log_term: int,
    last_log_index: int,
    request: RequestVote,
) -> tuple[int, str | None, bool]:
    me = "voter" if request.candidate_id != "voter" else "voter-2"
    # Only the last entry matters to the vote: a log of last_log_index entries of last_log_term.
    log = [Entry(term=last_log_term, index=i, data=b"") for i in range(1, last_log_index + 1)]
    node = RaftNode(
        me,
        [me, request.candidate_id],
        RaftConfig(pre_vote=False),
        PersistentState(current_term, voted_for, log),
        random.Random(0),
        now_ms=0,
    )
    ready = node.step(0, request.candidate_id, request)
    granted = any(
        isinstance(message, RequestVoteResponse) and message.vote_granted
        for _, message in ready.messages
    )
    return node.current_term, node.voted_for, granted
