"""Tests for the RequestVote exercise: `python -m exercises check 06-request-vote`."""

from __future__ import annotations

from types import ModuleType

from reflog.raft.messages import RequestVote


def ask(term: int, candidate: str, last_log_term: int, last_log_index: int) -> RequestVote:
    return RequestVote(
        term=term,
        candidate_id=candidate,
        last_log_index=last_log_index,
        last_log_term=last_log_term,
    )


def test_a_stale_term_is_refused_and_changes_nothing(impl: ModuleType) -> None:
    assert impl.handle_request_vote(5, None, 4, 9, ask(4, "b", 4, 9)) == (5, None, False)
    assert impl.handle_request_vote(5, "a", 4, 9, ask(4, "b", 4, 20)) == (5, "a", False)


def test_a_first_request_in_the_term_is_granted(impl: ModuleType) -> None:
    assert impl.handle_request_vote(3, None, 2, 4, ask(3, "b", 2, 4)) == (3, "b", True)


def test_empty_logs_are_equally_up_to_date(impl: ModuleType) -> None:
    assert impl.handle_request_vote(0, None, 0, 0, ask(1, "b", 0, 0)) == (1, "b", True)


def test_one_vote_per_term(impl: ModuleType) -> None:
    assert impl.handle_request_vote(3, "a", 2, 4, ask(3, "b", 2, 4)) == (3, "a", False)


def test_the_same_candidate_asking_again_gets_the_same_answer(impl: ModuleType) -> None:
    assert impl.handle_request_vote(3, "a", 2, 4, ask(3, "a", 2, 4)) == (3, "a", True)


def test_the_last_term_decides_before_the_length(impl: ModuleType) -> None:
    # Our log: 5 entries, the last of term 3.
    assert impl.handle_request_vote(4, None, 3, 5, ask(4, "b", 4, 2)) == (4, "b", True)
    assert impl.handle_request_vote(4, None, 3, 5, ask(4, "c", 2, 10)) == (4, None, False)


def test_with_equal_last_terms_the_longer_log_wins(impl: ModuleType) -> None:
    assert impl.handle_request_vote(4, None, 3, 5, ask(4, "b", 3, 4)) == (4, None, False)
    assert impl.handle_request_vote(4, None, 3, 5, ask(4, "b", 3, 5)) == (4, "b", True)
    assert impl.handle_request_vote(4, None, 3, 5, ask(4, "b", 3, 6)) == (4, "b", True)


def test_a_higher_term_resets_the_vote(impl: ModuleType) -> None:
    assert impl.handle_request_vote(3, "a", 2, 4, ask(4, "b", 2, 4)) == (4, "b", True)


def test_a_higher_term_is_adopted_even_when_the_vote_is_refused(impl: ModuleType) -> None:
    # The candidate's log is behind: no vote, but our term moves up and the old vote is gone.
    assert impl.handle_request_vote(3, "a", 3, 7, ask(6, "b", 2, 9)) == (6, None, False)
