"""The reference answer: reflog's own checker, keeping only the two kinds this exercise asks."""

from __future__ import annotations

from reflog.check import History, check

__all__ = ["lost_writes"]


def lost_writes(history: History) -> list[tuple[str, int, int]]:
    return [
        (anomaly.kind, anomaly.ops[0], anomaly.offsets[0])
        for anomaly in check(history).anomalies
        if anomaly.kind in ("lost-write", "unseen")
    ]
