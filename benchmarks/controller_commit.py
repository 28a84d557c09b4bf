"""Commit latency of metadata proposals on a real 3-controller quorum over loopback.

Three `reflog controller` processes form the quorum. A client sends
BrokerRegistration requests one after another to the active controller; each
is a metadata write that the controller answers only once it is committed: the
leader appends and fsyncs, a follower receives it, fsyncs and answers, the
leader commits and applies it, then replies. The figure printed next to it is
this machine's own floor for that path, measured in the same run: two fsyncs of
a small append (leader, then follower) and two loopback round trips.

Target (issue 4): p50 at most 5 ms.
Run: `.venv/bin/python benchmarks/controller_commit.py [--proposals 2000]`.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.wire.apis import CONTROLLER_API_TABLE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.quorum import (
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
    QuorumStateRequest,
    QuorumStateResponse,
)
from tests.cluster_process import free_port_range, wait_for
from tests.net.wire_client import WireClient


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def fsync_floor_ms(directory: Path, rounds: int = 500) -> float:
    times = []
    with open(directory / "fsync-probe", "ab") as f:
        for _ in range(rounds):
            start = time.perf_counter()
            f.write(b"x" * 200)
            f.flush()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def loopback_rtt_ms(rounds: int = 2000) -> float:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    for s in (client, peer):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.sendall(b"p" * 64)
        peer.recv(64)
        peer.sendall(b"q" * 64)
        client.recv(64)
        times.append(time.perf_counter() - start)
    for s in (client, peer, server):
        s.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reflog-commit-") as tmp:
        data = Path(tmp)
        base = free_port_range(3)
        ids = [3000, 3001, 3002]
        voters = ",".join(f"{c}@127.0.0.1:{base + i}" for i, c in enumerate(ids))
        processes = [
            subprocess.Popen(
                [
                    sys.executable, "-m", "reflog", "controller",
                    "--node-id", str(c),
                    "--controller-quorum-voters", voters,
                    "--data-dir", str(data / f"controller-{c}"),
                ],
                stdout=subprocess.DEVNULL,
            )
            for c in ids
        ]  # fmt: skip
        try:
            ports = {c: base + i for i, c in enumerate(ids)}

            def state(c: int) -> QuorumStateResponse | None:
                try:
                    client = WireClient(f"127.0.0.1:{ports[c]}", 2, CONTROLLER_API_TABLE)
                except OSError:
                    return None
                with client.sock:
                    answer = client.call(QuorumStateRequest(), 0)
                assert isinstance(answer, QuorumStateResponse)
                return answer

            def active() -> int | None:
                leaders = [c for c in ids if (s := state(c)) is not None and s.active]
                return leaders[0] if len(leaders) == 1 else None

            wait_for(lambda: active() is not None, 30, "an active controller")
            leader = active()
            assert leader is not None
            client = WireClient(f"127.0.0.1:{ports[leader]}", 10, CONTROLLER_API_TABLE)
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            latencies = []
            for i in range(args.proposals):
                request = BrokerRegistrationRequest(broker_id=i % 100, host="bench", port=1)
                start = time.perf_counter()
                answer = client.call(request, 0)
                latencies.append((time.perf_counter() - start) * 1000)
                assert isinstance(answer, BrokerRegistrationResponse)
                assert answer.error_code == ErrorCode.NONE, answer
            client.close()
        finally:
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(timeout=10)
        fsync = fsync_floor_ms(data)
    rtt = loopback_rtt_ms()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"{args.proposals} metadata proposals on a 3-controller quorum (3 processes, loopback)")
    print(
        f"  commit latency p50 {p50:.2f} ms  p90 {percentile(latencies, 90):.2f} ms  "
        f"p99 {p99:.2f} ms  max {max(latencies):.2f} ms"
    )
    floor = 2 * fsync + 2 * rtt
    print(
        f"  this machine: fsync {fsync:.3f} ms, loopback round trip {rtt:.3f} ms "
        f"-> floor (2 fsyncs + 2 round trips) {floor:.2f} ms"
    )
    print(f"  target p50 <= 5 ms: {'met' if p50 <= 5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
