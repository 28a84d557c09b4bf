"""The reference answer: reflog's own Raft core (RaftNode._maybe_commit), on a leader in the
state the exercise describes."""

from __future__ import annotations

import random

from reflog.raft.core import RaftConfig, RaftNode, Role
from reflog.raft.messages import Entry
from reflog.raft.storage import PersistentState

__all__ = ["advance_commit_index"]


def advance_commit_index(
    log_terms: list[int], current_term: int, match_indexes: list[int], commit_index: int
) -> int:
    followers = [f"follower-{i}" for i in range(len(match_indexes))]
    log = [Entry(term=term, index=i, data=b"") for i, term in enumerate(log_terms, start=1)]
    node = RaftNode(
        "leader",
        ["leader", *followers],
        RaftConfig(),
        PersistentState(current_term, "leader", log),
        random.Random(0),
        now_ms=0,
    )
    # A RaftNode gets here by winning an election and hearing from its followers; the
    # exercise hands over that state directly (an election would append an entry of its own).
    node.role = Role.LEADER
    node.commit_index = node.applied_index = commit_index
    node.match_index = dict(zip(followers, match_indexes, strict=True))
    node.next_index = {f: match + 1 for f, match in node.match_index.items()}
    node._maybe_commit()  # what the leader runs after every successful AppendEntries answer
    return node.commit_index
