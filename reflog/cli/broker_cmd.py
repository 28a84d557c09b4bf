"""``reflog broker``: run one broker in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from reflog.broker import Broker
from reflog.cli.commands import CliError, Subparsers
from reflog.config import BrokerConfig
from reflog.net.server import BrokerServer, now_ms

__all__ = ["parse_host_port", "register"]


def parse_host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CliError(f"{option} must look like HOST:PORT, got {text!r}")
    return host, int(port)


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("broker", help="run a broker in the foreground")
    p.add_argument("--node-id", type=int, required=True, help="this broker's id (node.id)")
    p.add_argument(
        "--listen", default="127.0.0.1:9092", help="HOST:PORT to listen on (port 0: any)"
    )
    p.add_argument("--data-dir", required=True, help="directory for the partition logs (log.dirs)")
    p.add_argument("--advertised-listener", help="HOST:PORT clients are told (default: --listen)")
    p.add_argument(
        "--num-partitions", type=int, default=1, help="partitions of auto-created topics"
    )
    p.add_argument("--auto-create-topics-enable", type=_bool, default=True, metavar="true|false")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host, port = parse_host_port(args.listen, "--listen")
    if args.num_partitions < 1:
        raise CliError("--num-partitions must be at least 1")
    data_dir = Path(args.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".reflog-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CliError(f"cannot use data dir {data_dir}: {exc.strerror or exc}") from exc
    return asyncio.run(_serve(args, host, port, data_dir))


async def _serve(args: argparse.Namespace, host: str, port: int, data_dir: Path) -> int:
    advertised = args.advertised_listener
    broker_config = BrokerConfig(
        node_id=args.node_id,
        log_dir=data_dir,
        host=host,
        port=port,
        num_partitions=args.num_partitions,
        auto_create_topics_enable=args.auto_create_topics_enable,
    )
    server = BrokerServer(Broker(broker_config, now_ms()), host, port)
    try:
        bound = await server.start()
    except OSError as exc:
        server.broker.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    # With port 0 the real port is known only now; tell clients that one.
    adv_host, adv_port = (
        parse_host_port(advertised, "--advertised-listener") if advertised else (host, bound)
    )
    server.broker.config = BrokerConfig(
        **{**broker_config.__dict__, "host": adv_host, "port": adv_port}
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"reflog broker {args.node_id} listening on {host}:{bound}", flush=True)
    await stop.wait()
    await server.stop()
    print(f"reflog broker {args.node_id} stopped", file=sys.stderr, flush=True)
    return 0
