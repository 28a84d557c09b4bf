"""Kafka's segmented log: rolling, sparse indexes, reads, recovery, truncation, retention."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from reflog.records import build_batch, iter_batches
from reflog.storage.log import CLEAN_SHUTDOWN_FILE, Log
from reflog.storage.log_config import LogConfig
from reflog.storage.partition_log import OffsetOutOfRangeError
from reflog.storage.producer_state import BatchMetadata, ProducerStateManager


def batch(n: int = 5, ts: int = 1_000, size: int = 100) -> bytes:
    return build_batch([(b"k%d" % i, b"v" * size, ts + i) for i in range(n)])


def small(**overrides: int) -> LogConfig:
    values = {"segment_bytes": 2_000, "index_interval_bytes": 600, **overrides}
    return LogConfig(**values)  # type: ignore[arg-type]


def offsets_read(log: Log, start: int, max_bytes: int = 10**9) -> list[int]:
    """Offsets of one read (a read, like Kafka's, never crosses a segment)."""
    read = log.read(start, max_bytes)
    if read.records is None:
        return []
    return [r.offset for b in iter_batches(read.records.read()) for r in b.records()]


def read_all(log: Log) -> list[int]:
    """Every offset from the log start to the end, reading as a consumer would."""
    offsets: list[int] = []
    position = log.log_start_offset
    while position < log.log_end_offset:
        got = offsets_read(log, position)
        assert got, f"no data at {position}"
        offsets += got
        position = got[-1] + 1
    return offsets


def test_segments_roll_at_segment_bytes_and_are_named_by_base_offset(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(10):
        log.append(batch(), leader_epoch=0)
    log.flush()  # index entries reach their files at flush, roll and close
    names = sorted(p.name for p in tmp_path.glob("*.log"))
    assert len(names) > 1
    assert names[0] == "00000000000000000000.log"
    assert [int(n[:20]) for n in names] == [s.base_offset for s in log.segments]
    assert all(s.size <= 2_000 for s in log.segments)
    assert all((tmp_path / n.replace(".log", ".index")).exists() for n in names)
    assert all((tmp_path / n.replace(".log", ".timeindex")).exists() for n in names)


def test_segments_roll_at_segment_ms(tmp_path: Path) -> None:
    log = Log(tmp_path, LogConfig(segment_ms=1_000), now_ms=0)
    log.append(batch(), 0, now_ms=0)
    log.append(batch(), 0, now_ms=500)
    log.append(batch(), 0, now_ms=1_200)
    assert [s.base_offset for s in log.segments] == [0, 10]


def test_a_segment_rolls_before_an_offset_would_not_fit_its_4_byte_relative_index(
    tmp_path: Path,
) -> None:
    log = Log(tmp_path, LogConfig())
    log.append(batch(), 0)  # offsets 0-4
    wide = bytearray(batch())  # offsets that jump, as a compacted leader's batches may
    struct.pack_into(">i", wide, 23, 2**31 - 3)  # lastOffsetDelta
    log.append(bytes(wide), 0)  # 5 .. 2**31 + 2: too far from 0
    log.append(batch(), 0)  # 2**31 + 3 ..: too far from 5
    assert [s.base_offset for s in log.segments] == [0, 5, 2**31 + 3]
    assert offsets_read(log, 2**31 + 3) == [2**31 + 3 + i for i in range(5)]


def test_the_offset_index_is_sparse_every_index_interval_bytes(tmp_path: Path) -> None:
    log = Log(tmp_path, LogConfig(index_interval_bytes=1_000))
    for _ in range(20):
        log.append(batch(size=100), 0)  # each batch is ~700 bytes
    entries = log.active.index.entries()
    assert 5 <= len(entries) < 20
    log.flush()
    raw = (tmp_path / "00000000000000000000.index").read_bytes()
    assert len(raw) == 8 * len(entries)
    relative, position = struct.unpack_from(">ii", raw, 8)
    assert (relative, position) == (entries[1].offset, entries[1].position)


def test_reads_find_any_offset_through_the_index_and_return_whole_batches(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(30):
        log.append(batch(), 0)
    for target in (0, 3, 17, 64, 101, 149):
        got = offsets_read(log, target, max_bytes=1)  # one whole batch, whatever max_bytes says
        assert got[0] <= target <= got[-1]
        assert len(got) == 5


def test_reading_below_the_log_start_or_past_the_end_is_out_of_range(tmp_path: Path) -> None:
    log = Log(tmp_path, small(retention_bytes=3_000))
    for _ in range(30):
        log.append(batch(), 0)
    log.delete_old_segments(now_ms=0)
    assert log.log_start_offset > 0
    with pytest.raises(OffsetOutOfRangeError):
        log.read(log.log_start_offset - 1, 1_000)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(log.log_end_offset + 1, 1_000)
    assert offsets_read(log, log.log_start_offset)[0] == log.log_start_offset


def test_retention_ms_deletes_whole_old_segments_and_moves_the_log_start(tmp_path: Path) -> None:
    log = Log(tmp_path, small(retention_ms=10_000))
    for i in range(30):
        log.append(batch(ts=i * 1_000), 0)
    before = len(log.segments)
    deleted = log.delete_old_segments(now_ms=30_000)
    assert deleted and len(log.segments) == before - len(deleted)
    assert log.log_start_offset == log.segments[0].base_offset
    assert all(s.max_timestamp >= 30_000 - 10_000 - 5_000 for s in log.segments)
    assert not (tmp_path / f"{deleted[0]:020d}.log").exists()


def test_retention_bytes_keeps_the_log_under_the_limit(tmp_path: Path) -> None:
    log = Log(tmp_path, small(retention_bytes=5_000))
    for _ in range(40):
        log.append(batch(), 0)
    log.delete_old_segments(now_ms=0)
    assert log.size_in_bytes - log.segments[0].size < 5_000


def test_compacted_topics_are_not_trimmed_by_retention(tmp_path: Path) -> None:
    log = Log(tmp_path, LogConfig(segment_bytes=2_000, retention_bytes=1, cleanup_policy="compact"))
    for _ in range(20):
        log.append(batch(), 0)
    assert log.delete_old_segments(now_ms=0) == []


def test_the_log_start_offset_survives_a_restart(tmp_path: Path) -> None:
    log = Log(tmp_path, small(retention_bytes=3_000))
    for _ in range(30):
        log.append(batch(), 0)
    log.delete_old_segments(now_ms=0)
    start = log.log_start_offset
    log.close()
    assert Log(tmp_path, small()).log_start_offset == start


def test_offset_for_timestamp_uses_the_time_index(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for i in range(30):
        log.append(batch(ts=10_000 + i * 10), 0)  # batch i: timestamps 10000+10i .. +4
    hit = log.offset_for_timestamp(10_000 + 10 * 17 + 2)
    assert hit is not None and (hit.offset, hit.timestamp) == (17 * 5 + 2, 10_172)
    assert log.offset_for_timestamp(10**9) is None


def test_a_clean_restart_trusts_the_files_and_continues_the_offsets(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(12):
        log.append(batch(), 0)
    log.close()
    assert (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
    reopened = Log(tmp_path, small())
    assert reopened.log_end_offset == 60
    assert reopened.append(batch(), 0).base_offset == 60
    assert read_all(reopened) == list(range(65))


def test_truncate_to_drops_whole_batches_at_and_above_the_offset(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(20):
        log.append(batch(), 0)
    log.truncate_to(52)  # inside the batch 50..54: that batch goes too
    assert log.log_end_offset == 50
    assert read_all(log) == list(range(50))
    assert log.append(batch(), 0).base_offset == 50


def test_a_crash_loses_only_what_was_not_flushed(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(6):
        log.append(batch(), 0)
    log.flush()
    for _ in range(3):
        log.append(batch(), 0)  # acknowledged, still only in the page cache
    log.crash()
    recovered = Log(tmp_path, small())
    assert recovered.log_end_offset == 30
    assert read_all(recovered) == list(range(30))


def damage(rng: random.Random, path: Path) -> None:
    data = bytearray(path.read_bytes())
    kind = rng.choice(["truncate", "flip", "garbage", "zeros"])
    if kind == "truncate" and data:
        del data[rng.randrange(len(data)) :]
    elif kind == "flip" and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "garbage":
        data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    else:
        data += bytes(rng.randint(1, 200))
    path.write_bytes(bytes(data))


def first_damage(before: bytes, after: bytes) -> int | None:
    """Where ``after`` stops agreeing with ``before`` (None: not damaged)."""
    if before == after:
        return None
    for i, (a, b) in enumerate(zip(before, after, strict=False)):
        if a != b:
            return i
    return min(len(before), len(after))


@pytest.mark.parametrize("seed", range(2_000))
def test_recovery_survives_any_damage_and_keeps_every_valid_batch_before_it(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    config = small()
    log = Log(tmp_path, config)
    sequences = {7: 0, 8: 0}  # two idempotent producers, so producer snapshots at the rolls
    for i in range(25):
        n = rng.randint(1, 6)
        pid = rng.choice([-1, 7, 8])
        seq = sequences.get(pid, -1)
        records = [(None, b"%d-%d" % (i, j), i) for j in range(n)]
        log.append(build_batch(records, producer_id=pid, producer_epoch=0, base_sequence=seq), 0)
        if pid >= 0:
            sequences[pid] += n
    if rng.random() < 0.5:
        log.flush()
        log.take_producer_snapshot()  # as a clean shutdown would, but the marker is missing
    log.crash()  # no clean-shutdown marker: recovery runs
    files = sorted(tmp_path.glob("0*"))  # segments, indexes and producer snapshots
    before = {p: p.read_bytes() for p in files}
    for _ in range(rng.randint(1, 3)):
        damage(rng, rng.choice(files))

    # Every batch that ends before the first damaged byte of the .log files must survive.
    must_keep = 0
    for path in sorted(p for p in files if p.suffix == ".log"):
        cut = first_damage(before[path], path.read_bytes())
        for b in iter_batches(before[path]):
            if cut is not None and b.buffer.obj is not None and _end_of(b, before[path]) > cut:
                break
            must_keep = b.next_offset
        if cut is not None:
            break

    recovered = Log(tmp_path, config)  # never raises
    offsets = []
    producers = ProducerStateManager()  # the table the recovered log's batches make
    position = recovered.log_start_offset
    while position < recovered.log_end_offset:
        read = recovered.read(position, 10**9)
        assert read.records is not None
        batches = list(iter_batches(read.records.read(), allow_partial_tail=False))
        for b in batches:
            b.validate()  # never serves a corrupt batch
            if b.producer_id >= 0:
                last_seq = b.base_sequence + b.last_offset_delta
                meta = BatchMetadata(
                    b.base_sequence, last_seq, b.base_offset, b.last_offset, b.max_timestamp
                )
                producers.update(b.producer_id, b.producer_epoch, meta)
        offsets += [r.offset for b in batches for r in b.records()]
        position = batches[-1].next_offset
    assert offsets == list(range(len(offsets)))  # a prefix of what was written, no holes
    assert recovered.log_end_offset == len(offsets) >= must_keep
    # Whatever happened to the snapshots, the producer table is the one of the log kept.
    assert recovered.producer_state.producers == producers.producers


def _end_of(batch: object, whole: bytes) -> int:
    """Byte position where ``batch`` (a view into ``whole``) ends."""
    from reflog.records import RecordBatch

    assert isinstance(batch, RecordBatch)
    start = whole.find(bytes(batch.buffer))
    return start + batch.size_in_bytes


def test_retention_never_deletes_records_above_the_high_watermark(tmp_path: Path) -> None:
    log = Log(tmp_path, small(retention_bytes=1))  # everything but the active segment is due
    for _ in range(30):
        log.append(batch(), 0)
    bases = [s.base_offset for s in log.segments]
    assert len(bases) > 3
    high_watermark = bases[2] + 1  # the followers have copied into the third segment only
    deleted = log.delete_old_segments(now_ms=0, high_watermark=high_watermark)
    assert deleted == bases[:2]  # the third reaches past the HW: it stays
    assert log.log_start_offset == bases[2]


def test_truncate_fully_and_start_at_leaves_an_empty_log_there(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(10):
        log.append(batch(), 0)
    log.truncate_fully_and_start_at(500)
    assert (log.log_start_offset, log.log_end_offset) == (500, 500)
    log.append(batch(), 0)
    assert Log(tmp_path, small()).log_start_offset == 500  # it survives a restart


def _every_batch_read(log: Log, max_bytes: int) -> list[list[int]]:
    offsets = range(log.log_start_offset, log.log_end_offset)
    return [offsets_read(log, o, max_bytes) for o in offsets]


def test_a_read_at_the_log_end_finds_its_batch_without_reading_headers_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Log(tmp_path, LogConfig(index_interval_bytes=4_096))
    for _ in range(40):
        log.append(batch(n=1, size=20), 0)  # ~90-byte batches: dozens per index entry
    reads_from_file: list[int] = []
    original = type(log.active)._header_at

    def counting(segment: object, position: int) -> object:
        reads_from_file.append(position)
        return original(segment, position)  # type: ignore[arg-type]

    monkeypatch.setattr(type(log.active), "_header_at", counting)
    assert offsets_read(log, 39) == [39]
    assert offsets_read(log, 20) == list(range(20, 40))
    assert reads_from_file == []
    # Only the stretch the index does not cover yet is kept in memory.
    for _ in range(100):
        log.append(batch(n=1, size=20), 0)
    assert log.active.unindexed_headers[0].position == log.active.index.entries()[-1].position


@pytest.mark.parametrize("reopen", ["clean", "recovered", "truncated"])
def test_reads_agree_with_the_file_whatever_reopened_or_truncated_the_segment(
    tmp_path: Path, reopen: str
) -> None:
    config = small(segment_bytes=100_000, index_interval_bytes=4_000)
    log = Log(tmp_path, config)
    for i in range(40):
        log.append(batch(n=1 + i % 4, size=30), 0)
    if reopen == "truncated":
        log.truncate_to(70)
        reopened = log
    else:
        log.close()
        if reopen == "recovered":
            (tmp_path / CLEAN_SHUTDOWN_FILE).unlink()
        reopened = Log(tmp_path, config)
    for _ in range(2):
        reopened.append(batch(n=2, size=30), 0)
    assert len(reopened.active.unindexed_headers) > 3  # the reads below do go through it
    expected = list(range(reopened.log_end_offset))
    assert read_all(reopened) == expected
    # The same reads with the in-memory headers dropped: every header comes from the file.
    with_tail = _every_batch_read(reopened, 400)
    reopened.active._tail = []
    assert _every_batch_read(reopened, 400) == with_tail
