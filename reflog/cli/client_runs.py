"""Running a client core to completion from a command, with one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reflog.cli.commands import CliError
from reflog.client.core import ClientCore
from reflog.net.client import ClientRunner, parse_bootstrap

__all__ = ["bootstrap_arg", "run_core"]


def bootstrap_arg(text: str) -> list[tuple[str, int]]:
    try:
        return parse_bootstrap(text)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def run_core(core: ClientCore, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Drive ``core`` over real sockets until ``done()``; CliError on timeout."""

    async def go() -> tuple[bool, ClientRunner]:
        runner = ClientRunner(core)
        try:
            return await runner.run_until(done, timeout_s), runner
        finally:
            await runner.close()

    finished, runner = asyncio.run(go())
    if not finished:
        reason = next(iter(runner.connect_errors.values()), None)
        raise CliError(reason or f"timed out after {timeout_s:g} s waiting for {what}")
