"""Start `reflog broker` as a real OS process for tests, and stop it."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

READY = re.compile(r"reflog broker (\d+) listening on ([\d.]+):(\d+)")


@dataclass
class BrokerProcess:
    process: subprocess.Popen[str]
    host: str
    port: int
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def create_topic(self, topic: str) -> None:
        """Have the broker auto-create ``topic`` and wait until it has its leaders."""
        from tests.net.wire_client import WireClient, create_topic

        client = WireClient(self.bootstrap)
        try:
            create_topic(client, topic)
        finally:
            client.close()

    def terminate(self, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start_broker(data_dir: Path, *extra: str, timeout: float = 20) -> BrokerProcess:
    """Run `reflog broker` on a free loopback port; return once it says it is listening."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reflog",
            "broker",
            "--node-id",
            "0",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            break
        match = READY.search(line)
        if match:
            return BrokerProcess(process, match.group(2), int(match.group(3)), data_dir)
    process.kill()
    _, err = process.communicate(timeout=5)
    raise RuntimeError(f"reflog broker did not start: {err.strip()}")


@contextmanager
def running_broker(data_dir: Path, *extra: str) -> Iterator[BrokerProcess]:
    broker = start_broker(data_dir, *extra)
    try:
        yield broker
    finally:
        if broker.process.poll() is None:
            broker.terminate()
