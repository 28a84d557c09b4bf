"""``reflog configs --describe|--alter --entity-type topics|brokers --entity-name N``, as
``kafka-configs``: ``--add-config k=v,k2=v2`` and ``--delete-config k`` change configs with
IncrementalAlterConfigs; ``--describe`` lists the configs set (with ``--all``, every one)."""

from __future__ import annotations

import argparse

from reflog.cli.admin_calls import AdminSession, check, parse_pairs
from reflog.cli.commands import CliError, Subparsers
from reflog.controller.image import BROKER_RESOURCE, TOPIC_RESOURCE
from reflog.wire.messages.configs import (
    ConfigSource,
    DescribeConfigsRequest,
    DescribeConfigsResource,
    DescribeConfigsResponse,
)
from reflog.wire.messages.incremental_alter_configs import (
    AlterableConfig,
    AlterConfigsResource,
    ConfigOperation,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

__all__ = ["register"]

_TYPES = {"topics": TOPIC_RESOURCE, "brokers": BROKER_RESOURCE}


def register(sub: Subparsers) -> None:
    p = sub.add_parser("configs", help="describe and change topic and broker configs")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--describe", action="store_true")
    what.add_argument("--alter", action="store_true")
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    p.add_argument("--entity-type", required=True, choices=sorted(_TYPES))
    p.add_argument("--entity-name", help="the topic, or the broker id")
    p.add_argument(
        "--entity-default", action="store_true", help="every broker's default (brokers only)"
    )
    p.add_argument("--add-config", help="name=value[,name=value...]")
    p.add_argument("--delete-config", help="name[,name...]")
    p.add_argument("--all", action="store_true", help="describe every config, not only those set")
    p.add_argument("--timeout-ms", type=int, default=10_000)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    kind = _TYPES[args.entity_type]
    if args.entity_default:
        if kind != BROKER_RESOURCE:
            raise CliError("--entity-default applies to --entity-type brokers only")
        name = ""
    elif args.entity_name is None:
        raise CliError("--entity-name or --entity-default is required")
    else:
        name = args.entity_name
    session = AdminSession(args.bootstrap_server, args.timeout_ms)
    if args.describe:
        return _describe(session, kind, name, args.entity_type, args.all)
    adding = parse_pairs(args.add_config, "--add-config")
    deleting = [k.strip() for k in (args.delete_config or "").split(",") if k.strip()]
    if not adding and not deleting:
        raise CliError("--alter needs --add-config or --delete-config")
    entries = [AlterableConfig(name=k, config_operation=ConfigOperation.SET, value=v)
               for k, v in adding.items()]  # fmt: skip
    entries += [AlterableConfig(name=k, config_operation=ConfigOperation.DELETE) for k in deleting]
    resource = AlterConfigsResource(resource_type=kind, resource_name=name, configs=entries)
    response = session.call(
        IncrementalAlterConfigsRequest(resources=[resource]), IncrementalAlterConfigsResponse
    )
    for r in response.responses:
        check(r.error_code, r.error_message, f"altering {_entity(args.entity_type, name)}")
    print(f"Completed updating config for {_entity(args.entity_type, name)}.")
    return 0


def _entity(entity_type: str, name: str) -> str:
    if entity_type == "topics":
        return f"topic {name}"
    return "default brokers" if name == "" else f"broker {name}"


def _describe(session: AdminSession, kind: int, name: str, entity_type: str, every: bool) -> int:
    resource = DescribeConfigsResource(resource_type=kind, resource_name=name)
    # A broker's own configs are described by that broker, as kafka-configs asks them.
    node = int(name) if kind == BROKER_RESOURCE and name.isdigit() else None
    response = session.call(
        DescribeConfigsRequest(resources=[resource], include_synonyms=True),
        DescribeConfigsResponse,
        node,
    )
    (result,) = response.results
    check(result.error_code, result.error_message, f"describing {_entity(entity_type, name)}")
    heading = "All configs" if every else "Dynamic configs"
    print(f"{heading} for {_entity(entity_type, name)} are:")
    for c in result.configs:
        if not every and c.config_source == ConfigSource.DEFAULT_CONFIG:
            continue
        synonyms = ", ".join(
            f"{ConfigSource(s.source).name}:{s.name}={s.value}" for s in c.synonyms
        )
        print(
            f"  {c.name}={c.value} sensitive={str(c.is_sensitive).lower()} synonyms={{{synonyms}}}"
        )
    return 0
