"""Compaction: the latest value per key survives, offsets never change, tombstones expire,
and a crash at any point of a clean loses nothing."""

from __future__ import annotations

from pathlib import Path

from reflog.records import Record, build_batch, iter_batches, rebuild_batch
from reflog.storage.cleaner import LogCleaner
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig

COMPACT = LogConfig(segment_bytes=1_500, cleanup_policy="compact", delete_retention_ms=1_000)


def write(log: Log, updates: list[tuple[bytes, bytes | None]], ts: int = 0) -> None:
    for i, (key, value) in enumerate(updates):
        log.append(build_batch([(key, value, ts + i)]), 0)


def everything(log: Log) -> list[Record]:
    records: list[Record] = []
    position = log.log_start_offset
    while position < log.log_end_offset:
        read = log.read(position, 10**9)
        assert read.records is not None
        batches = list(iter_batches(read.records.read(), allow_partial_tail=False))
        records += [r for b in batches for r in b.records()]
        position = batches[-1].next_offset
    return records


def updates(rounds: int) -> list[tuple[bytes, bytes | None]]:
    return [(b"key-%d" % (i % 5), b"value-%d-" % i + b"x" * 40) for i in range(rounds)]


def test_compaction_keeps_the_latest_value_of_every_key_at_its_original_offset(
    tmp_path: Path,
) -> None:
    log = Log(tmp_path, COMPACT)
    write(log, updates(100))
    before = {r.offset: r for r in everything(log)}
    result = LogCleaner().clean(log, now_ms=0, force=True)
    assert result is not None and result.bytes_after < result.bytes_before
    after = everything(log)
    cleaned_end = log.segments[-1].base_offset
    latest: dict[bytes | None, int] = {}
    for r in before.values():
        if r.offset < cleaned_end:
            latest[r.key] = r.offset
    for r in after:
        assert before[r.offset] == r  # same offset, same key and value: nothing renumbered
        if r.offset < cleaned_end:
            assert latest[r.key] == r.offset  # only the latest of each key is left
    assert {r.key for r in after} == {b"key-%d" % i for i in range(5)}
    assert log.log_start_offset == 0  # compaction never moves the log start


def test_a_consumer_at_a_removed_offset_gets_the_next_record_not_out_of_range(
    tmp_path: Path,
) -> None:
    log = Log(tmp_path, COMPACT)
    write(log, updates(100))
    LogCleaner().clean(log, now_ms=0, force=True)
    position = 3  # offset 3 was compacted away
    found: list[Record] = []
    while not found:  # fetch as a consumer does: never OFFSET_OUT_OF_RANGE, just move on
        read = log.read(position, 10**9)
        assert read.records is not None
        batches = list(iter_batches(read.records.read()))
        found = [r for b in batches for r in b.records() if r.offset >= 3]
        position = batches[-1].next_offset
    assert found[0].offset > 3


def test_tombstones_delete_a_key_and_expire_after_delete_retention_ms(tmp_path: Path) -> None:
    log = Log(tmp_path, COMPACT)
    write(log, [(b"gone", b"v1"), (b"kept", b"v1"), (b"gone", None), *updates(60)], ts=0)
    cleaner = LogCleaner()
    cleaner.clean(log, now_ms=500, force=True)  # within delete.retention.ms: the tombstone stays
    keys = [(r.key, r.value) for r in everything(log)]
    assert (b"gone", None) in keys and (b"gone", b"v1") not in keys
    result = cleaner.clean(log, now_ms=10_000, force=True)
    assert result is not None and result.tombstones_removed == 1
    assert b"gone" not in {r.key for r in everything(log)}
    assert b"kept" in {r.key for r in everything(log)}


def test_cleaning_waits_for_min_cleanable_dirty_ratio(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=1_500, cleanup_policy="compact", min_cleanable_dirty_ratio=0.5)
    log = Log(tmp_path, config)
    write(log, updates(100))
    cleaner = LogCleaner()
    assert cleaner.dirty_ratio(log) == 1.0
    assert cleaner.clean(log, now_ms=0) is not None
    write(log, updates(3))  # a little new data: mostly clean now
    assert cleaner.dirty_ratio(log) < 0.5
    assert cleaner.clean(log, now_ms=0) is None


def test_a_crash_before_the_swap_keeps_the_original_segment(tmp_path: Path) -> None:
    log = Log(tmp_path, COMPACT)
    write(log, updates(100))
    log.flush()
    before = everything(log)
    segment = log.segments[0]
    # The cleaner died while writing: a .cleaned file with half its output.
    (tmp_path / (segment.log_path.name + ".cleaned")).write_bytes(b"half a cleaned segment")
    log.crash()
    reopened = Log(tmp_path, COMPACT)
    assert everything(reopened) == before
    assert not list(tmp_path.glob("*.cleaned"))


def test_a_crash_after_the_swap_file_is_written_completes_the_swap(tmp_path: Path) -> None:
    log = Log(tmp_path, COMPACT)
    write(log, updates(100))
    log.flush()
    segment = log.segments[0]
    # The cleaner's output for segment 0 (every record superseded: empty batches).
    data = segment.log_path.read_bytes()
    cleaned_bytes = b"".join(rebuild_batch(b, []) for b in iter_batches(data))
    (tmp_path / (segment.log_path.name + ".swap")).write_bytes(cleaned_bytes)
    log.crash()  # died between writing .swap and replacing the segment
    reopened = Log(tmp_path, COMPACT)
    assert not list(tmp_path.glob("*.swap"))
    assert reopened.segments[0].size == len(cleaned_bytes)
    assert reopened.log_end_offset == 100  # offsets intact: only records of segment 0 went
    assert all(r.offset >= reopened.segments[1].base_offset for r in everything(reopened))


def test_clean_then_restart_serves_the_compacted_log(tmp_path: Path) -> None:
    log = Log(tmp_path, COMPACT)
    write(log, updates(100))
    LogCleaner().clean(log, now_ms=0, force=True)
    compacted = everything(log)
    log.close()
    assert everything(Log(tmp_path, COMPACT)) == compacted


def test_a_replicated_log_is_cleaned_only_below_the_high_watermark(tmp_path: Path) -> None:
    log = Log(tmp_path, LogConfig(segment_bytes=200, cleanup_policy="compact"))
    for i in range(12):
        log.append(build_batch([(b"k", b"v%d" % i, 0)]), 0)
    cleaner = LogCleaner()
    segments = log.segments[:-1]
    assert len(segments) > 2
    high_watermark = segments[1].next_offset  # the first two segments are committed
    assert cleaner.cleanable_segments(log, high_watermark) == segments[:2]

    def sizes() -> list[int]:
        return [s.size for s in log.segments]

    before = sizes()
    cleaner.clean(log, now_ms=0, force=True, high_watermark=high_watermark)
    after = sizes()
    assert after[2:] == before[2:]  # above the HW nothing changed, though "k" is newer there
    assert after[:2] != before[:2]  # below it the older values of "k" were removed
