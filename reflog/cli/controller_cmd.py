"""``reflog controller``: run one controller of the quorum in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from reflog.cli import server_properties
from reflog.cli.broker_cmd import check_data_dir, lock_data_dir, parse_host_port, parse_voters
from reflog.cli.commands import CliError, Subparsers
from reflog.controller.config import ControllerConfig
from reflog.net.controller_server import ControllerServer
from reflog.raft.core import RaftConfig

__all__ = ["register"]


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() == "true"


def register(sub: Subparsers) -> None:
    p = sub.add_parser("controller", help="run a controller (a Raft voter) in the foreground")
    server_properties.add_arguments(p)
    p.add_argument("--node-id", type=int, help="this controller's id (node.id; required)")
    p.add_argument(
        "--controller-quorum-voters",
        help="every voter as ID@HOST:PORT, comma-separated (controller.quorum.voters; required)",
    )
    p.add_argument("--data-dir", help="directory for the metadata log (log.dirs; required)")
    p.add_argument("--listen", help="HOST:PORT to listen on (default: this node's voter address)")
    p.add_argument("--broker-session-timeout-ms", type=int, default=9_000)
    p.add_argument(
        "--election-timeout-ms",
        type=int,
        default=1_000,
        help="controller.quorum.election.timeout.ms (Raft's election timeout)",
    )
    p.add_argument("--num-partitions", type=int, default=1)
    p.add_argument("--default-replication-factor", type=int, default=1)
    p.add_argument(
        "--unclean-leader-election-enable", type=_bool, default=False, metavar="true|false"
    )
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(run=run, properties_parser=p)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server_properties.apply_properties(
        args, args.properties_parser, server_properties.CONTROLLER_NAMES, "controller"
    )
    if args.node_id is None or args.controller_quorum_voters is None or args.data_dir is None:
        raise CliError(
            "--node-id, --controller-quorum-voters and --data-dir (node.id, "
            "controller.quorum.voters and log.dirs) are required"
        )
    voters = parse_voters(args.controller_quorum_voters)
    if args.node_id not in voters:
        raise CliError(f"--node-id {args.node_id} is not one of --controller-quorum-voters")
    host, port = parse_host_port(args.listen, "--listen") if args.listen else voters[args.node_id]
    for name in ("broker_session_timeout_ms", "election_timeout_ms", "num_partitions"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name.replace('_', '-')} must be at least 1")
    data_dir = check_data_dir(Path(args.data_dir))
    timeout = args.election_timeout_ms
    config = ControllerConfig(
        node_id=args.node_id,
        voters=tuple(sorted(voters)),
        broker_session_timeout_ms=args.broker_session_timeout_ms,
        num_partitions=args.num_partitions,
        default_replication_factor=args.default_replication_factor,
        unclean_leader_election_enable=args.unclean_leader_election_enable,
        raft=RaftConfig(election_timeout_ms=timeout, heartbeat_interval_ms=max(1, timeout // 10)),
    )
    with lock_data_dir(data_dir, config.node_id):
        return asyncio.run(_serve(config, voters, data_dir, host, port))


async def _serve(
    config: ControllerConfig,
    voters: dict[int, tuple[str, int]],
    data_dir: Path,
    host: str,
    port: int,
) -> int:
    server = ControllerServer(config, voters, data_dir, host, port)
    try:
        bound = await server.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"reflog controller {config.node_id} listening on {host}:{bound}", flush=True)
    await stop.wait()
    await server.stop()
    print(f"reflog controller {config.node_id} stopped", file=sys.stderr, flush=True)
    return 0
