"""Running a client core to completion from a command, with one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reflog.cli.commands import CliError
from reflog.client.core import ClientCore
from reflog.client.network import NETWORK_EXCEPTION
from reflog.net.client import ClientRunner, parse_bootstrap
from reflog.wire.errors import ErrorCode

__all__ = ["FOREVER_S", "bootstrap_arg", "error_name", "no_answer", "run_core"]

# A wait with no deadline, for run_until (a year).
FOREVER_S = 365 * 24 * 3600.0


def bootstrap_arg(text: str) -> list[tuple[str, int]]:
    try:
        return parse_bootstrap(text)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def error_name(code: int) -> str:
    """Kafka's name for an error code, e.g. "INVALID_TOPIC_EXCEPTION"."""
    if code == NETWORK_EXCEPTION:  # the client's own code, not in the broker's ErrorCode
        return "NETWORK_EXCEPTION"
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"


def no_answer(runner: ClientRunner, text: str) -> CliError:
    """The error for a request the brokers never answered: why we could not reach them
    (e.g. "cannot connect to 127.0.0.1:1: Connect call failed"), if we know, else ``text``."""
    return CliError(next(iter(runner.connect_errors.values()), text))


def run_core(
    core: ClientCore, done: Callable[[], bool], timeout_s: float, what: str
) -> ClientRunner:
    """Drive ``core`` over real sockets until ``done()``; CliError on timeout.

    Returns the (closed) runner: its ``connect_errors`` tell a caller why a request
    failed with NETWORK_EXCEPTION."""

    async def go() -> tuple[bool, ClientRunner]:
        runner = ClientRunner(core)
        try:
            return await runner.run_until(done, timeout_s), runner
        finally:
            await runner.close()

    finished, runner = asyncio.run(go())
    if not finished:
        raise no_answer(runner, f"timed out after {timeout_s:g} s waiting for {what}")
    return runner
