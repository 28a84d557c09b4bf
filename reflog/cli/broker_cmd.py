"""``reflog broker``: run one broker in the foreground until SIGTERM or Ctrl-C.

A broker always follows a metadata log. With ``--controller-quorum-voters`` it joins
the cluster those controllers run (registers, heartbeats, follows their metadata).
Without, it runs as Kafka 4's combined mode (``process.roles=broker,controller``): a
quorum of one controller, with the broker's node id, in the same process and event
loop, listening on ``--controller-listen`` (any free loopback port unless told), its
metadata log under ``<data-dir>/__cluster_metadata``. The broker then joins it exactly
as it would join a quorum of three, and a restart finds its topics in that log.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reflog.broker import Broker
from reflog.cli import server_properties
from reflog.cli.commands import CliError, Subparsers
from reflog.config import BrokerConfig
from reflog.controller.config import ControllerConfig
from reflog.groups.config import GroupConfig
from reflog.net.cluster_broker import ClusterBroker
from reflog.net.controller_server import ControllerServer
from reflog.net.server import BrokerServer, now_ms
from reflog.storage.dir_lock import DataDirLock, DataDirLockedError

__all__ = ["check_data_dir", "lock_data_dir", "parse_host_port", "parse_voters", "register"]

# Where a combined-mode broker keeps its controller's metadata log (Kafka:
# ``__cluster_metadata-0``; without a partition number the log manager, which takes
# every ``<topic>-<n>`` directory for a partition, leaves it alone).
METADATA_DIR = "__cluster_metadata"
META_PROPERTIES = "meta.properties"


def parse_host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CliError(f"{option} must look like HOST:PORT, got {text!r}")
    return host, int(port)


def parse_voters(text: str) -> dict[int, tuple[str, int]]:
    """Kafka's controller.quorum.voters: ``1@host:port,2@host:port``."""
    voters: dict[int, tuple[str, int]] = {}
    for item in text.split(","):
        node, sep, address = item.strip().partition("@")
        if not sep or not node.isdigit():
            raise CliError(f"--controller-quorum-voters wants ID@HOST:PORT items, got {item!r}")
        if int(node) in voters:
            raise CliError(f"--controller-quorum-voters names node {node} twice")
        voters[int(node)] = parse_host_port(address, "--controller-quorum-voters")
    return voters


def check_data_dir(data_dir: Path) -> Path:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".reflog-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CliError(f"cannot use data dir {data_dir}: {exc.strerror or exc}") from exc
    return data_dir


@contextmanager
def lock_data_dir(data_dir: Path, node_id: int) -> Iterator[None]:
    """Hold the directory's lock (Kafka's .lock): a second process on it stops here.
    Then check the directory belongs to ``node_id``."""
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirLockedError as exc:
        raise CliError(str(exc)) from exc
    try:
        check_node_id(data_dir, node_id)
        yield
    finally:
        lock.release()


def check_node_id(data_dir: Path, node_id: int) -> None:
    """Like Kafka's meta.properties: the first start writes its node.id there, and a later
    start with another id stops, since the logs (a Raft vote, replicas assigned to that
    id) belong to the node that wrote them.
    reflog simplification: only node.id is kept, no cluster.id or directory.id."""
    meta = data_dir / META_PROPERTIES
    if not meta.exists():
        meta.write_text(f"version=1\nnode.id={node_id}\n")
        return
    props = dict(line.split("=", 1) for line in meta.read_text().splitlines() if "=" in line)
    stored = props.get("node.id", "").strip()
    if stored != str(node_id):
        raise CliError(
            f"Stored node id {stored} in {meta} doesn't match --node-id {node_id}. If you "
            "moved your data, make sure your configured node id matches. If you intend to "
            "create a new node, you should remove all data in your data directories."
        )


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("broker", help="run a broker in the foreground")
    server_properties.add_arguments(p)
    p.add_argument("--node-id", type=int, help="this broker's id (node.id; required)")
    p.add_argument(
        "--listen", default="127.0.0.1:9092", help="HOST:PORT to listen on (port 0: any)"
    )
    p.add_argument("--data-dir", help="directory for the partition logs (log.dirs; required)")
    p.add_argument("--advertised-listener", help="HOST:PORT clients are told (default: --listen)")
    p.add_argument(
        "--num-partitions", type=int, default=1, help="partitions of auto-created topics"
    )
    p.add_argument("--auto-create-topics-enable", type=_bool, default=True, metavar="true|false")
    p.add_argument(
        "--controller-quorum-voters",
        help="join the cluster of these controllers: ID@HOST:PORT, comma-separated "
        "(without: run a controller of its own in this process, Kafka's combined mode)",
    )
    p.add_argument(
        "--controller-listen",
        default="127.0.0.1:0",
        help="combined mode: HOST:PORT of this process's own controller (port 0: any)",
    )
    p.add_argument("--broker-heartbeat-interval-ms", type=int, default=2_000)
    p.add_argument(
        "--offsets-topic-num-partitions",
        type=int,
        default=GroupConfig.offsets_topic_num_partitions,
        help="partitions of __consumer_offsets when it is created",
    )
    p.add_argument(
        "--group-initial-rebalance-delay-ms",
        type=int,
        default=GroupConfig.group_initial_rebalance_delay_ms,
        help="how long a new group's first rebalance waits for more members",
    )
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(run=run, properties_parser=p)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args.log_defaults = server_properties.apply_properties(
        args, args.properties_parser, server_properties.BROKER_NAMES, "broker", log_defaults=True
    )
    if args.node_id is None or args.data_dir is None:
        raise CliError("--node-id and --data-dir (node.id and log.dirs) are required")
    host, port = parse_host_port(args.listen, "--listen")
    if args.node_id < 0:  # -1 is the protocol's "no leader": partitions led by it look leaderless
        raise CliError("--node-id must be at least 0")
    if args.num_partitions < 1:
        raise CliError("--num-partitions must be at least 1")
    if args.offsets_topic_num_partitions < 1:
        raise CliError("--offsets-topic-num-partitions must be at least 1")
    if args.group_initial_rebalance_delay_ms < 0:
        raise CliError("--group-initial-rebalance-delay-ms must be at least 0")
    if args.broker_heartbeat_interval_ms < 1:
        raise CliError("--broker-heartbeat-interval-ms must be at least 1")
    voters = parse_voters(args.controller_quorum_voters) if args.controller_quorum_voters else None
    parse_host_port(args.controller_listen, "--controller-listen")
    data_dir = check_data_dir(Path(args.data_dir))
    with lock_data_dir(data_dir, args.node_id):
        return asyncio.run(_serve(args, host, port, data_dir, voters))


async def _serve(
    args: argparse.Namespace,
    host: str,
    port: int,
    data_dir: Path,
    voters: dict[int, tuple[str, int]] | None,
) -> int:
    advertised = args.advertised_listener
    broker_config = BrokerConfig(
        node_id=args.node_id,
        log_dir=data_dir,
        host=host,
        port=port,
        num_partitions=args.num_partitions,
        auto_create_topics_enable=args.auto_create_topics_enable,
        log=args.log_defaults,
        groups=GroupConfig(
            offsets_topic_num_partitions=args.offsets_topic_num_partitions,
            group_initial_rebalance_delay_ms=args.group_initial_rebalance_delay_ms,
        ),
    )
    server = BrokerServer(Broker(broker_config, now_ms(), flush_in_background=True), host, port)
    try:
        bound = await server.start(serve=False)
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
    controller = None
    if voters is None:
        controller, voters = await _combined_controller(args, data_dir, server)
    # Like a KRaft broker: register, catch up with the metadata log, be unfenced,
    # and only then take client requests.
    cluster = ClusterBroker(server, voters, args.broker_heartbeat_interval_ms)
    await cluster.start()
    running = asyncio.create_task(cluster.running.wait())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    running.cancel()
    stopping.cancel()
    if not stop.is_set():
        await server.serve()
        print(f"reflog broker {args.node_id} listening on {host}:{bound}", flush=True)
    await stop.wait()
    await cluster.stop()
    await server.stop()
    if controller is not None:
        await controller.stop()
    print(f"reflog broker {args.node_id} stopped", file=sys.stderr, flush=True)
    return 0


async def _combined_controller(
    args: argparse.Namespace, data_dir: Path, server: BrokerServer
) -> tuple[ControllerServer, dict[int, tuple[str, int]]]:
    """Start this process's own controller, a quorum of one that elects itself at once;
    return it and the voters the broker joins (it alone)."""
    host, port = parse_host_port(args.controller_listen, "--controller-listen")
    config = ControllerConfig(
        node_id=args.node_id,
        voters=(args.node_id,),
        num_partitions=args.num_partitions,
        default_replication_factor=1,  # one broker: every partition an ISR of one
    )
    controller = ControllerServer(
        config, {args.node_id: (host, port)}, data_dir / METADATA_DIR, host, port
    )
    try:
        bound = await controller.start()
    except OSError as exc:
        await server.stop()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return controller, {args.node_id: (host, bound)}
