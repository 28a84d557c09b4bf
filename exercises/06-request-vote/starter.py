"""Your RequestVote handler (see README.md)."""

from __future__ import annotations

from reflog.raft.messages import RequestVote


def handle_request_vote(
    current_term: int,
    voted_for: str | None,
    last_log_term: int,
    last_log_index: int,
    request: RequestVote,
) -> tuple[int, str | None, bool]:
    # A tempting mistake: "the longer log is more up to date". The last entry's term decides
    # first; the length only breaks a tie.
    raise NotImplementedError
