"""Tests for the commit-rule exercise: `python -m exercises check 07-commit-rule`."""

from __future__ import annotations

from types import ModuleType


def test_an_entry_on_a_majority_commits(impl: ModuleType) -> None:
    # Five servers: the leader and two followers make three.
    assert impl.advance_commit_index([1, 1, 1], 1, [3, 3, 0, 0], 0) == 3


def test_an_entry_on_a_minority_does_not(impl: ModuleType) -> None:
    assert impl.advance_commit_index([1, 1, 1], 1, [3, 0, 0, 0], 0) == 0


def test_the_highest_index_on_a_majority_commits(impl: ModuleType) -> None:
    # Index 3 is on the leader and one follower (2 of 5); index 2 on three servers.
    assert impl.advance_commit_index([1, 1, 1], 1, [2, 3, 1, 0], 0) == 2


def test_the_leader_counts_itself(impl: ModuleType) -> None:
    assert impl.advance_commit_index([1, 1], 1, [2, 0], 0) == 2  # two of three


def test_an_even_cluster_needs_more_than_half(impl: ModuleType) -> None:
    # Four servers: two is half, not a majority.
    assert impl.advance_commit_index([1, 1], 1, [2, 0, 0], 0) == 0
    assert impl.advance_commit_index([1, 1], 1, [2, 2, 0], 0) == 2


def test_figure_8_an_older_terms_entry_on_a_majority_does_not_commit(impl: ModuleType) -> None:
    # The leader of term 4 holds [1, 2, 4]; index 2 (term 2) is on three of five servers.
    # Counting would commit it, yet a server holding a term-3 entry there could still win an
    # election and overwrite it. Only an entry of the current term commits by counting.
    assert impl.advance_commit_index([1, 2, 4], 4, [2, 2, 1, 1], 1) == 1


def test_figure_8_a_current_entry_on_a_majority_commits_the_older_ones_too(
    impl: ModuleType,
) -> None:
    assert impl.advance_commit_index([1, 2, 4], 4, [3, 3, 1, 1], 1) == 3


def test_a_new_leader_commits_nothing_before_an_entry_of_its_term(impl: ModuleType) -> None:
    # Everything is everywhere, but all of it from earlier terms.
    assert impl.advance_commit_index([1, 1, 2, 2], 3, [4, 4, 4, 4], 0) == 0
    # Its empty entry of term 3 on a majority commits the whole log.
    assert impl.advance_commit_index([1, 1, 2, 2, 3], 3, [5, 5, 4, 4], 0) == 5


def test_the_commit_index_never_goes_back(impl: ModuleType) -> None:
    # A follower that restarted reports a low match index; what is committed stays committed.
    assert impl.advance_commit_index([1, 1, 1, 1], 1, [0, 0, 4, 0], 3) == 3
