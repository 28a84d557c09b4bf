"""A reference solution (reflog's RaftNode._maybe_commit applies the same rule to its state)."""

from __future__ import annotations

__all__ = ["advance_commit_index"]


def advance_commit_index(
    log_terms: list[int], current_term: int, match_indexes: list[int], commit_index: int
) -> int:
    servers = len(match_indexes) + 1
    for n in range(len(log_terms), commit_index, -1):
        if log_terms[n - 1] != current_term:
            break  # terms only grow along a log: every lower entry is of an older term too
        replicas = 1 + sum(1 for match in match_indexes if match >= n)  # 1: the leader itself
        if 2 * replicas > servers:
            return n
    return commit_index
