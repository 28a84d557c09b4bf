"""Your lost-write check (see README.md)."""

from __future__ import annotations

from reflog.check import History, Poll, Send


def lost_writes(history: History) -> list[tuple[str, int, int]]:
    # A first attempt: an acknowledged offset nobody read is lost.
    read_offsets = {
        (r.tp, r.offset) for op in history.ops if isinstance(op, Poll) for r in op.records
    }
    found = []
    for op in history.ops:
        if isinstance(op, Send):
            for offset, _value in op.written():
                if (op.tp, offset) not in read_offsets:
                    found.append(("lost-write", op.index, offset))
    return found
