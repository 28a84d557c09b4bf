"""A Kafka ``server.properties`` file for ``reflog broker`` and ``reflog controller``.

``reflog broker server.properties --override num.partitions=3`` reads Kafka's config
names (``node.id``, ``listeners``, ``log.dirs``, ``controller.quorum.voters``, the topic
defaults such as ``log.retention.ms``...) from the file, then each ``--override``, as
``kafka-server-start.sh`` does. reflog's own flags say the same things and win over both.
A name reflog does not know is reported on stderr and otherwise ignored, as Kafka warns of
an unknown config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from reflog.cli.commands import CliError
from reflog.storage.log_config import LogConfig
from reflog.storage.topic_config import BROKER_TOPIC_DEFAULTS, TopicConfigError, apply_overrides

__all__ = ["BROKER_NAMES", "CONTROLLER_NAMES", "add_arguments", "apply_properties"]

Parse = Callable[[str], object]


def _listener(value: str) -> str:
    """``PLAINTEXT://host:port,...`` (Kafka's listeners): the first one's HOST:PORT."""
    first = value.split(",")[0].strip()
    return first.split("://", 1)[-1]


def _first_dir(value: str) -> str:
    return value.split(",")[0].strip()


def _boolean(value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise ValueError("Expected value to be either true or false")
    return value.lower()


# Kafka's name -> (the argparse destination, how to read the value).
BROKER_NAMES: dict[str, tuple[str, Parse]] = {
    "node.id": ("node_id", int),
    "broker.id": ("node_id", int),
    "listeners": ("listen", _listener),
    "advertised.listeners": ("advertised_listener", _listener),
    "log.dirs": ("data_dir", _first_dir),
    "log.dir": ("data_dir", _first_dir),
    "num.partitions": ("num_partitions", int),
    "auto.create.topics.enable": ("auto_create_topics_enable", lambda v: _boolean(v) == "true"),
    "controller.quorum.voters": ("controller_quorum_voters", str),
    "broker.heartbeat.interval.ms": ("broker_heartbeat_interval_ms", int),
}
CONTROLLER_NAMES: dict[str, tuple[str, Parse]] = {
    "node.id": ("node_id", int),
    "controller.quorum.voters": ("controller_quorum_voters", str),
    "listeners": ("listen", _listener),
    "log.dirs": ("data_dir", _first_dir),
    "metadata.log.dir": ("data_dir", _first_dir),
    "broker.session.timeout.ms": ("broker_session_timeout_ms", int),
    "controller.quorum.election.timeout.ms": ("election_timeout_ms", int),
    "num.partitions": ("num_partitions", int),
    "default.replication.factor": ("default_replication_factor", int),
    "unclean.leader.election.enable": (
        "unclean_leader_election_enable",
        lambda v: _boolean(v) == "true",
    ),
}
# Names that say what a process is, which reflog's command already says.
_IGNORED = {"process.roles", "controller.listener.names", "listener.security.protocol.map",
            "inter.broker.listener.name"}  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config_file", nargs="?", help="a Kafka server.properties file")
    p.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a config over the file's (repeatable)",
    )


def _read(path: str | None, overrides: list[str]) -> dict[str, str]:
    props: dict[str, str] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith(("#", "!")):
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise CliError(f"{path} line {number}: expected name=value, got {line!r}")
            props[name.strip()] = value.strip()
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--override needs name=value, got {item!r}")
        props[name.strip()] = value.strip()
    return props


def apply_properties(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    names: dict[str, tuple[str, Parse]],
    command: str,
    log_defaults: bool = False,
) -> LogConfig:
    """Fill ``args`` from the file and overrides where no flag was given; return the topic
    defaults they set (``log.retention.ms``... when ``log_defaults``)."""
    props = _read(args.config_file, args.override)
    topic_defaults: dict[str, str] = {}
    for name, value in props.items():
        if name in names:
            dest, parse = names[name]
            if getattr(args, dest) != parser.get_default(dest):
                continue  # a flag given on the command line wins
            try:
                setattr(args, dest, parse(value))
            except ValueError as exc:
                reason = "Not a number of type INT" if parse is int else str(exc)
                raise CliError(f"Invalid value {value} for configuration {name}: {reason}") from exc
        elif log_defaults and name in BROKER_TOPIC_DEFAULTS:
            topic_defaults[BROKER_TOPIC_DEFAULTS[name]] = value
        elif name not in _IGNORED:
            print(f"reflog {command}: ignoring unknown config {name}", file=sys.stderr)
    try:
        return apply_overrides(LogConfig(), topic_defaults)
    except TopicConfigError as exc:
        raise CliError(str(exc)) from exc
