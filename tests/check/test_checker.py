"""The checker on hand-made histories: each anomaly is found and points at its operations,
and clean histories pass (so the checker can both fail and pass)."""

from __future__ import annotations

import pytest

from reflog.check import History, Outcome, Send, check
from reflog.topic_partition import TopicPartition

TP = TopicPartition("t", 0)
OTHER = TopicPartition("t", 1)


def acked(
    history: History, value: bytes, offset: int, process: str = "p", tp: TopicPartition = TP
) -> int:
    index = history.invoke_send(process, tp, [value], now_ms=len(history))
    history.acknowledged(index, offset, now_ms=len(history))
    return index


def poll(
    history: History, *pairs: tuple[int, bytes], process: str = "c", tp: TopicPartition = TP
) -> int:
    return history.poll(process, [(tp, offset, value) for offset, value in pairs], len(history))


def clean_history() -> History:
    """Two producers, two partitions, a consumer reading everything in order across polls,
    a failed send nobody reads, an unanswered send, and commits moving forward."""
    h = History()
    acked(h, b"a", 0)
    acked(h, b"b", 1, process="q")
    acked(h, b"x", 0, tp=OTHER)
    failed = h.invoke_send("p", TP, [b"refused"], now_ms=3)
    h.failed(failed, "NOT_LEADER_OR_FOLLOWER", now_ms=4, definite=True)
    h.invoke_send("p", TP, [b"in-doubt"], now_ms=5)  # never answered
    batch = h.invoke_send("p", TP, [b"c", b"d"], now_ms=6)
    h.acknowledged(batch, 3, now_ms=7)  # offset 2 holds a record nobody acknowledged
    poll(h, (0, b"a"), (1, b"b"))
    h.poll("c", [(OTHER, 0, b"x"), (TP, 2, b"in-doubt")], 9)
    poll(h, (3, b"c"), (4, b"d"))
    h.commit("c", "g", TP, 2, 11, completed_ms=12)
    h.commit("c", "g", TP, 5, 13, completed_ms=14)
    h.commit("c", "g", TP, 1, 15, completed_ms=16, error="REBALANCE_IN_PROGRESS")  # not committed
    return h


def test_a_clean_history_is_valid() -> None:
    verdict = check(clean_history())
    assert verdict.anomalies == ()
    assert verdict.valid
    assert verdict.describe() == "valid: no anomaly"


def test_an_empty_history_is_valid() -> None:
    assert check(History()).valid


def test_an_acknowledged_write_never_read_though_polls_went_past_it_is_a_lost_write() -> None:
    h = History()
    acked(h, b"a", 0)
    lost = acked(h, b"b", 1)
    acked(h, b"c", 2)
    reader = poll(h, (0, b"a"), (2, b"c"))
    verdict = check(h)
    assert "lost-write" in verdict.kinds
    [anomaly] = verdict.of_kind("lost-write")
    assert anomaly.tp == TP and anomaly.offsets == (1,)
    assert anomaly.ops == (lost, reader)
    assert not verdict.valid


def test_a_write_overwritten_at_its_offset_is_lost_and_inconsistent() -> None:
    """What the pre-KIP-101 truncation did: the acknowledged record's offset got a new value."""
    h = History()
    lost = acked(h, b"a", 0)
    other = acked(h, b"b", 0, process="q")  # a new leader gave offset 0 again
    reader = poll(h, (0, b"b"))
    verdict = check(h)
    assert verdict.kinds == ["inconsistent-offsets", "lost-write"]
    [inconsistent] = verdict.of_kind("inconsistent-offsets")
    assert inconsistent.offsets == (0,) and inconsistent.ops == (lost, other, reader)


def test_an_acknowledged_write_beyond_every_read_is_unseen() -> None:
    h = History()
    acked(h, b"a", 0)
    late = acked(h, b"b", 1)
    poll(h, (0, b"a"))
    verdict = check(h)
    assert verdict.kinds == ["unseen"]
    assert verdict.of_kind("unseen")[0].ops == (late,)
    assert check(h, allowed={"unseen"}).valid


def test_a_write_acknowledged_without_an_offset_counts_once_read_and_is_unseen_if_not() -> None:
    """An idempotent producer's batch acknowledged by a later batch's answer has no offset:
    read anywhere it is fine; never read, it is unseen."""
    h = History()
    read = h.invoke_send("p", TP, [b"a"], now_ms=0)
    h.acknowledged(read, None, now_ms=1)
    never = h.invoke_send("p", TP, [b"b"], now_ms=2)
    h.acknowledged(never, None, now_ms=3)
    acked(h, b"c", 2)
    poll(h, (0, b"a"), (2, b"c"))
    verdict = check(h)
    assert verdict.kinds == ["unseen"]
    [unseen] = verdict.of_kind("unseen")
    assert unseen.ops == (never,) and unseen.offsets == ()


def test_one_value_at_two_offsets_is_a_duplicate() -> None:
    h = History()
    first = acked(h, b"a", 0)
    retry = acked(h, b"a", 1)  # a retried send without idempotence written twice
    reader = poll(h, (0, b"a"), (1, b"a"))
    [duplicate] = check(h).of_kind("duplicate")
    assert duplicate.offsets == (0, 1)
    assert duplicate.ops == (first, retry, reader)
    assert check(h).kinds == ["duplicate"]


def test_two_polls_reading_different_values_at_one_offset_are_inconsistent() -> None:
    h = History()
    one = poll(h, (0, b"a"), process="c1")
    two = poll(h, (0, b"z"), process="c2")
    verdict = check(h)
    assert verdict.kinds == ["inconsistent-offsets"]
    assert verdict.anomalies[0].ops == (one, two)


def test_reading_a_value_whose_send_was_refused_is_an_aborted_read() -> None:
    h = History()
    refused = h.invoke_send("p", TP, [b"a"], now_ms=0)
    h.failed(refused, "NOT_ENOUGH_REPLICAS", now_ms=1, definite=True)
    reader = poll(h, (0, b"a"))
    verdict = check(h)
    assert verdict.kinds == ["G1a"]
    assert verdict.anomalies[0].ops == (refused, reader)


def test_reading_a_value_whose_send_was_indeterminate_is_fine() -> None:
    h = History()
    timed_out = h.invoke_send("p", TP, [b"a"], now_ms=0)
    h.failed(timed_out, "REQUEST_TIMED_OUT", now_ms=1, definite=False)
    poll(h, (0, b"a"))
    assert h[timed_out].outcome is Outcome.INFO  # type: ignore[union-attr]
    assert check(h).valid


def test_a_gap_inside_one_poll_over_a_known_record_is_an_internal_poll_skip() -> None:
    h = History()
    for offset, value in enumerate([b"a", b"b", b"c", b"d"]):
        acked(h, value, offset)
    skipping = poll(h, (0, b"a"), (3, b"d"))
    poll(h, (1, b"b"), (2, b"c"), process="other")
    verdict = check(h)
    assert verdict.kinds == ["int-poll-skip"]
    [skip] = verdict.anomalies
    assert skip.offsets == (1, 2) and skip.ops == (skipping,)


def test_a_gap_between_two_polls_of_one_consumer_is_a_poll_skip() -> None:
    h = History()
    for offset, value in enumerate([b"a", b"b", b"c"]):
        acked(h, value, offset)
    first = poll(h, (0, b"a"))
    second = poll(h, (2, b"c"))
    poll(h, (1, b"b"), process="other")
    verdict = check(h)
    assert verdict.kinds == ["poll-skip"]
    assert verdict.anomalies[0].ops == (first, second)
    assert verdict.anomalies[0].offsets == (1,)


def test_a_gap_no_known_record_lies_in_is_no_skip() -> None:
    """Transaction markers and compaction leave offsets without records: only offsets some
    operation named count, as in Jepsen's version order."""
    h = History()
    acked(h, b"a", 0)
    acked(h, b"b", 5)
    poll(h, (0, b"a"))
    poll(h, (5, b"b"))
    assert check(h).valid


def test_reading_backwards_inside_a_poll_and_across_polls_is_nonmonotonic() -> None:
    h = History()
    acked(h, b"a", 0)
    acked(h, b"b", 1)
    backwards = poll(h, (1, b"b"), (0, b"a"))
    again = poll(h, (0, b"a"))
    verdict = check(h)
    assert verdict.kinds == ["int-nonmonotonic-poll", "nonmonotonic-poll"]
    assert verdict.of_kind("int-nonmonotonic-poll")[0].ops == (backwards,)
    assert verdict.of_kind("nonmonotonic-poll")[0].ops == (backwards, again)


def test_an_assignment_lets_the_next_poll_start_anywhere() -> None:
    h = History()
    for offset, value in enumerate([b"a", b"b", b"c"]):
        acked(h, value, offset)
    poll(h, (0, b"a"), (1, b"b"), (2, b"c"))
    h.assign("c", [TP], now_ms=10)  # seek to the beginning
    poll(h, (0, b"a"), (1, b"b"))
    h.assign("c", [TP], now_ms=12)  # and to the end
    poll(h, (2, b"c"))
    assert check(h).valid


def test_a_later_send_of_one_process_at_a_lower_offset_is_a_nonmonotonic_send() -> None:
    h = History()
    first = acked(h, b"a", 1)
    second = acked(h, b"b", 0)
    acked(h, b"c", 0, tp=OTHER)  # another partition: its own order
    poll(h, (0, b"b"), (1, b"a"))
    h.poll("c", [(OTHER, 0, b"c")], 10)
    verdict = check(h)
    assert verdict.kinds == ["nonmonotonic-send"]
    assert verdict.anomalies[0].ops == (first, second)


def test_a_committed_offset_moving_backwards_is_a_nonmonotonic_commit() -> None:
    h = History()
    ahead = h.commit("c", "g", TP, 10, 0, completed_ms=1)
    behind = h.commit("c2", "g", TP, 4, 2, completed_ms=3)
    h.commit("c3", "other-group", TP, 1, 4, completed_ms=5)  # another group: its own offsets
    verdict = check(h)
    assert verdict.kinds == ["nonmonotonic-commit"]
    assert verdict.anomalies[0].ops == (ahead, behind)
    assert verdict.anomalies[0].offsets == (10, 4)


def test_allowed_kinds_are_reported_but_keep_the_history_valid() -> None:
    h = History()
    acked(h, b"a", 0)
    poll(h, (0, b"a"))
    poll(h, (0, b"a"))  # a consumer in a group may read again after a rebalance
    assert not check(h).valid
    verdict = check(h, allowed={"nonmonotonic-poll"})
    assert verdict.kinds == ["nonmonotonic-poll"] and verdict.valid
    assert verdict.describe().startswith("valid: nonmonotonic-poll x1")


def test_an_unknown_kind_cannot_be_allowed() -> None:
    with pytest.raises(ValueError, match="lost-writes"):
        check(History(), allowed={"lost-writes"})


def test_a_history_built_from_operations_renumbers_them() -> None:
    ops = [
        Send(7, "p", TP, (b"a",), 0, 1, Outcome.OK, 0),
        Send(7, "p", TP, (b"b",), 2, 3, Outcome.OK, 1),
    ]
    h = History(ops)
    assert [op.index for op in h.ops] == [0, 1]
    assert check(h).kinds == ["unseen"]
