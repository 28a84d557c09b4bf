"""``reflog topics create|list|describe|delete|alter --bootstrap-server HOST:PORT``, as
``kafka-topics``: ``create --config k=v``, ``delete --topic T``, ``alter --partitions N``."""

from __future__ import annotations

import argparse
import base64

from reflog.cli.admin_calls import AdminSession, check, parse_pairs
from reflog.cli.client_runs import bootstrap_arg, error_name, no_answer, run_core
from reflog.cli.commands import CliError, Subparsers
from reflog.client.admin import Admin, AdminResult
from reflog.client.network import NETWORK_EXCEPTION
from reflog.net.client import now_ms
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.metadata import MetadataResponse
from reflog.wire.messages.topic_admin import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopic,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DeleteTopicState,
)

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    p = sub.add_parser("topics", help="create, list and describe topics")
    p.add_argument("action", choices=["create", "list", "describe", "delete", "alter"])
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    p.add_argument("--topic", help="the topic to create or describe")
    p.add_argument("--partitions", type=int, default=-1, help="partitions (default: the broker's)")
    p.add_argument("--replication-factor", type=int, default=-1)
    p.add_argument("--timeout-ms", type=int, default=10_000)
    p.add_argument(
        "--config", action="append", default=[], metavar="NAME=VALUE", help="a topic config"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.action in ("delete", "alter"):
        return _delete_or_alter(args)
    admin = Admin(bootstrap_arg(args.bootstrap_server))
    if args.action == "create":
        if not args.topic:
            raise CliError("create needs --topic")
        configs: dict[str, str] = {}
        for entry in args.config:
            configs.update(parse_pairs(entry, "--config"))
        admin.create_topic(args.topic, args.partitions, args.replication_factor, now_ms(), configs)
    else:
        admin.describe(now_ms())
    runner = run_core(admin, lambda: admin.result is not None, args.timeout_ms / 1000, "the broker")
    result = admin.result
    assert result is not None
    if result.error_code == NETWORK_EXCEPTION:
        # The request got no answer (the connection failed or closed): say why, as produce
        # and consume do, instead of a bare "NETWORK_EXCEPTION".
        raise no_answer(runner, "NETWORK_EXCEPTION: the broker closed the connection")
    if result.error_code != ErrorCode.NONE:
        raise CliError(_error_text(result))
    if args.action == "create":
        print(f"Created topic {args.topic}.")
        return 0
    assert result.metadata is not None
    return _print_topics(result.metadata, args.action, args.topic)


def _delete_or_alter(args: argparse.Namespace) -> int:
    if not args.topic:
        raise CliError(f"{args.action} needs --topic")
    session = AdminSession(args.bootstrap_server, args.timeout_ms)
    if args.action == "delete":
        # v6's layout: reflog's client speaks the newest version both sides have.
        named = [DeleteTopicState(name=args.topic)]
        request = DeleteTopicsRequest(topics=named, timeout_ms=args.timeout_ms)
        deleted = session.call(request, DeleteTopicsResponse)
        for result in deleted.responses:
            check(result.error_code, result.error_message, f"deleting {result.name}")
        print(f"Deleted topic {args.topic}.")
        return 0
    if args.partitions < 0:
        raise CliError("alter needs --partitions")
    topic = CreatePartitionsTopic(name=args.topic, count=args.partitions)
    altered = session.call(
        CreatePartitionsRequest(topics=[topic], timeout_ms=args.timeout_ms),
        CreatePartitionsResponse,
    )
    for answer in altered.results:
        check(answer.error_code, answer.error_message, f"altering {answer.name}")
    print(f"Topic {args.topic} now has {args.partitions} partitions.")
    return 0


def _error_text(result: AdminResult) -> str:
    name = error_name(result.error_code)
    return f"{name}: {result.message}" if result.message else name


def _print_topics(metadata: MetadataResponse, action: str, only: str | None) -> int:
    topics = sorted(metadata.topics, key=lambda t: t.name or "")
    if only is not None:
        topics = [t for t in topics if t.name == only]
        if not topics:
            raise CliError(f"UNKNOWN_TOPIC_OR_PARTITION: topic {only!r} does not exist")
    for topic in topics:
        if action == "list":
            print(topic.name)
            continue
        replication = len(topic.partitions[0].replica_nodes) if topic.partitions else 0
        # Kafka writes a topic id as URL-safe base64 without padding, as partition.metadata does.
        topic_id = base64.urlsafe_b64encode(topic.topic_id.bytes).decode().rstrip("=")
        print(
            f"Topic: {topic.name}\tTopicId: {topic_id}\tPartitionCount: {len(topic.partitions)}\t"
            f"ReplicationFactor: {replication}"
        )
        for p in sorted(topic.partitions, key=lambda p: p.partition_index):
            replicas = ",".join(map(str, p.replica_nodes))
            isr = ",".join(map(str, p.isr_nodes))
            print(
                f"\tTopic: {topic.name}\tPartition: {p.partition_index}\tLeader: {p.leader_id}\t"
                f"Replicas: {replicas}\tIsr: {isr}"
            )
    return 0
