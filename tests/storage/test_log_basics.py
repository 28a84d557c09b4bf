"""The partition log's contract: offsets on append, reads of whole batches, recovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reflog.records import RecordBatch, build_batch, iter_batches
from reflog.storage import Log, OffsetOutOfRangeError


def batch(n: int, ts: int = 1000, size: int = 10) -> bytes:
    return build_batch([(b"k%d" % i, b"v" * size, ts + i) for i in range(n)])


def test_append_assigns_offsets_from_the_log_end_and_keeps_the_client_crc(tmp_path: Path) -> None:
    log = Log(tmp_path)
    first = log.append(batch(3), leader_epoch=0)
    second = log.append(batch(2), leader_epoch=0)
    assert (first.base_offset, first.last_offset) == (0, 2)
    assert (second.base_offset, second.last_offset) == (3, 4)
    assert log.log_end_offset == 5
    read = log.read(0, 10**6)
    assert read.records is not None
    stored = list(iter_batches(read.records.read()))
    assert [b.base_offset for b in stored] == [0, 3]
    for b in stored:
        b.validate()  # the producer's CRC still holds after the rewrite


def test_read_starts_at_the_batch_holding_the_offset(tmp_path: Path) -> None:
    log = Log(tmp_path)
    for _ in range(4):
        log.append(batch(5), leader_epoch=0)
    read = log.read(7, 10**6)
    assert read.records is not None
    assert [b.base_offset for b in iter_batches(read.records.read())] == [5, 10, 15]


def test_read_returns_at_least_one_whole_batch_even_over_max_bytes(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(batch(10, size=500), leader_epoch=0)
    log.append(batch(10, size=500), leader_epoch=0)
    read = log.read(0, max_bytes=100)
    assert read.records is not None
    assert [b.base_offset for b in iter_batches(read.records.read())] == [0]


def test_read_at_log_end_is_empty_and_beyond_it_is_out_of_range(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(batch(2), leader_epoch=0)
    assert log.read(2, 1000).records is None
    with pytest.raises(OffsetOutOfRangeError):
        log.read(3, 1000)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(-1, 1000)


def test_read_stops_before_max_offset(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(batch(2), leader_epoch=0)
    log.append(batch(2), leader_epoch=0)
    read = log.read(0, 10**6, max_offset=2)
    assert read.records is not None
    assert [b.base_offset for b in iter_batches(read.records.read())] == [0]


def test_offset_for_timestamp_finds_the_first_record_at_or_after_it(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(batch(3, ts=100), leader_epoch=0)  # timestamps 100, 101, 102
    log.append(batch(3, ts=200), leader_epoch=0)  # timestamps 200, 201, 202
    hit = log.offset_for_timestamp(101)
    assert hit is not None and (hit.offset, hit.timestamp) == (1, 101)
    hit = log.offset_for_timestamp(150)
    assert hit is not None and (hit.offset, hit.timestamp) == (3, 200)
    assert log.offset_for_timestamp(1000) is None


def test_reopen_recovers_every_batch(tmp_path: Path) -> None:
    log = Log(tmp_path)
    for _ in range(3):
        log.append(batch(4), leader_epoch=0)
    log.close()
    reopened = Log(tmp_path)
    assert reopened.log_end_offset == 12
    assert reopened.recovered_truncated_bytes == 0
    assert reopened.append(batch(1), leader_epoch=0).base_offset == 12


def test_recovery_truncates_a_torn_tail_and_keeps_what_came_before(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(batch(4), leader_epoch=0)
    log.append(batch(4), leader_epoch=0)
    good_size = log.size_in_bytes
    log.flush()
    log.crash()  # an unclean stop: no clean-shutdown marker
    with open(log.active.log_path, "ab") as f:
        f.write(batch(4)[:25])  # a crash in the middle of a write
    reopened = Log(tmp_path)
    assert reopened.log_end_offset == 8
    assert reopened.recovered_truncated_bytes == 25
    assert os.path.getsize(reopened.active.log_path) == good_size


def test_recovery_stops_at_a_batch_that_fails_its_crc(tmp_path: Path) -> None:
    log = Log(tmp_path)
    for _ in range(3):
        log.append(batch(2), leader_epoch=0)
    log.flush()
    log.crash()
    data = bytearray(log.active.log_path.read_bytes())
    second = RecordBatch(data[: len(data) // 3]).size_in_bytes
    data[second + 70] ^= 0xFF  # damage a record in the second batch
    log.active.log_path.write_bytes(bytes(data))
    reopened = Log(tmp_path)
    assert reopened.log_end_offset == 2
