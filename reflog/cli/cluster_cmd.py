"""``reflog cluster up``: a whole cluster of OS processes on loopback, until Ctrl-C.

It starts M controllers (a Raft quorum) and N brokers that join them, each a
``reflog controller`` or ``reflog broker`` process with its own data directory
under ``--data-dir``; brokers listen from ``--port`` upward and controllers on
the ports after them. It prints the bootstrap servers, writes ``cluster.json``
(each node's command line and pid, so a node killed by hand can be started
again with the same command: it rejoins from its disk) and on SIGTERM or
Ctrl-C stops them all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reflog.cli.broker_cmd import check_data_dir
from reflog.cli.commands import CliError, Subparsers
from reflog.groups.config import GroupConfig

__all__ = ["register"]

FIRST_CONTROLLER_ID = 3000
STARTUP_TIMEOUT_S = 20.0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("cluster", help="run a cluster of broker and controller processes")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start the cluster in the foreground; Ctrl-C stops it")
    up.add_argument("--brokers", type=int, default=3)
    up.add_argument("--controllers", type=int, default=3)
    up.add_argument("--data-dir", required=True)
    up.add_argument("--port", type=int, default=9092, help="the first broker's port")
    up.add_argument("--broker-session-timeout-ms", type=int, default=9_000)
    up.add_argument("--broker-heartbeat-interval-ms", type=int, default=2_000)
    up.add_argument("--election-timeout-ms", type=int, default=1_000)
    up.add_argument("--num-partitions", type=int, default=1)
    up.add_argument(
        "--default-replication-factor",
        type=int,
        help="replicas of topics created without a factor (default: min(3, brokers))",
    )
    up.add_argument(
        "--offsets-topic-num-partitions",
        type=int,
        default=GroupConfig.offsets_topic_num_partitions,
        help="partitions of __consumer_offsets when it is created",
    )
    up.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    up.set_defaults(run=run_up)


def node_commands(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of every node, controllers first."""
    host = "127.0.0.1"
    controller_ids = [FIRST_CONTROLLER_ID + i for i in range(args.controllers)]
    controller_ports = [args.port + args.brokers + i for i in range(args.controllers)]
    voters = ",".join(
        f"{c}@{host}:{p}" for c, p in zip(controller_ids, controller_ports, strict=True)
    )
    python = [sys.executable, "-m", "reflog"]
    factor = args.default_replication_factor or min(3, args.brokers)
    commands = []
    for cid in controller_ids:
        commands.append(
            (
                f"controller-{cid}",
                [
                    *python, "controller",
                    "--node-id", str(cid),
                    "--controller-quorum-voters", voters,
                    "--data-dir", str(data_dir / f"controller-{cid}"),
                    "--broker-session-timeout-ms", str(args.broker_session_timeout_ms),
                    "--election-timeout-ms", str(args.election_timeout_ms),
                    "--num-partitions", str(args.num_partitions),
                    "--default-replication-factor", str(factor),
                    "--log-level", args.log_level,
                ],
            )
        )  # fmt: skip
    for b in range(args.brokers):
        node_id = b + 1
        commands.append(
            (
                f"broker-{node_id}",
                [
                    *python, "broker",
                    "--node-id", str(node_id),
                    "--listen", f"{host}:{args.port + b}",
                    "--data-dir", str(data_dir / f"broker-{node_id}"),
                    "--controller-quorum-voters", voters,
                    "--broker-heartbeat-interval-ms", str(args.broker_heartbeat_interval_ms),
                    "--num-partitions", str(args.num_partitions),
                    "--offsets-topic-num-partitions", str(args.offsets_topic_num_partitions),
                    "--log-level", args.log_level,
                ],
            )
        )  # fmt: skip
    return commands


def run_up(args: argparse.Namespace) -> int:
    if args.brokers < 1 or args.controllers < 1:
        raise CliError("a cluster needs at least one broker and one controller")
    if not 0 < args.port <= 65535 - args.brokers - args.controllers:
        raise CliError(f"--port {args.port} leaves no room for every node's port")
    data_dir = check_data_dir(Path(args.data_dir))
    commands = node_commands(args, data_dir)
    # Signals are taken one at a time with sigwait below, not by handlers.
    watched = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, argv in commands:
            # Children must not inherit our blocked signals, or SIGTERM would not stop them.
            processes[name] = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, watched),
            )
        for name, process in processes.items():
            _wait_listening(name, process)
        _write_state(data_dir, commands, processes)
        voters = commands[0][1][commands[0][1].index("--controller-quorum-voters") + 1]
        bootstrap = ",".join(f"127.0.0.1:{args.port + b}" for b in range(args.brokers))
        print(f"bootstrap servers: {bootstrap}")
        print(f"controllers: {voters}", flush=True)
        reported: set[str] = set()
        while signal.sigwait(watched) == signal.SIGCHLD:
            for name, process in processes.items():
                if process.poll() is not None and name not in reported:
                    # Perhaps killed on purpose (to watch a failover): report it, keep going.
                    print(f"{name} exited with status {process.returncode}", file=sys.stderr)
                    reported.add(name)
    finally:
        _stop_all(processes)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, watched)
    print("cluster stopped", file=sys.stderr)
    return 0


def _wait_listening(name: str, process: subprocess.Popen[bytes]) -> None:
    """Wait for the node's "listening on" line; a node that fails stops the whole start."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    line = process.stdout.readline()  # the node prints it once bound, then nothing more
    if b"listening on" not in line or time.monotonic() > deadline:
        process.wait(timeout=5)
        raise CliError(f"{name} did not start (exit status {process.returncode})")


def _write_state(
    data_dir: Path,
    commands: list[tuple[str, list[str]]],
    processes: dict[str, subprocess.Popen[bytes]],
) -> None:
    state = {
        "nodes": [
            {"name": name, "pid": processes[name].pid, "argv": argv} for name, argv in commands
        ]
    }
    tmp = data_dir / "cluster.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, data_dir / "cluster.json")


def _stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
