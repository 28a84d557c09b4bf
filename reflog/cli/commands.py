"""What every subcommand module shares."""

from __future__ import annotations

import argparse
from typing import TypeAlias

__all__ = ["CliError", "Subparsers"]

# What `parser.add_subparsers()` returns; each command module adds its parser to it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A failure to report as one line, e.g. "cannot connect to 127.0.0.1:9092"."""
