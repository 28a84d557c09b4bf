"""Open files stay bounded however many partitions a broker has."""

from __future__ import annotations

import os
from pathlib import Path

from reflog.records import build_batch, iter_batches
from reflog.storage.log_manager import LogManager
from reflog.topic_partition import TopicPartition


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_thousand_partitions_keep_at_most_max_open_files_open(tmp_path: Path) -> None:
    before = open_fds()
    logs = LogManager(tmp_path, max_open_files=32)
    for p in range(1_000):
        log = logs.create(TopicPartition("many", p))
        log.append(build_batch([(None, b"partition %d" % p, p)]), 0)
    assert logs.files.open_count <= 32
    assert open_fds() - before <= 32 + 5
    # Every partition is still readable: files are reopened on demand.
    for p in (0, 499, 999):
        log = logs.get(TopicPartition("many", p))
        assert log is not None
        read = log.read(0, 10_000)
        assert read.records is not None
        [record] = [r for b in iter_batches(read.records.read()) for r in b.records()]
        assert record.value == b"partition %d" % p
    logs.close()


def test_a_file_that_a_pending_fetch_holds_is_not_closed_under_it(tmp_path: Path) -> None:
    logs = LogManager(tmp_path, max_open_files=2)
    first = logs.create(TopicPartition("t", 0))
    first.append(build_batch([(None, b"still here", 1)]), 0)
    pending = first.read(0, 10_000).records  # a fetch response waiting to be sent
    assert pending is not None
    for p in range(1, 10):  # open many other files: the first one is evicted
        logs.create(TopicPartition("t", p)).append(build_batch([(None, b"x", 1)]), 0)
    assert not pending.file.closed
    assert b"still here" in pending.read()
    del pending
    logs.create(TopicPartition("t", 10))  # the next eviction sweeps the parked file
    assert logs.files.open_count <= 3
    logs.close()
