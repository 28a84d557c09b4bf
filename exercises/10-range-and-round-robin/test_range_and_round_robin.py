"""Tests for the range and round-robin exercise: `python -m exercises check 10`."""

from __future__ import annotations

from types import ModuleType

BOTH = {"c0": ["t0", "t1"], "c1": ["t0", "t1"]}


def test_range_gives_each_member_a_contiguous_range(impl: ModuleType) -> None:
    assert impl.range_assign({"t": 6}, {"a": ["t"], "b": ["t"], "c": ["t"]}) == {
        "a": [("t", 0), ("t", 1)],
        "b": [("t", 2), ("t", 3)],
        "c": [("t", 4), ("t", 5)],
    }


def test_range_gives_the_first_members_one_more(impl: ModuleType) -> None:
    got = impl.range_assign({"t": 7}, {"c": ["t"], "a": ["t"], "b": ["t"]})
    assert got["a"] == [("t", 0), ("t", 1), ("t", 2)]
    assert got["b"] == [("t", 3), ("t", 4)]
    assert got["c"] == [("t", 5), ("t", 6)]


def test_range_splits_each_topic_on_its_own(impl: ModuleType) -> None:
    # Kafka's documented example: the first member gets the extra partition of both topics.
    got = impl.range_assign({"t0": 3, "t1": 3}, BOTH)
    assert got["c0"] == [("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)]
    assert got["c1"] == [("t0", 2), ("t1", 2)]


def test_range_splits_a_topic_only_among_its_subscribers(impl: ModuleType) -> None:
    got = impl.range_assign({"x": 2, "y": 2}, {"a": ["x"], "b": ["x", "y"]})
    assert got == {"a": [("x", 0)], "b": [("x", 1), ("y", 0), ("y", 1)]}


def test_a_member_with_nothing_is_still_listed(impl: ModuleType) -> None:
    assert impl.range_assign({"t": 1}, {"a": ["t"], "b": ["t"]}) == {"a": [("t", 0)], "b": []}
    assert impl.roundrobin_assign({"t": 1}, {"a": ["t"], "b": ["t"]}) == {"a": [("t", 0)], "b": []}


def test_round_robin_deals_all_partitions_in_turn(impl: ModuleType) -> None:
    # Kafka's documented example: round-robin evens out what range gave c0.
    got = impl.roundrobin_assign({"t0": 3, "t1": 3}, BOTH)
    assert got["c0"] == [("t0", 0), ("t0", 2), ("t1", 1)]
    assert got["c1"] == [("t0", 1), ("t1", 0), ("t1", 2)]


def test_round_robin_skips_members_not_reading_the_topic(impl: ModuleType) -> None:
    subscriptions = {"c0": ["t0"], "c1": ["t0", "t1"], "c2": ["t0", "t1", "t2"]}
    got = impl.roundrobin_assign({"t0": 1, "t1": 2, "t2": 3}, subscriptions)
    assert got == {
        "c0": [("t0", 0)],
        "c1": [("t1", 0)],
        "c2": [("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)],
    }


def test_round_robin_ignores_topics_that_do_not_exist(impl: ModuleType) -> None:
    got = impl.roundrobin_assign({"t": 2}, {"a": ["t", "missing"], "b": ["t"]})
    assert got == {"a": [("t", 0)], "b": [("t", 1)]}
