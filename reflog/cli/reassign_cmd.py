"""``reflog reassign-partitions``, ``reflog leader-election`` and ``reflog delete-records``:
``kafka-reassign-partitions``, ``kafka-leader-election`` and ``kafka-delete-records``, with
their JSON files.

A reassignment plan is Kafka's JSON::

    {"version": 1, "partitions": [{"topic": "t", "partition": 0, "replicas": [2, 3]}]}

``--generate`` proposes one from ``--topics-to-move-json-file`` (``{"version": 1, "topics":
[{"topic": "t"}]}``) and ``--broker-list``; ``--execute`` starts it
(AlterPartitionReassignments); ``--verify`` says, partition by partition, whether it is done.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from reflog.cli.admin_calls import AdminSession, check, read_json
from reflog.cli.client_runs import error_name
from reflog.cli.commands import CliError, Subparsers
from reflog.controller.placement import assign_replicas
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopic,
    ElectionType,
    ElectLeadersRequest,
    ElectLeadersResponse,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    ReassignablePartition,
    ReassignableTopic,
    TopicPartitions,
)

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    p = sub.add_parser("reassign-partitions", help="move partitions between brokers")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--generate", action="store_true")
    mode.add_argument("--execute", action="store_true")
    mode.add_argument("--verify", action="store_true")
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    p.add_argument("--topics-to-move-json-file", help="for --generate")
    p.add_argument("--broker-list", help="for --generate: the brokers to spread over, 1,2,3")
    p.add_argument("--reassignment-json-file", help="for --execute and --verify")
    p.add_argument("--timeout-ms", type=int, default=10_000)
    p.set_defaults(run=run_reassign)

    e = sub.add_parser("leader-election", help="elect preferred (or unclean) leaders")
    e.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    e.add_argument("--election-type", required=True, choices=["preferred", "unclean"])
    which = e.add_mutually_exclusive_group(required=True)
    which.add_argument("--topic")
    which.add_argument("--all-topic-partitions", action="store_true")
    e.add_argument("--partition", type=int, help="with --topic: only this partition")
    e.add_argument("--timeout-ms", type=int, default=10_000)
    e.set_defaults(run=run_election)

    d = sub.add_parser("delete-records", help="delete records below an offset")
    d.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    d.add_argument(
        "--offset-json-file",
        required=True,
        help='{"partitions": [{"topic": "t", "partition": 0, "offset": 5}], "version": 1}',
    )
    d.add_argument("--timeout-ms", type=int, default=10_000)
    d.set_defaults(run=run_delete_records)


# -- reassign-partitions --------------------------------------------------------------------
def _plan(path: str | None, option: str) -> list[tuple[str, int, list[int]]]:
    if path is None:
        raise CliError(f"{option} is required")
    data = read_json(path, option)
    try:
        return [
            (str(p["topic"]), int(p["partition"]), [int(r) for r in p["replicas"]])
            for p in data["partitions"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"{option} {path} is not a reassignment plan: {exc!r}") from exc


def _as_json(plan: list[tuple[str, int, list[int]]]) -> str:
    partitions = [
        {"topic": t, "partition": p, "replicas": r, "log_dirs": ["any"] * len(r)}
        for t, p, r in plan
    ]
    return json.dumps({"version": 1, "partitions": partitions})


def _current(session: AdminSession, topics: set[str]) -> list[tuple[str, int, list[int]]]:
    request = MetadataRequest(
        topics=[MetadataRequestTopic(name=t) for t in sorted(topics)],
        allow_auto_topic_creation=False,
    )
    metadata = session.call(request, MetadataResponse)
    out = []
    for topic in metadata.topics:
        check(topic.error_code, None, f"topic {topic.name}")
        if topic.name is None:
            continue  # only a topic asked for by id has none; this asks by name
        for p in sorted(topic.partitions, key=lambda p: p.partition_index):
            out.append((topic.name, p.partition_index, list(p.replica_nodes)))
    return out


def run_reassign(args: argparse.Namespace) -> int:
    session = AdminSession(args.bootstrap_server, args.timeout_ms)
    if args.generate:
        return _generate(session, args)
    plan = _plan(args.reassignment_json_file, "--reassignment-json-file")
    if args.execute:
        current = _current(session, {t for t, _, _ in plan})
        print(f"Current partition replica assignment\n\n{_as_json(current)}\n")
        print("Save this to use as the --reassignment-json-file option during rollback")
        by_topic: dict[str, list[ReassignablePartition]] = {}
        for topic, partition, replicas in plan:
            by_topic.setdefault(topic, []).append(
                ReassignablePartition(partition_index=partition, replicas=replicas)
            )
        request = AlterPartitionReassignmentsRequest(
            timeout_ms=args.timeout_ms,
            topics=[ReassignableTopic(name=t, partitions=ps) for t, ps in by_topic.items()],
        )
        response = session.call(request, AlterPartitionReassignmentsResponse)
        check(response.error_code, response.error_message, "reassigning")
        for topic_answer in response.responses:
            for p in topic_answer.partitions:
                check(
                    p.error_code,
                    p.error_message,
                    f"reassigning {topic_answer.name}-{p.partition_index}",
                )
        started = ",".join(f"{t}-{p}" for t, p, _ in plan)
        print(f"Successfully started partition reassignments for {started}")
        return 0
    ongoing = session.call(ListPartitionReassignmentsRequest(), ListPartitionReassignmentsResponse)
    check(ongoing.error_code, ongoing.error_message, "listing reassignments")
    moving = {(t.name, p.partition_index) for t in ongoing.topics for p in t.partitions}
    placed = {(t, p): r for t, p, r in _current(session, {t for t, _, _ in plan})}
    print("Status of partition reassignment:")
    done = True
    for topic, partition, replicas in plan:
        if (topic, partition) in moving:
            state, done = "still in progress", False
        elif placed.get((topic, partition)) == replicas:
            state = "completed"
        else:
            state, done = "failed: the replicas are not the ones planned", False
        print(f"Reassignment of partition {topic}-{partition} is {state}.")
    return 0 if done else 1


def _generate(session: AdminSession, args: argparse.Namespace) -> int:
    if args.topics_to_move_json_file is None or args.broker_list is None:
        raise CliError("--generate needs --topics-to-move-json-file and --broker-list")
    data = read_json(args.topics_to_move_json_file, "--topics-to-move-json-file")
    try:
        topics = {str(t["topic"]) for t in data["topics"]}
        brokers = [int(b) for b in args.broker_list.split(",")]
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"cannot read the topics or --broker-list: {exc!r}") from exc
    current = _current(session, topics)
    proposed = []
    for topic in sorted(topics):
        partitions = [(p, r) for t, p, r in current if t == topic]
        factor = len(partitions[0][1]) if partitions else 0
        if factor > len(brokers):
            raise CliError(
                f"INVALID_REPLICATION_FACTOR: {topic} has {factor} replicas, "
                f"more than the {len(brokers)} brokers listed"
            )
        # Kafka spreads them with its own placement; reflog's is round-robin.
        spread = assign_replicas(brokers, len(partitions), factor, 0)
        proposed += [(topic, p, spread[i]) for i, (p, _) in enumerate(partitions)]
    print(f"Current partition replica assignment\n{_as_json(current)}\n")
    print(f"Proposed partition reassignment configuration\n{_as_json(proposed)}")
    return 0


# -- leader-election ------------------------------------------------------------------------
def run_election(args: argparse.Namespace) -> int:
    session = AdminSession(args.bootstrap_server, args.timeout_ms)
    kind = ElectionType.PREFERRED if args.election_type == "preferred" else ElectionType.UNCLEAN
    chosen: list[TopicPartitions] | None = None
    if args.topic is not None:
        partitions = (
            [args.partition]
            if args.partition is not None
            else [p for _, p, _ in _current(session, {args.topic})]
        )
        chosen = [TopicPartitions(topic=args.topic, partitions=partitions)]
    request = ElectLeadersRequest(
        election_type=kind, topic_partitions=chosen, timeout_ms=args.timeout_ms
    )
    response = session.call(request, ElectLeadersResponse)
    check(response.error_code, None, "electing leaders")
    elected, not_needed, failed = [], [], []
    for topic in response.replica_election_results:
        for r in topic.partition_result:
            name = f"{topic.topic}-{r.partition_id}"
            if r.error_code == ErrorCode.NONE:
                elected.append(name)
            elif r.error_code == ErrorCode.ELECTION_NOT_NEEDED:
                not_needed.append(name)
            else:
                failed.append(f"{name}: {error_name(r.error_code)}: {r.error_message}")
    label = "PREFERRED" if kind == ElectionType.PREFERRED else "UNCLEAN"
    if elected:
        print(
            f"Successfully completed leader election ({label}) for partitions {', '.join(elected)}"
        )
    if not_needed:
        print(f"Valid replica already elected for partitions {', '.join(not_needed)}")
    if failed:
        raise CliError(f"leader election failed for {len(failed)} partition(s): {failed[0]}")
    return 0


# -- delete-records -------------------------------------------------------------------------
def run_delete_records(args: argparse.Namespace) -> int:
    data: Any = read_json(args.offset_json_file, "--offset-json-file")
    try:
        wanted = [
            (str(p["topic"]), int(p["partition"]), int(p["offset"])) for p in data["partitions"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"--offset-json-file is not an offset list: {exc!r}") from exc
    session = AdminSession(args.bootstrap_server, args.timeout_ms)
    leaders = session.leaders({t for t, _, _ in wanted})
    print("Records delete operation completed:")
    for topic, partition, offset in wanted:
        leader = leaders.get((topic, partition), -1)
        if leader < 0:
            raise CliError(f"{topic}-{partition}: UNKNOWN_TOPIC_OR_PARTITION or no leader")
        request = DeleteRecordsRequest(
            topics=[
                DeleteRecordsTopic(
                    name=topic,
                    partitions=[DeleteRecordsPartition(partition_index=partition, offset=offset)],
                )
            ],
            timeout_ms=args.timeout_ms,
        )
        response = session.call(request, DeleteRecordsResponse, leader)
        (result,) = response.topics[0].partitions
        if result.error_code != ErrorCode.NONE:
            print(f"partition: {topic}-{partition}\terror: {error_name(result.error_code)}")
            raise CliError(
                f"deleting records of {topic}-{partition}: {error_name(result.error_code)}"
            )
        print(f"partition: {topic}-{partition}\tlow_watermark: {result.low_watermark}")
    return 0
