"""A rolled segment is fsynced off the appending thread, as Kafka's roll schedules its flush."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.records import build_batch
from reflog.storage.flusher import BackgroundFlusher, InlineFlusher
from reflog.storage.log import CLEAN_SHUTDOWN_FILE, Log
from reflog.storage.log_config import LogConfig
from reflog.storage.log_manager import LogManager
from reflog.topic_partition import TopicPartition

WAIT_S = 10  # a bound on every wait for the flusher thread, never a pause


def batch() -> bytes:
    return build_batch([(b"k", b"v" * 400, 1_000)])


def rolled_log(directory: Path, flusher: BackgroundFlusher, rolls: int) -> Log:
    """A log with 1 KB segments, appended to until it has rolled ``rolls`` times."""
    log = Log(directory, LogConfig(segment_bytes=1_000), flusher=flusher)
    while len(log.segments) <= rolls:
        log.append(batch(), leader_epoch=0)
    return log


class SlowDisk:
    """os.fsync on the flusher's thread waits until released; the file it was given is kept."""

    def __init__(self, fail: bool = False) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        self.fail = fail
        self.synced: list[int] = []  # inodes of the files the flusher fsynced

    def fsync(self, real: Callable[[int], None]) -> Callable[[int], None]:
        def fsync(fd: int) -> None:
            if threading.current_thread().name != "log-flusher":
                return real(fd)
            self.entered.set()
            assert self.released.wait(WAIT_S), "the test never released the disk"
            if self.fail:
                raise OSError(errno.EIO, "Input/output error")
            self.synced.append(os.fstat(fd).st_ino)
            return real(fd)

        return fsync


@pytest.fixture
def slow_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowDisk]:
    disk = SlowDisk()
    monkeypatch.setattr(os, "fsync", disk.fsync(os.fsync))
    yield disk
    disk.released.set()  # never leave the thread waiting, even when a test failed


def test_a_roll_returns_while_the_rolled_segment_is_still_being_fsynced(
    tmp_path: Path, slow_disk: SlowDisk
) -> None:
    flusher = BackgroundFlusher()
    log = rolled_log(tmp_path, flusher, rolls=1)
    assert slow_disk.entered.wait(WAIT_S), "the rolled segment's fsync started"
    # The flusher is stuck in that fsync, and the log goes on taking writes meanwhile.
    before = log.log_end_offset
    log.append(batch(), leader_epoch=0)
    assert log.log_end_offset == before + 1
    assert slow_disk.synced == []
    slow_disk.released.set()
    flusher.close()  # waits for every flush asked for
    assert slow_disk.synced == [log.segments[0].log_path.stat().st_ino]


def test_every_rolled_segment_is_fsynced_oldest_first(tmp_path: Path, slow_disk: SlowDisk) -> None:
    slow_disk.released.set()
    flusher = BackgroundFlusher()
    log = rolled_log(tmp_path, flusher, rolls=3)
    flusher.close()
    rolled = [s.log_path.stat().st_ino for s in log.segments[:-1]]
    assert slow_disk.synced == rolled


def test_a_segment_deleted_before_its_turn_is_skipped(tmp_path: Path, slow_disk: SlowDisk) -> None:
    flusher = BackgroundFlusher()
    log = rolled_log(tmp_path, flusher, rolls=3)
    assert slow_disk.entered.wait(WAIT_S)  # the first rolled segment's fsync is under way
    first, second, third = log.segments[:3]
    second_inode = second.log_path.stat().st_ino
    second.delete()  # as retention or a truncation would, while it waits for its fsync
    slow_disk.released.set()
    flusher.close()  # no error for the file that is gone, and the next one still fsynced
    assert second_inode not in slow_disk.synced
    assert slow_disk.synced == [s.log_path.stat().st_ino for s in (first, third)]


def test_a_failed_fsync_is_raised_on_the_appending_thread(
    tmp_path: Path, slow_disk: SlowDisk
) -> None:
    slow_disk.fail = True
    flusher = BackgroundFlusher()
    rolled_log(tmp_path, flusher, rolls=1)
    slow_disk.released.set()
    with pytest.raises(OSError) as raised:
        flusher.close()
    assert raised.value.errno == errno.EIO
    # The disk does not get better by being reported: every later roll fails too.
    log = Log(tmp_path / "other", LogConfig(segment_bytes=1_000), flusher=flusher)
    with pytest.raises(OSError):
        while len(log.segments) < 2:
            log.append(batch(), leader_epoch=0)


def test_a_failed_fsync_still_lets_a_shutdown_close_every_log(
    tmp_path: Path, slow_disk: SlowDisk
) -> None:
    slow_disk.fail = True
    slow_disk.released.set()
    logs = LogManager(tmp_path, LogConfig(segment_bytes=1_000), flusher=BackgroundFlusher())
    log = logs.create(TopicPartition("t", 0))
    while len(log.segments) < 2:
        log.append(batch(), leader_epoch=0)
    with pytest.raises(OSError):
        logs.close()
    assert (log.directory / CLEAN_SHUTDOWN_FILE).exists()  # each log was closed all the same


def test_a_broker_core_alone_flushes_at_once_and_a_broker_process_in_the_background(
    tmp_path: Path,
) -> None:
    # The simulation's power cut truncates each segment to what an fsync made durable: a
    # core that flushed in the background would lose every rolled segment to it.
    core = Broker(BrokerConfig(node_id=1, log_dir=tmp_path / "core"))
    assert isinstance(core.logs.flusher, InlineFlusher)
    process = Broker(BrokerConfig(node_id=1, log_dir=tmp_path / "net"), flush_in_background=True)
    assert isinstance(process.logs.flusher, BackgroundFlusher)
