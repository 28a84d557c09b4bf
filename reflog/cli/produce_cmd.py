"""``reflog produce TOPIC``: each line of stdin becomes a record."""

from __future__ import annotations

import argparse
import random
import sys

from reflog.cli.client_runs import bootstrap_arg, run_core
from reflog.cli.commands import CliError, Subparsers
from reflog.net.client import now_ms
from reflog.producer import Producer, ProducerConfig, SendResult
from reflog.wire.errors import ErrorCode

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    p = sub.add_parser("produce", help="send lines from stdin as records")
    p.add_argument("topic")
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    p.add_argument("--key-separator", help="split each line into KEY<sep>VALUE")
    p.add_argument("--acks", choices=["0", "1", "all", "-1"], default="all")
    p.add_argument("--partition", type=int, help="send every record to this partition")
    p.add_argument("--timeout-ms", type=int, default=30_000)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    acks = -1 if args.acks in ("all", "-1") else int(args.acks)
    producer = Producer(
        ProducerConfig(bootstrap_servers=tuple(bootstrap_arg(args.bootstrap_server)), acks=acks),
        random.Random(),
    )
    sent = 0
    for line in sys.stdin.buffer:
        line = line.rstrip(b"\r\n")
        key = None
        if args.key_separator is not None:
            sep = args.key_separator.encode()
            if sep not in line:
                raise CliError(f"line {sent + 1} has no key separator {args.key_separator!r}")
            key, line = line.split(sep, 1)
        producer.send(args.topic, line, key=key, partition=args.partition, now_ms=now_ms())
        sent += 1
    producer.flush()
    results: list[SendResult] = []

    def done() -> bool:
        results.extend(producer.take_results())
        return len(results) == sent

    run_core(producer, done, args.timeout_ms / 1000, f"{sent} records to be acknowledged")
    failed = [r for r in results if r.error != ErrorCode.NONE]
    if failed:
        raise CliError(f"{len(failed)} of {sent} records failed: {ErrorCode(failed[0].error).name}")
    return 0
