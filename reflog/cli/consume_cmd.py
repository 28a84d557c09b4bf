"""``reflog consume TOPIC``: print records' values, one per line."""

from __future__ import annotations

import argparse
import asyncio
import sys

from reflog.cli.client_runs import FOREVER_S, bootstrap_arg
from reflog.cli.commands import CliError, Subparsers
from reflog.consumer import Consumer, ConsumerConfig, ConsumerRecord
from reflog.net.client import ClientRunner, now_ms
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    p = sub.add_parser("consume", help="print records of a topic")
    p.add_argument("topic")
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    p.add_argument("--from-beginning", action="store_true", help="start at the earliest offset")
    # As in Kafka's console consumer, a negative limit or timeout means none (its defaults
    # are -1), so scripts written for kafka-console-consumer behave the same here.
    p.add_argument(
        "--max-messages", type=int, help="stop after this many records (negative: no limit)"
    )
    p.add_argument("--partition", type=int, help="read only this partition")
    p.add_argument(
        "--timeout-ms",
        type=int,
        help="stop after this long without a new record (negative: wait forever)",
    )
    p.add_argument(
        "--print-key", action="store_true", help="print KEY<TAB>VALUE (null for a null key)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.max_messages is not None and args.max_messages < 0:
        args.max_messages = None
    if args.timeout_ms is not None and args.timeout_ms < 0:
        args.timeout_ms = None
    bootstrap = tuple(bootstrap_arg(args.bootstrap_server))
    reset = "earliest" if args.from_beginning else "latest"
    consumer = Consumer(ConsumerConfig(bootstrap_servers=bootstrap, auto_offset_reset=reset))
    return asyncio.run(_consume(consumer, args))


async def _consume(consumer: Consumer, args: argparse.Namespace) -> int:
    runner = ClientRunner(consumer)
    try:
        consumer.network.want_topics({args.topic}, now_ms())
        await runner.run_until(lambda: args.topic in consumer.network.topic_errors, 10)
        error = consumer.network.topic_errors.get(args.topic)
        if error is None:
            raise CliError(next(iter(runner.connect_errors.values()), "no answer from the broker"))
        if error != ErrorCode.NONE:
            raise CliError(f"{ErrorCode(error).name}: topic {args.topic!r}")
        partitions = consumer.network.partitions(args.topic) or []
        chosen = [p.partition for p in partitions if args.partition in (None, p.partition)]
        if not chosen:
            raise CliError(f"topic {args.topic!r} has no partition {args.partition}")
        consumer.assign([TopicPartition(args.topic, p) for p in chosen], now_ms())
        printed = 0
        idle_s = args.timeout_ms / 1000 if args.timeout_ms is not None else FOREVER_S
        batch: list[ConsumerRecord] = []

        def have_records() -> bool:
            batch.extend(consumer.poll())
            return bool(batch)

        while args.max_messages is None or printed < args.max_messages:
            got = await runner.run_until(have_records, idle_s)
            wanted = len(batch) if args.max_messages is None else args.max_messages - printed
            for record in batch[:wanted]:
                _print(record, args.print_key)
                printed += 1
            batch.clear()
            if not got:
                break
        return 0
    finally:
        await runner.close()


def _print(record: ConsumerRecord, print_key: bool) -> None:
    # Kafka's DefaultMessageFormatter prints "null" for a null key or value, and an empty
    # key or value as nothing: the two differ (a null value is a tombstone).
    out = sys.stdout.buffer
    if print_key:
        out.write(_or_null(record.key) + b"\t")
    out.write(_or_null(record.value) + b"\n")
    out.flush()


def _or_null(data: bytes | None) -> bytes:
    return b"null" if data is None else data
