"""One broker per data directory (Kafka's .lock): a second one is refused, and a crash
leaves no stale lock behind."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reflog.storage.dir_lock import DataDirLock, DataDirLockedError
from tests.broker_process import running_broker, start_broker


def test_a_second_lock_on_a_directory_is_refused_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    with DataDirLock(tmp_path), pytest.raises(DataDirLockedError, match=r"lock on file \.lock"):
        DataDirLock(tmp_path).acquire()
    with DataDirLock(tmp_path):  # released on leaving the block
        pass


def test_a_second_broker_on_the_same_data_dir_stops_with_one_line(tmp_path: Path) -> None:
    with running_broker(tmp_path) as first:
        second = subprocess.run(
            [sys.executable, "-m", "reflog", "broker", "--node-id", "1",
             "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"reflog broker: Failed to acquire lock on file .lock in {tmp_path}. "
            "A Kafka instance in another process or thread is using this directory."
        ]
        assert first.process.poll() is None


def test_a_killed_broker_leaves_no_stale_lock(tmp_path: Path) -> None:
    killed = start_broker(tmp_path)
    killed.process.send_signal(signal.SIGKILL)
    killed.process.wait(timeout=10)
    with running_broker(tmp_path) as restarted:
        assert restarted.process.poll() is None


def test_a_data_dir_restarted_under_another_node_id_stops_with_one_line(tmp_path: Path) -> None:
    # Its metadata log holds node 0's vote and replicas on node 0: as node 1 it would
    # start, then leave every partition without a leader.
    with running_broker(tmp_path):
        pass
    other = subprocess.run(
        [sys.executable, "-m", "reflog", "broker", "--node-id", "1",
         "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert other.returncode == 1
    [line] = other.stderr.strip().splitlines()
    assert line.startswith("reflog broker: Stored node id 0 in ")
    assert "doesn't match --node-id 1" in line
    with running_broker(tmp_path) as same:  # its own id still starts
        assert same.process.poll() is None
