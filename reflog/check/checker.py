"""The checker: a history in, the anomalies it shows out, each pointing at its operations.

The anomaly names are those of Jepsen's Kafka checker (``jepsen.tests.kafka``), so a learner
can read Jepsen's reports on Kafka and Redpanda with the same words:

* ``lost-write``: an acknowledged value no poll ever read, although polls read past its offset.
* ``unseen``: an acknowledged value no poll read, and no poll reached its offset (yet): a lost
  write unless the history ends with polls that read everything (Jepsen's "final reads"). A
  value acknowledged without an offset and never read is unseen too (where it should be is
  not known, so it cannot be told lost).
* ``duplicate``: one value at more than one offset of a partition.
* ``inconsistent-offsets``: one offset of a partition seen with different values (by sends'
  acknowledgements and polls together).
* ``G1a`` (aborted read): a poll read a value whose send was definitely refused.
* ``int-poll-skip`` / ``poll-skip``: a consumer's reads of a partition jumped over offsets known
  to hold records, inside one poll / from one poll to its next.
* ``int-nonmonotonic-poll`` / ``nonmonotonic-poll``: a consumer read an offset not above the one
  it read before, inside one poll / from one poll to its next.
* ``nonmonotonic-send``: a process's acknowledged sends to one partition got offsets that go
  backwards (one process sends in order, as one Kafka producer keeps order per partition).
* ``nonmonotonic-commit`` (reflog's name; Jepsen's checker does not look at commits): a group's
  committed offset for a partition moved backwards.

"Known to hold records" follows Jepsen's version order: the offsets any acknowledgement or poll
named, so gaps that hold no record (transaction markers, compacted-away records) are no skip.
Jepsen's transactional anomalies (G0, G1c, and G1b) need transactions, which reflog's
histories do not have yet; they are not checked.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from reflog.check.history import Assign, Commit, History, Op, Outcome, Poll, Send
from reflog.topic_partition import TopicPartition

__all__ = ["ANOMALY_KINDS", "Anomaly", "Verdict", "check"]

ANOMALY_KINDS = (
    "lost-write",
    "unseen",
    "duplicate",
    "inconsistent-offsets",
    "G1a",
    "int-poll-skip",
    "poll-skip",
    "int-nonmonotonic-poll",
    "nonmonotonic-poll",
    "nonmonotonic-send",
    "nonmonotonic-commit",
)


@dataclass(frozen=True)
class Anomaly:
    kind: str  # one of ANOMALY_KINDS
    tp: TopicPartition
    offsets: tuple[int, ...]
    ops: tuple[int, ...]  # indices into the history of the operations that show it
    explanation: str

    def __str__(self) -> str:
        ops = ", ".join(str(i) for i in self.ops)
        return f"{self.kind} in {self.tp}: {self.explanation} (operations {ops})"


@dataclass(frozen=True)
class Verdict:
    anomalies: tuple[Anomaly, ...]
    allowed: frozenset[str]  # kinds reported but not held against the history

    @property
    def valid(self) -> bool:
        return all(a.kind in self.allowed for a in self.anomalies)

    @property
    def kinds(self) -> list[str]:
        return sorted({a.kind for a in self.anomalies})

    def of_kind(self, kind: str) -> list[Anomaly]:
        return [a for a in self.anomalies if a.kind == kind]

    def describe(self, limit: int = 10) -> str:
        """A text report: the verdict, then up to ``limit`` anomalies of each kind."""
        if not self.anomalies:
            return "valid: no anomaly"
        head = "valid" if self.valid else "INVALID"
        counts = ", ".join(f"{kind} x{len(self.of_kind(kind))}" for kind in self.kinds)
        lines = [f"{head}: {counts}"]
        for kind in self.kinds:
            lines.extend(f"  {a}" for a in self.of_kind(kind)[:limit])
        return "\n".join(lines)


def check(history: History | Iterable[Op], allowed: Iterable[str] = ()) -> Verdict:
    """Every anomaly in ``history``; ``allowed`` names kinds that do not make it invalid (e.g.
    ``poll-skip`` for consumers in a group, whose partitions move between them)."""
    unknown = set(allowed) - set(ANOMALY_KINDS)
    if unknown:
        raise ValueError(f"no such anomaly: {', '.join(sorted(unknown))}")
    ops = history.ops if isinstance(history, History) else History(history).ops
    seen = _Observations(ops)
    found = [
        *_offset_anomalies(seen),
        *_lost_writes(ops, seen),
        *_aborted_reads(ops, seen),
        *_poll_order(ops, seen),
        *_nonmonotonic_sends(ops),
        *_nonmonotonic_commits(ops),
    ]
    return Verdict(tuple(found), frozenset(allowed))


class _Observations:
    """Who said what was where: per partition, offset -> value -> the operations saying so."""

    def __init__(self, ops: tuple[Op, ...]) -> None:
        self.at: dict[TopicPartition, dict[int, dict[bytes, list[int]]]] = defaultdict(dict)
        self.polled: dict[TopicPartition, set[bytes]] = defaultdict(set)
        self.max_polled: dict[TopicPartition, tuple[int, int]] = {}  # (offset, poll index)
        for op in ops:
            if isinstance(op, Send):
                for offset, value in op.written():
                    self._saw(op.tp, offset, value, op.index)
            elif isinstance(op, Poll):
                for r in op.records:
                    self._saw(r.tp, r.offset, r.value, op.index)
                    self.polled[r.tp].add(r.value)
                    if r.offset > self.max_polled.get(r.tp, (-1, -1))[0]:
                        self.max_polled[r.tp] = (r.offset, op.index)
        # Jepsen's version order: the offsets known to hold a record, ascending.
        self.order = {tp: sorted(offsets) for tp, offsets in self.at.items()}

    def _saw(self, tp: TopicPartition, offset: int, value: bytes, index: int) -> None:
        self.at[tp].setdefault(offset, {}).setdefault(value, []).append(index)

    def between(self, tp: TopicPartition, low: int, high: int) -> list[int]:
        """Known offsets strictly between ``low`` and ``high``."""
        order = self.order.get(tp, [])
        return order[bisect.bisect_right(order, low) : bisect.bisect_left(order, high)]


def _offset_anomalies(seen: _Observations) -> list[Anomaly]:
    found: list[Anomaly] = []
    for tp, offsets in seen.at.items():
        where: dict[bytes, list[int]] = defaultdict(list)  # value -> offsets
        for offset, values in sorted(offsets.items()):
            for value in values:
                where[value].append(offset)
            if len(values) > 1:
                shown = " vs ".join(f"{v!r} (ops {_ops(i)})" for v, i in values.items())
                found.append(
                    Anomaly(
                        "inconsistent-offsets",
                        tp,
                        (offset,),
                        _sorted_ops(*values.values()),
                        f"offset {offset} holds {shown}",
                    )
                )
        for value, at in where.items():
            if len(at) > 1:
                ops = _sorted_ops(*(offsets[o][value] for o in at))
                text = f"{value!r} at offsets {', '.join(map(str, at))}"
                found.append(Anomaly("duplicate", tp, tuple(at), ops, text))
    return found


def _lost_writes(ops: tuple[Op, ...], seen: _Observations) -> list[Anomaly]:
    found: list[Anomaly] = []
    for send in ops:
        if not isinstance(send, Send):
            continue
        if send.outcome is Outcome.OK and send.offset is None:
            for value in send.values:
                if value not in seen.polled[send.tp]:
                    text = f"{value!r} acknowledged (offset not told) was never read"
                    found.append(Anomaly("unseen", send.tp, (), (send.index,), text))
        for offset, value in send.written():
            if value in seen.polled[send.tp]:
                continue
            reached, poll = seen.max_polled.get(send.tp, (-1, -1))
            if offset <= reached:
                text = (
                    f"{value!r} acknowledged at offset {offset} was never read, "
                    f"though polls read up to offset {reached}"
                )
                found.append(Anomaly("lost-write", send.tp, (offset,), (send.index, poll), text))
            else:
                text = f"{value!r} acknowledged at offset {offset} was never read"
                found.append(Anomaly("unseen", send.tp, (offset,), (send.index,), text))
    return found


def _aborted_reads(ops: tuple[Op, ...], seen: _Observations) -> list[Anomaly]:
    refused: dict[tuple[TopicPartition, bytes], Send] = {}
    for op in ops:
        if isinstance(op, Send) and op.outcome is Outcome.FAIL:
            for value in op.values:
                refused[(op.tp, value)] = op
    found: list[Anomaly] = []
    for op in ops:
        if not isinstance(op, Poll):
            continue
        for r in op.records:
            send = refused.get((r.tp, r.value))
            if send is not None:
                text = f"read {r.value!r} at offset {r.offset}, whose send failed with {send.error}"
                found.append(Anomaly("G1a", r.tp, (r.offset,), (send.index, op.index), text))
    return found


def _poll_order(ops: tuple[Op, ...], seen: _Observations) -> list[Anomaly]:
    """Compare each read with the same consumer's previous read of the partition."""
    found: list[Anomaly] = []
    last: dict[tuple[str, TopicPartition], tuple[int, int]] = {}  # -> (offset, poll index)
    for op in ops:
        if isinstance(op, Assign):
            for key in [k for k in last if k[0] == op.process]:
                del last[key]
        if not isinstance(op, Poll):
            continue
        for r in op.records:
            previous = last.get((op.process, r.tp))
            last[(op.process, r.tp)] = (r.offset, op.index)
            if previous is None:
                continue
            before, before_poll = previous
            inside = before_poll == op.index
            prefix = "int-" if inside else ""
            pair = (op.index,) if inside else (before_poll, op.index)
            if r.offset <= before:
                text = f"{op.process} read offset {r.offset} after offset {before}"
                found.append(
                    Anomaly(f"{prefix}nonmonotonic-poll", r.tp, (before, r.offset), pair, text)
                )
                continue
            skipped = seen.between(r.tp, before, r.offset)
            if skipped:
                text = (
                    f"{op.process} read offset {r.offset} after {before}, skipping {_span(skipped)}"
                )
                found.append(Anomaly(f"{prefix}poll-skip", r.tp, tuple(skipped), pair, text))
    return found


def _nonmonotonic_sends(ops: tuple[Op, ...]) -> list[Anomaly]:
    found: list[Anomaly] = []
    last: dict[tuple[str, TopicPartition], Send] = {}
    for send in ops:
        if not isinstance(send, Send) or send.offset is None or send.outcome is not Outcome.OK:
            continue
        previous = last.get((send.process, send.tp))
        last[(send.process, send.tp)] = send
        if previous is not None and previous.offset is not None and send.offset <= previous.offset:
            text = (
                f"{send.process} sent op {send.index} after op {previous.index}, but it got "
                f"offset {send.offset}, not above {previous.offset}"
            )
            pair = (previous.index, send.index)
            found.append(
                Anomaly("nonmonotonic-send", send.tp, (previous.offset, send.offset), pair, text)
            )
    return found


def _nonmonotonic_commits(ops: tuple[Op, ...]) -> list[Anomaly]:
    found: list[Anomaly] = []
    last: dict[tuple[str, TopicPartition], Commit] = {}
    committed = [op for op in ops if isinstance(op, Commit) and op.outcome is Outcome.OK]
    for commit in sorted(committed, key=lambda c: (c.completed_ms or 0, c.index)):
        previous = last.get((commit.group, commit.tp))
        last[(commit.group, commit.tp)] = commit
        if previous is not None and commit.offset < previous.offset:
            text = (
                f"group {commit.group!r} committed offset {commit.offset} "
                f"after offset {previous.offset}"
            )
            pair = (previous.index, commit.index)
            offsets = (previous.offset, commit.offset)
            found.append(Anomaly("nonmonotonic-commit", commit.tp, offsets, pair, text))
    return found


def _sorted_ops(*lists: list[int]) -> tuple[int, ...]:
    return tuple(sorted({i for indices in lists for i in indices}))


def _ops(indices: list[int]) -> str:
    return ", ".join(map(str, sorted(set(indices))))


def _span(offsets: list[int]) -> str:
    if len(offsets) == 1:
        return f"offset {offsets[0]}"
    return f"{len(offsets)} offsets ({offsets[0]}..{offsets[-1]})"
