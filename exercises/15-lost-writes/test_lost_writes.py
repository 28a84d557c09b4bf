"""Tests for the lost-write exercise: `python -m exercises check 15-lost-writes`."""

from __future__ import annotations

from types import ModuleType

from reflog.check import History
from reflog.topic_partition import TopicPartition

TP = TopicPartition("r", 0)
OTHER = TopicPartition("r", 1)


def acknowledged(history: History, value: bytes, offset: int, tp: TopicPartition = TP) -> int:
    index = history.invoke_send("producer", tp, [value], 0)
    history.acknowledged(index, offset=offset, now_ms=1)
    return index


def found(impl: ModuleType, history: History) -> list[tuple[str, int, int]]:
    return sorted(impl.lost_writes(history))


def test_everything_read_is_nothing_lost(impl: ModuleType) -> None:
    h = History()
    acknowledged(h, b"a", 0)
    acknowledged(h, b"b", 1)
    h.poll("reader", [(TP, 0, b"a"), (TP, 1, b"b")], 2)
    assert found(impl, h) == []


def test_a_reader_past_the_offset_that_never_saw_the_value_means_lost(impl: ModuleType) -> None:
    h = History()
    a = acknowledged(h, b"a", 0)
    acknowledged(h, b"b", 1)
    h.poll("reader", [(TP, 1, b"b")], 2)
    assert found(impl, h) == [("lost-write", a, 0)]


def test_an_offset_reused_by_another_value_does_not_hide_the_loss(impl: ModuleType) -> None:
    # The KIP-101 story: b was acknowledged at 1, truncated away, and c written at 1.
    h = History()
    acknowledged(h, b"a", 0)
    b = acknowledged(h, b"b", 1)
    acknowledged(h, b"c", 1)
    h.poll("reader", [(TP, 0, b"a"), (TP, 1, b"c")], 2)
    assert found(impl, h) == [("lost-write", b, 1)]


def test_a_value_read_at_another_offset_is_not_lost(impl: ModuleType) -> None:
    # Duplicates and reordering are other checks; the value itself was read.
    h = History()
    a = acknowledged(h, b"a", 0)
    assert a == 0
    h.poll("reader", [(TP, 3, b"a")], 2)
    assert found(impl, h) == []


def test_past_the_last_read_is_unseen_not_lost(impl: ModuleType) -> None:
    h = History()
    acknowledged(h, b"a", 0)
    b = acknowledged(h, b"b", 1)
    h.poll("reader", [(TP, 0, b"a")], 2)
    assert found(impl, h) == [("unseen", b, 1)]


def test_refused_and_unanswered_sends_promise_nothing(impl: ModuleType) -> None:
    h = History()
    refused = h.invoke_send("producer", TP, [b"x"], 0)
    h.failed(refused, "NOT_ENOUGH_REPLICAS", 1, definite=True)
    h.invoke_send("producer", TP, [b"y"], 2)  # never answered
    acknowledged(h, b"a", 0)
    h.poll("reader", [(TP, 0, b"a")], 3)
    assert found(impl, h) == []


def test_each_value_of_a_batch_at_its_own_offset(impl: ModuleType) -> None:
    h = History()
    index = h.invoke_send("producer", TP, [b"a", b"b", b"c"], 0)
    h.acknowledged(index, offset=4, now_ms=1)
    h.poll("reader", [(TP, 4, b"a"), (TP, 6, b"c")], 2)
    assert found(impl, h) == [("lost-write", index, 5)]


def test_partitions_are_judged_apart(impl: ModuleType) -> None:
    # Reading partition 1 far ahead says nothing about partition 0.
    h = History()
    a = acknowledged(h, b"a", 0)
    acknowledged(h, b"z", 0, OTHER)
    h.poll("reader", [(OTHER, 0, b"z"), (OTHER, 9, b"q")], 2)
    assert found(impl, h) == [("unseen", a, 0)]
