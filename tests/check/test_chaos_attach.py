"""``reflog chaos --attach``: fault the cluster ``reflog cluster up`` started, and leave it up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.chaos.nodes import free_port_range

pytestmark = pytest.mark.clients  # real processes over real sockets


def reflog(*args: str, timeout: float = 110) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reflog", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def cluster_up(tmp_path: Path) -> Iterator[Path]:
    """`reflog cluster up` with 3 brokers and 1 controller; yields its data directory."""
    data_dir = tmp_path / "cluster"
    process = subprocess.Popen(
        [sys.executable, "-m", "reflog", "cluster", "up", "--data-dir", str(data_dir),
         "--brokers", "3", "--controllers", "1", "--port", str(free_port_range(4)),
         "--broker-session-timeout-ms", "2000", "--broker-heartbeat-interval-ms", "400"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once every node listens
        assert line.startswith("bootstrap servers:"), (
            process.stderr.read() if process.stderr else ""
        )
        yield data_dir
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def running(data_dir: Path) -> list[str]:
    """The nodes of cluster.json whose pid still runs their own command line."""
    state = json.loads((data_dir / "cluster.json").read_text())
    alive = []
    for node in state["nodes"]:
        try:
            cmdline = Path(f"/proc/{node['pid']}/cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        if cmdline == [a.encode() for a in node["argv"]]:
            alive.append(node["name"])
    return alive


def test_attached_to_cluster_up_the_safe_preset_passes_and_the_cluster_is_left_up(
    cluster_up: Path, tmp_path: Path
) -> None:
    report = tmp_path / "attached.html"
    done = reflog(
        "chaos", "--preset", "acks-all-min-insync-2", "--seed", "0", "--time-s", "8",
        "--attach", str(cluster_up), "--report", str(report),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "attached to 3 brokers" in done.stderr
    assert "valid: no anomaly" in done.stdout
    assert "faults: none" not in done.stdout
    assert " 0 acknowledged" not in done.stdout
    assert sorted(running(cluster_up)) == ["broker-1", "broker-2", "broker-3", "controller-3000"]


def test_attach_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    missing = reflog("chaos", "--preset", "acks1-unclean", "--attach", str(tmp_path))
    assert missing.returncode != 0
    assert "cluster.json" in missing.stderr and "Traceback" not in missing.stderr
    network = reflog(
        "chaos", "--preset", "acks1-unclean", "--attach", str(tmp_path), "--faults", "partition"
    )
    assert network.returncode != 0
    assert "no relays" in network.stderr and "Traceback" not in network.stderr
    both = reflog("chaos", "--preset", "acks1-unclean", "--attach", "a", "--data-dir", "b")
    assert both.returncode != 0 and "not allowed with" in both.stderr


def test_an_unknown_fault_is_a_one_line_error(tmp_path: Path) -> None:
    done = reflog(
        "chaos", "--preset", "acks1-unclean", "--data-dir", str(tmp_path / "d"),
        "--faults", "kill,flood",
    )  # fmt: skip
    assert done.returncode != 0
    assert "--faults takes some of kill, pause, partition, slow" in done.stderr
    assert "Traceback" not in done.stderr
