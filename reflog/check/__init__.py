"""Jepsen-style history checking: record what clients saw, then look for the anomalies.

history = History()
i = history.invoke_send("producer", tp, [b"v1"], now_ms)
history.acknowledged(i, offset=0, now_ms=...)
history.poll("consumer", [(tp, 0, b"v1")], now_ms)
verdict = check(history)
print(verdict.describe())
"""

from reflog.check.checker import ANOMALY_KINDS, Anomaly, Verdict, check
from reflog.check.history import (
    REFUSED_BEFORE_APPEND,
    Assign,
    Commit,
    History,
    Op,
    Outcome,
    Poll,
    PolledRecord,
    Send,
)

__all__ = [
    "ANOMALY_KINDS",
    "REFUSED_BEFORE_APPEND",
    "Anomaly",
    "Assign",
    "Commit",
    "History",
    "Op",
    "Outcome",
    "Poll",
    "PolledRecord",
    "Send",
    "Verdict",
    "check",
]
