"""The ``reflog`` command: run brokers and talk to them, with Kafka's option names.

Each subcommand lives in its own module and registers itself here. Errors
are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from reflog.cli import commands

__all__ = ["CliError", "main"]

CliError = commands.CliError

# Each subcommand module has `register(subparsers)`, which adds its parser and sets
# `run=` to a function from the parsed arguments to an exit status.
_COMMAND_MODULES: list[str] = [
    "broker_cmd",
    "controller_cmd",
    "cluster_cmd",
    "topics_cmd",
    "produce_cmd",
    "consume_cmd",
    "inspect_cmd",
    "chaos_cmd",
    "configs_cmd",
    "reassign_cmd",
    "consumer_groups_cmd",
    "transactions_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reflog", description="reflog: a readable reference implementation of Kafka's core."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"reflog.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below, not at exit
    except commands.CliError as exc:
        print(f"reflog {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read our stdout has gone (`reflog consume ... | head -1`): stop quietly,
        # with the status of a Unix tool killed by SIGPIPE (141). Python's recipe (the
        # signal module's "Note on SIGPIPE"): point stdout at /dev/null, so that the
        # interpreter's last flush of what is still buffered does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
