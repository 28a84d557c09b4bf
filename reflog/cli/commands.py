"""What every subcommand module shares."""

from __future__ import annotations

import argparse

__all__ = ["CliError", "Subparsers"]

Subparsers = argparse._SubParsersAction  # type of `parser.add_subparsers()`


class CliError(Exception):
    """A failure to report as one line, e.g. "cannot connect to 127.0.0.1:9092"."""
