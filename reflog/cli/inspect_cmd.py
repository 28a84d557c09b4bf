"""``reflog inspect --listen HOST:PORT --upstream HOST:PORT``: watch a client talk to a broker.

Point any Kafka client at the listen address: every request and response is printed as one
line (``--format json``: one JSON object a line) while it is forwarded. ``--drop Produce:1``
drops the next Produce request, ``--delay-ms 500`` holds every request (or only those named by
``--delay-api``) for half a second, so that a client can be watched retrying.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from reflog.cli.broker_cmd import parse_host_port
from reflog.cli.client_runs import bootstrap_arg
from reflog.cli.commands import CliError, Subparsers
from reflog.inspect import Faults, Inspector, WireEvent, parse_api, parse_drop
from reflog.wire.headers import DEFAULT_MAX_REQUEST_BYTES

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    p = sub.add_parser("inspect", help="a proxy that prints every request and response")
    p.add_argument("--listen", required=True, help="HOST:PORT for clients (port 0: any)")
    p.add_argument("--upstream", required=True, help="HOST:PORT of the broker to forward to")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="API[:N]",
        help="drop requests of API (a Kafka API name or key): all, or the next N",
    )
    p.add_argument("--delay-ms", type=int, default=0, help="hold requests this long")
    p.add_argument(
        "--delay-api", action="append", default=[], metavar="API", help="delay only these APIs"
    )
    p.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    listen, upstream = parse_host_port(args.listen, "--listen"), _upstream(args.upstream)
    try:
        faults = Faults(
            drop=dict(parse_drop(d) for d in args.drop),
            delay_ms=args.delay_ms,
            delay_apis=frozenset(parse_api(a) for a in args.delay_api),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.delay_ms < 0:
        raise CliError("--delay-ms must not be negative")
    show = _json_line if args.format == "json" else _text_line
    asyncio.run(_inspect(listen, upstream, faults, show, args.max_frame_bytes))
    return 0


async def _inspect(
    listen: tuple[str, int],
    upstream: tuple[str, int],
    faults: Faults,
    show: Callable[[WireEvent], None],
    max_frame_bytes: int,
) -> None:
    inspector = Inspector(listen, upstream, show, faults=faults, max_frame_bytes=max_frame_bytes)
    try:
        host, port = await inspector.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror}") from exc
    # On stderr, so that stdout carries only events (JSON lines stay parseable).
    print(f"reflog inspect listening on {host}:{port}, upstream {upstream[0]}:{upstream[1]}",
          file=sys.stderr, flush=True)  # fmt: skip
    try:
        await asyncio.Event().wait()  # until interrupted
    finally:
        await inspector.close()


def _upstream(text: str) -> tuple[str, int]:
    addresses = bootstrap_arg(text)
    if len(addresses) != 1:
        raise CliError(f"--upstream takes one HOST:PORT, got {text!r}")
    return addresses[0]


def _text_line(event: WireEvent) -> None:
    print(event.line(), flush=True)


def _json_line(event: WireEvent) -> None:
    print(event.json(), flush=True)
