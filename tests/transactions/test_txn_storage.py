"""Transactions in a partition's log: the cleaner compacts committed records, removes
aborted ones, keeps the markers, stops at the last stable offset, and the open and aborted
transactions survive the cleaning and a restart."""

from __future__ import annotations

from pathlib import Path

from reflog.records import build_batch, iter_batches
from reflog.storage.cleaner import LogCleaner
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig
from reflog.transactions.records import control_batch

COMPACT = LogConfig(segment_bytes=600, cleanup_policy="compact")
PID = 42


def transactional(key: bytes, value: bytes, sequence: int) -> bytes:
    return build_batch(
        [(key, value, 0)],
        producer_id=PID,
        producer_epoch=0,
        base_sequence=sequence,
        is_transactional=True,
    )


def test_compaction_removes_aborted_records_compacts_committed_ones_and_keeps_the_markers(
    tmp_path: Path,
) -> None:
    log = Log(tmp_path, COMPACT)
    for i in range(10):
        log.append(build_batch([(b"k", b"plain-%d" % i + b"x" * 40, 0)]), 0)
    log.append(transactional(b"k", b"aborted", 0), 0)
    log.append(control_batch(PID, 0, commit=False, coordinator_epoch=0, now_ms=0), 0)
    log.append(transactional(b"k", b"committed", 1), 0)
    log.append(control_batch(PID, 0, commit=True, coordinator_epoch=0, now_ms=0), 0)
    for i in range(10):
        log.append(build_batch([(b"other", b"filler-%d" % i + b"x" * 40, 0)]), 0)
    assert LogCleaner().clean(log, now_ms=0, force=True) is not None
    batches = [
        b for path in sorted(tmp_path.glob("*.log")) for b in iter_batches(path.read_bytes())
    ]
    kept = [
        r.value for b in batches if b.is_transactional and not b.is_control for r in b.records()
    ]
    assert kept == [b"committed"]  # the aborted value is gone, as Kafka's cleaner does
    # The committed transactional value is the key's latest: the plain ones before it go.
    assert not any(r.value.startswith(b"plain") for b in batches for r in b.records() if r.value)
    assert sum(b.is_control and b.record_count == 1 for b in batches) == 2
    log.close()
    reopened = Log(tmp_path, COMPACT)
    assert [(a.first_offset, a.last_offset) for a in reopened.transactions.aborted] == [(10, 11)]
    assert reopened.transactions.ongoing == {}
    reopened.close()


def test_the_cleaner_stops_at_an_open_transaction_which_may_still_abort(tmp_path: Path) -> None:
    log = Log(tmp_path, COMPACT)
    for i in range(10):
        log.append(build_batch([(b"k", b"plain-%d" % i + b"x" * 40, 0)]), 0)
    open_at = log.log_end_offset
    log.append(transactional(b"k", b"not decided yet", 0), 0)  # no marker: still open
    for i in range(20):
        log.append(build_batch([(b"other", b"filler-%d" % i + b"x" * 40, 0)]), 0)
    assert log.transactions.first_unstable_offset(log.log_end_offset) == open_at
    LogCleaner().clean(log, now_ms=0, force=True)
    values = [
        r.value
        for path in sorted(tmp_path.glob("*.log"))
        for b in iter_batches(path.read_bytes())
        for r in b.records()
    ]
    # Had the open value counted as k's latest, an abort would now leave k with no value.
    assert b"plain-9" + b"x" * 40 in values and b"not decided yet" in values
    log.close()
