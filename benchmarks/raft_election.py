"""Time from a leader crash to a new leader, over many seeds of the simulation.

Raft's promise: with election timeouts drawn from [T, 2T), a new leader usually
appears within about two timeouts. Each seed runs a 5-node quorum, lets it elect
a leader, crashes the leader and measures (in virtual time) until another node
leads.

The tail is split votes: two followers whose timers fire within about one message
delay of each other both stand, split the votes, and wait another timeout. So the
figure depends on the ratio of network delay to election timeout, and the
benchmark prints two links: 1 ms per message (already slower than loopback or a
LAN) and 1-5 ms per message (a jittery network).

Run: `.venv/bin/python benchmarks/raft_election.py [--seeds 500]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.raft.core import RaftConfig, Role
from reflog.sim import LinkConfig, Simulation
from reflog.sim.raft_nodes import RaftSimNode

TIMEOUT = 150


def time_to_new_leader(seed: int, data_dir: Path, latency_ms_max: int) -> int:
    sim = Simulation(seed, LinkConfig(latency_ms_min=1, latency_ms_max=latency_ms_max))
    names = [f"n{i}" for i in range(5)]
    config = RaftConfig(election_timeout_ms=TIMEOUT, heartbeat_interval_ms=40)
    nodes = {n: RaftSimNode(n, names, config, data_dir) for n in names}
    for node in nodes.values():
        sim.add_node(node)

    def leader() -> str | None:
        leading = [n for n, node in nodes.items() if node.role == Role.LEADER]
        return leading[0] if len(leading) == 1 else None

    assert sim.run_until(lambda: leader() is not None, 10_000)
    sim.run_for(500)  # settle into a steady state
    old = leader()
    assert old is not None
    sim.crash(old)
    crashed_at = sim.now_ms
    assert sim.run_until(lambda: leader() not in (None, old), 20_000)
    return sim.now_ms - crashed_at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=500)
    args = parser.parse_args()
    print(
        f"seeds: {args.seeds}, 5 nodes, election timeout {TIMEOUT} ms, "
        f"drawn from [{TIMEOUT}, {2 * TIMEOUT})"
    )
    for latency_ms_max in (1, 5):
        times = []
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as tmp:
                times.append(time_to_new_leader(seed, Path(tmp), latency_ms_max))
        times.sort()
        within = sum(t <= 2 * TIMEOUT for t in times) / len(times)
        p90, p99 = times[int(0.9 * len(times))], times[int(0.99 * len(times))]
        link = "1 ms" if latency_ms_max == 1 else f"1-{latency_ms_max} ms"
        verdict = "met" if within >= 0.99 else "NOT MET"
        print(
            f"link {link} per message: time to a new leader p50 {statistics.median(times)} ms, "
            f"p90 {p90} ms, p99 {p99} ms, max {times[-1]} ms; within two election timeouts "
            f"({2 * TIMEOUT} ms): {within:.1%} (target 99%: {verdict})"
        )


if __name__ == "__main__":
    main()
