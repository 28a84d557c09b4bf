"""Run `reflog cluster up` as real OS processes for tests, and ask its controllers about Raft."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from reflog.wire.apis import CONTROLLER_API_TABLE
from reflog.wire.messages.quorum import QuorumStateRequest, QuorumStateResponse

from .net.wire_client import WireClient


def free_port_range(count: int) -> int:
    """A first port such that ``count`` consecutive loopback ports are free right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65000:
            continue
        try:
            held = []
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free port range")


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    retrying: tuple[type[Exception], ...] = (),
) -> None:
    """Poll ``condition`` until it is true, failing with ``what`` after ``timeout`` seconds.

    ``retrying`` names the errors that only mean "not yet" (a controller change under way):
    ``condition`` is tried again, and a timeout shows the last of them. Any other error
    fails at once."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except retrying as error:
            last = error
        time.sleep(0.05)  # a poll interval, not synchronisation: the deadline decides
    because = "" if last is None else f" (the last try failed with {last!r})"
    raise AssertionError(f"timed out waiting for {what}{because}")


@dataclass
class ClusterProcess:
    process: subprocess.Popen[str]
    data_dir: Path
    bootstrap: str
    voters: dict[int, int]  # controller id -> port
    # Nodes this test started again itself (cluster.json still holds the first pid).
    restarted: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def nodes(self) -> dict[str, dict[str, object]]:
        state = json.loads((self.data_dir / "cluster.json").read_text())
        return {node["name"]: node for node in state["nodes"]}

    def quorum_state(self, controller_id: int) -> QuorumStateResponse | None:
        try:
            client = WireClient(
                f"127.0.0.1:{self.voters[controller_id]}", timeout=2, apis=CONTROLLER_API_TABLE
            )
        except OSError:
            return None
        try:
            response = client.call(QuorumStateRequest(), version=0)
        except OSError:
            return None
        finally:
            client.close()
        assert isinstance(response, QuorumStateResponse)
        return response

    def active_controller(self) -> int | None:
        active = [c for c in self.voters if (s := self.quorum_state(c)) is not None and s.active]
        return active[0] if len(active) == 1 else None

    def kill(self, name: str) -> None:
        again = self.restarted.get(name)
        if again is not None:
            again.kill()
            again.wait()
            return
        pid = self.nodes()[name]["pid"]
        assert isinstance(pid, int)
        os.kill(pid, signal.SIGKILL)

    def restart(self, name: str) -> None:
        """Start a node again with its original command line: it rejoins from its disk."""
        argv = self.nodes()[name]["argv"]
        assert isinstance(argv, list)
        err = (self.data_dir / f"{name}.restarted.err").open("w")
        self.restarted[name] = subprocess.Popen(
            [str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=err
        )


@contextmanager
def running_cluster(
    data_dir: Path, brokers: int = 3, controllers: int = 3, *extra: str
) -> Iterator[ClusterProcess]:
    base = free_port_range(brokers + controllers)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "reflog", "cluster", "up",
            "--brokers", str(brokers),
            "--controllers", str(controllers),
            "--data-dir", str(data_dir),
            "--port", str(base),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=(data_dir / "cluster.err").open("w"),  # a file: an unread pipe could fill
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own process group: the test can always kill them all
    )  # fmt: skip
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    bootstrap = None
    while bootstrap is None and time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("bootstrap servers: "):
            bootstrap = line.split(": ", 1)[1].strip()
    if bootstrap is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        err = (data_dir / "cluster.err").read_text()
        raise RuntimeError(f"reflog cluster up did not start: {err.strip()}")
    voters = {3000 + i: base + brokers + i for i in range(controllers)}
    cluster = ClusterProcess(process, data_dir, bootstrap, voters)
    try:
        yield cluster
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for extra_process in cluster.restarted.values():
            extra_process.terminate()
            extra_process.wait(timeout=10)
