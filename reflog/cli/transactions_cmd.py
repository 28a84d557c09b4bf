"""``reflog transactions``: look at producers and transactions, abort a hanging one.

The commands, options and printed tables are those of Kafka's ``kafka-transactions.sh``
(KIP-664); ``--bootstrap-server`` may come before the command, as Kafka's tool has it, or
after it::

    reflog transactions --bootstrap-server HOST:PORT list [--duration-filter MS]
    reflog transactions --bootstrap-server HOST:PORT describe --transactional-id ID
    reflog transactions --bootstrap-server HOST:PORT describe-producers --topic T --partition P
        [--broker-id N]
    reflog transactions --bootstrap-server HOST:PORT abort --topic T --partition P
        (--start-offset O | --producer-id I --producer-epoch E --coordinator-epoch C)
    reflog transactions --bootstrap-server HOST:PORT find-hanging (--topic T [--partition P] |
        --broker-id N) [--max-transaction-timeout MINUTES]

``list`` asks every broker (each coordinates the ids of the ``__transaction_state``
partitions it leads), ``describe`` the id's coordinator, ``describe-producers`` the
partition's leader or the replica ``--broker-id`` names. ``abort`` writes an ABORT marker
to the partition (WriteTxnMarkers to its leader) for the producer whose open transaction
starts at ``--start-offset``. ``find-hanging`` lists the open transactions older than
``--max-transaction-timeout`` whose coordinator no longer counts the partition in them:
markers that will never come, holding the last stable offset back.

Tables are printed as Kafka's tools print them: each cell padded to its column's width and
followed by a tab.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reflog.cli.admin_calls import AdminSession
from reflog.cli.client_runs import error_name
from reflog.cli.commands import CliError, Subparsers
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    ProducerState,
    TopicRequest,
)
from reflog.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    TransactionState,
)
from reflog.wire.messages.find_coordinator import (
    TRANSACTION_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.messages.transactions import (
    WritableTxnMarker,
    WritableTxnMarkerTopic,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)

__all__ = ["register"]

NONE = "None"  # what Kafka's tool prints for a value that is absent
# Errors that only mean "not yet" (a coordinator moving or loading): asked again, as
# Kafka's admin client does, every retry.backoff.ms until the timeout.
_RETRIABLE = {
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.NOT_COORDINATOR,
}
_RETRY_BACKOFF_S = 0.1
T = TypeVar("T")


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "transactions",
        help="describe producers and transactions, abort hanging ones",
        description="Look at the transactional state of producers in the cluster, and find "
        "and abort hanging transactions, as kafka-transactions.sh does.",
    )
    p.add_argument("--bootstrap-server", help="HOST:PORT of a broker")
    p.add_argument("--timeout-ms", type=int, default=10_000, help="ms to wait for answers")
    commands = p.add_subparsers(dest="transactions_command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        c = commands.add_parser(name, help=help_)
        # Also accepted after the command; SUPPRESS keeps one given before it.
        c.add_argument("--bootstrap-server", default=argparse.SUPPRESS, help="HOST:PORT")
        return c

    ls = command("list", "list transactions")
    ls.add_argument(
        "--duration-filter", type=int, metavar="MS", help="only those running longer than MS"
    )
    d = command("describe", "describe the state of an active transactional-id")
    d.add_argument("--transactional-id", required=True, help="transactional id")
    dp = command("describe-producers", "describe the active producers of a partition")
    dp.add_argument("--topic", required=True, help="topic name")
    dp.add_argument("--partition", type=int, required=True, help="partition number")
    dp.add_argument("--broker-id", type=int, help="ask this replica instead of the leader")
    ab = command("abort", "abort a hanging transaction")
    ab.add_argument("--topic", required=True, help="topic name")
    ab.add_argument("--partition", type=int, required=True, help="partition number")
    ab.add_argument("--start-offset", type=int, help="start offset of the transaction to abort")
    # Kafka's tool takes these three for brokers older than 3.0 (no DescribeProducers).
    ab.add_argument("--producer-id", type=int, help="producer id (instead of --start-offset)")
    ab.add_argument("--producer-epoch", type=int, help="producer epoch (with --producer-id)")
    ab.add_argument("--coordinator-epoch", type=int, help="coordinator epoch (with --producer-id)")
    fh = command("find-hanging", "find hanging transactions")
    fh.add_argument("--broker-id", type=int, help="search the partitions of this broker")
    fh.add_argument("--topic", help="search this topic (required with --partition)")
    fh.add_argument("--partition", type=int, help="partition number (with --topic)")
    fh.add_argument(
        "--max-transaction-timeout",
        type=int,
        default=15,
        metavar="MINUTES",
        help="only transactions idle longer than this (default 15)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.bootstrap_server:
        raise CliError("--bootstrap-server is required")
    if getattr(args, "partition", None) is not None and args.partition < 0:
        raise CliError("--partition must not be negative")
    session = AdminSession(args.bootstrap_server, args.timeout_ms)
    match args.transactions_command:
        case "list":
            _list(session, args.duration_filter)
        case "describe":
            _describe(session, args.transactional_id)
        case "describe-producers":
            _describe_producers(session, args.topic, args.partition, args.broker_id)
        case "abort":
            _abort(session, args)
        case "find-hanging":
            _find_hanging(session, args)
    return 0


# -- the tables ---------------------------------------------------------------------------
def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Kafka's ``ToolsUtils.prettyPrintTable``: every cell left-aligned in its column's
    width, each followed by a tab."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("".join(cell.ljust(width) + "\t" for cell, width in zip(row, widths, strict=True)))


def _tp(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"  # Kafka's TopicPartition.toString


# -- asking ---------------------------------------------------------------------------------
def _retrying(session: AdminSession, ask: Callable[[], tuple[int, T]]) -> tuple[int, T]:
    """``ask()`` again while it answers a retriable error and the timeout allows."""
    deadline = time.monotonic() + session.timeout_s
    while True:
        error, answer = ask()
        if error not in _RETRIABLE or time.monotonic() + _RETRY_BACKOFF_S > deadline:
            return error, answer
        time.sleep(_RETRY_BACKOFF_S)  # retry.backoff.ms


def _metadata(session: AdminSession, topics: list[str] | None) -> MetadataResponse:
    """Metadata for ``topics`` (None: all), never creating one (as Kafka's admin asks)."""
    asked = None if topics is None else [MetadataRequestTopic(name=t) for t in topics]
    request = MetadataRequest(topics=asked, allow_auto_topic_creation=False)
    return session.call(request, MetadataResponse)


def _leader(session: AdminSession, tp: TopicPartition) -> tuple[int, int]:
    """(error, leader id) of ``tp``, from the metadata."""
    for topic in _metadata(session, [tp.topic]).topics:
        if topic.error_code != ErrorCode.NONE:
            return topic.error_code, -1
        for p in topic.partitions:
            if p.partition_index == tp.partition:
                if p.leader_id < 0:
                    return ErrorCode.LEADER_NOT_AVAILABLE, -1
                return ErrorCode.NONE, p.leader_id
    return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1


def _producers(
    session: AdminSession, partitions: list[TopicPartition], node: int
) -> dict[TopicPartition, tuple[int, list[ProducerState]]]:
    """DescribeProducers of ``partitions`` on broker ``node``: per partition, its error
    and its active producers."""
    by_topic: dict[str, list[int]] = {}
    for tp in partitions:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    request = DescribeProducersRequest(
        topics=[TopicRequest(name=t, partition_indexes=ps) for t, ps in by_topic.items()]
    )
    response = session.call(request, DescribeProducersResponse, node)
    return {
        TopicPartition(topic.name, p.partition_index): (p.error_code, p.active_producers)
        for topic in response.topics
        for p in topic.partitions
    }


def _coordinator(session: AdminSession, transactional_id: str) -> tuple[int, int]:
    """(error, node id) of the transaction coordinator of ``transactional_id``."""

    def ask() -> tuple[int, int]:
        request = FindCoordinatorRequest(key=transactional_id, key_type=TRANSACTION_KEY_TYPE)
        answer = session.call(request, FindCoordinatorResponse)
        return answer.error_code, answer.node_id

    return _retrying(session, ask)


def _transaction(
    session: AdminSession, transactional_id: str
) -> tuple[int, tuple[int, TransactionState]]:
    """DescribeTransactions of one id at its coordinator, found again if it moved: the
    error, and the coordinator's id with its answer."""

    def ask() -> tuple[int, tuple[int, TransactionState]]:
        error, node = _coordinator(session, transactional_id)
        if error != ErrorCode.NONE:
            return error, (node, TransactionState(error, transactional_id))
        request = DescribeTransactionsRequest(transactional_ids=[transactional_id])
        [state] = session.call(request, DescribeTransactionsResponse, node).transaction_states
        return state.error_code, (node, state)

    return _retrying(session, ask)


def _listings(
    session: AdminSession, producer_ids: list[int], duration_filter: int | None
) -> list[tuple[int, ListTransactionsResponse]]:
    """ListTransactions from every live broker: (broker id, its answer)."""
    request = ListTransactionsRequest(
        producer_id_filters=producer_ids,
        duration_filter=-1 if duration_filter is None else duration_filter,
    )
    answers = []
    # The live brokers from a Metadata answer of our own: AdminSession.brokers can return
    # while the client is still connecting for its own metadata request, and the runner
    # it closes then leaves that connection "connecting" for the next call to wait on.
    for broker in sorted(b.node_id for b in _metadata(session, []).brokers):

        def ask(broker: int = broker) -> tuple[int, ListTransactionsResponse]:
            answer = session.call(request, ListTransactionsResponse, broker)
            return answer.error_code, answer

        error, answer = _retrying(session, ask)
        if error != ErrorCode.NONE:
            raise CliError(f"Failed to list transactions: {error_name(error)}")
        answers.append((broker, answer))
    return answers


# -- the commands -----------------------------------------------------------------------------
def _list(session: AdminSession, duration_filter: int | None) -> None:
    rows = [
        [t.transactional_id, str(broker), str(t.producer_id), t.transaction_state]
        for broker, answer in _listings(session, [], duration_filter)
        for t in answer.transaction_states
    ]
    _print_table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], rows)


def _describe(session: AdminSession, transactional_id: str) -> None:
    error, (coordinator, state) = _transaction(session, transactional_id)
    if error != ErrorCode.NONE:
        raise CliError(
            f"Failed to describe transaction state of transactional-id `{transactional_id}`: "
            f"{error_name(error)}"
        )
    started = state.transaction_start_time_ms
    now_ms = int(time.time() * 1000)
    partitions = [_tp(TopicPartition(t.topic, p)) for t in state.topics for p in t.partitions]
    row = [
        str(coordinator),
        transactional_id,
        str(state.producer_id),
        str(state.producer_epoch),
        state.transaction_state,
        str(state.transaction_timeout_ms),
        NONE if started < 0 else str(started),
        NONE if started < 0 else str(now_ms - started),
        ",".join(partitions),
    ]
    headers = [
        "CoordinatorId",
        "TransactionalId",
        "ProducerId",
        "ProducerEpoch",
        "TransactionState",
        "TransactionTimeoutMs",
        "CurrentTransactionStartTimeMs",
        "TransactionDurationMs",
        "TopicPartitions",
    ]
    _print_table(headers, [row])


def _partition_producers(
    session: AdminSession, tp: TopicPartition, broker_id: int | None, failure: str
) -> list[ProducerState]:
    """The active producers of ``tp`` on ``broker_id`` (None: its leader), or a CliError
    that starts with ``failure``."""
    node = broker_id
    if node is None:
        error, node = _leader(session, tp)
        if error != ErrorCode.NONE:
            raise CliError(f"{failure}: {error_name(error)}")
    error, producers = _producers(session, [tp], node)[tp]
    if error != ErrorCode.NONE:
        raise CliError(f"{failure}: {error_name(error)}")
    return producers


def _describe_producers(
    session: AdminSession, topic: str, partition: int, broker_id: int | None
) -> None:
    tp = TopicPartition(topic, partition)
    where = "leader" if broker_id is None else f"broker {broker_id}"
    producers = _partition_producers(
        session, tp, broker_id, f"Failed to describe producers for partition {_tp(tp)} on {where}"
    )
    rows = [
        [
            str(p.producer_id),
            str(p.producer_epoch),
            str(p.coordinator_epoch),
            str(p.last_sequence),
            str(p.last_timestamp),
            NONE if p.current_txn_start_offset < 0 else str(p.current_txn_start_offset),
        ]
        for p in producers
    ]
    headers = [
        "ProducerId",
        "ProducerEpoch",
        "LatestCoordinatorEpoch",
        "LastSequence",
        "LastTimestamp",
        "CurrentTransactionStartOffset",
    ]
    _print_table(headers, rows)


@dataclass(frozen=True)
class _AbortSpec:
    """Kafka's ``AbortTransactionSpec``: the marker to write, and where."""

    tp: TopicPartition
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int

    def __str__(self) -> str:
        return (
            f"AbortTransactionSpec(topicPartition={_tp(self.tp)}, producerId={self.producer_id}"
            f", producerEpoch={self.producer_epoch}, coordinatorEpoch={self.coordinator_epoch})"
        )


def _abort_spec(session: AdminSession, args: argparse.Namespace) -> _AbortSpec:
    tp = TopicPartition(args.topic, args.partition)
    if args.start_offset is None and args.producer_id is None:
        raise CliError(
            "The transaction to abort must be identified either with --start-offset (for "
            "brokers on 3.0 or above) or with --producer-id, --producer-epoch, and "
            "--coordinator-epoch (for older brokers)"
        )
    if args.start_offset is None:
        if args.producer_epoch is None:
            raise CliError("Missing required argument --producer-epoch")
        if args.coordinator_epoch is None:
            raise CliError("Missing required argument --coordinator-epoch")
        # As Kafka's tool: -1 (the producer never had a marker here) is sent as 0, no
        # newer than any coordinator's epoch.
        return _AbortSpec(tp, args.producer_id, args.producer_epoch, max(args.coordinator_epoch, 0))
    producers = _partition_producers(
        session, tp, None, f"Failed to validate producer state for partition {_tp(tp)}"
    )
    for p in producers:
        if p.current_txn_start_offset == args.start_offset:
            return _AbortSpec(tp, p.producer_id, p.producer_epoch, max(p.coordinator_epoch, 0))
    raise CliError(
        f"Could not find any open transactions starting at offset {args.start_offset} "
        f"on partition {_tp(tp)}"
    )


def _abort(session: AdminSession, args: argparse.Namespace) -> None:
    spec = _abort_spec(session, args)
    error, leader = _leader(session, spec.tp)
    if error == ErrorCode.NONE:
        marker = WritableTxnMarker(
            producer_id=spec.producer_id,
            producer_epoch=spec.producer_epoch,
            transaction_result=False,  # ABORT
            topics=[
                WritableTxnMarkerTopic(name=spec.tp.topic, partition_indexes=[spec.tp.partition])
            ],
            coordinator_epoch=spec.coordinator_epoch,
        )
        request = WriteTxnMarkersRequest(markers=[marker])
        response = session.call(request, WriteTxnMarkersResponse, leader)
        errors = [p.error_code for m in response.markers for t in m.topics for p in t.partitions]
        error = next((e for e in errors if e != ErrorCode.NONE), ErrorCode.NONE)
    if error != ErrorCode.NONE:
        raise CliError(f"Failed to abort transaction {spec}: {error_name(error)}")


def _find_hanging(session: AdminSession, args: argparse.Namespace) -> None:
    if args.topic is None and args.broker_id is None:
        raise CliError(
            "The `find-hanging` command requires either --topic or --broker-id to limit the "
            "scope of the search"
        )
    if args.partition is not None and args.topic is None:
        raise CliError("The --partition argument requires --topic to be provided")
    max_timeout_ms = args.max_transaction_timeout * 60_000
    now_ms = int(time.time() * 1000)
    open_txns = [
        (tp, p)
        for tp, p in _open_transactions(session, args)
        if now_ms - p.last_timestamp > max_timeout_ms
    ]
    # Which transactional id each producer id belongs to, and what its coordinator says.
    producer_ids = sorted({p.producer_id for _, p in open_txns})
    ids: dict[int, str] = {}
    if producer_ids:
        for _, answer in _listings(session, producer_ids, None):
            ids.update({t.producer_id: t.transactional_id for t in answer.transaction_states})
    hanging = []
    for tp, p in open_txns:
        transactional_id = ids.get(p.producer_id)
        if transactional_id is not None:
            error, (_, state) = _transaction(session, transactional_id)
            if error not in (ErrorCode.NONE, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND):
                raise CliError(f"Failed to describe 1 transactions: {error_name(error)}")
            in_txn = {TopicPartition(t.topic, q) for t in state.topics for q in t.partitions}
            if error == ErrorCode.NONE and tp in in_txn:
                continue  # its coordinator will still write the marker: not hanging
        hanging.append(
            [
                tp.topic,
                str(tp.partition),
                str(p.producer_id),
                str(p.producer_epoch),
                str(p.coordinator_epoch),
                str(p.current_txn_start_offset),
                str(p.last_timestamp),
                str((now_ms - p.last_timestamp) // 60_000),
            ]
        )
    headers = [
        "Topic",
        "Partition",
        "ProducerId",
        "ProducerEpoch",
        "CoordinatorEpoch",
        "StartOffset",
        "LastTimestamp",
        "Duration(min)",
    ]
    _print_table(headers, hanging)


def _open_transactions(
    session: AdminSession, args: argparse.Namespace
) -> list[tuple[TopicPartition, ProducerState]]:
    """The producers with a transaction open, in the partitions searched: those of
    ``--topic`` (or only ``--partition`` of it), or every partition ``--broker-id`` holds,
    asked of that broker, else of each partition's leader."""
    metadata = _metadata(session, None if args.topic is None else [args.topic])
    by_node: dict[int, list[TopicPartition]] = {}
    for topic in metadata.topics:
        if topic.error_code != ErrorCode.NONE or topic.name is None:
            raise CliError(f"Failed to describe 1 topics: {error_name(topic.error_code)}")
        for p in topic.partitions:
            if args.partition is not None and p.partition_index != args.partition:
                continue
            if args.broker_id is not None and args.broker_id not in p.replica_nodes:
                continue
            node = p.leader_id if args.broker_id is None else args.broker_id
            by_node.setdefault(node, []).append(TopicPartition(topic.name, p.partition_index))
    found = []
    for node, partitions in sorted(by_node.items()):
        for tp, (error, producers) in sorted(_producers(session, partitions, node).items()):
            if error != ErrorCode.NONE:
                raise CliError(
                    f"Failed to describe producers for {len(partitions)} partitions on broker "
                    f"{node}: {_tp(tp)}: {error_name(error)}"
                )
            found += [(tp, p) for p in producers if p.current_txn_start_offset >= 0]
    return found
