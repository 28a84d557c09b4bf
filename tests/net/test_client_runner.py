"""The runner that drives a client core over real sockets tells the core of every
connection it gives up, including one it cancels while it is still being opened."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reflog.client.admin import Admin
from reflog.client.network import NETWORK_EXCEPTION
from reflog.net.client import ClientRunner, parse_bootstrap
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from tests.broker_process import running_broker


def test_a_connection_cancelled_while_opening_leaves_the_node_free_to_connect_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_broker(tmp_path) as broker:
        admin = Admin(parse_bootstrap(broker.bootstrap))
        real_open = asyncio.open_connection

        async def first_run() -> None:
            opening = asyncio.Event()

            async def never_opens(*args: object, **kwargs: object) -> object:
                opening.set()
                await asyncio.Event().wait()  # a connect that hangs until cancelled
                raise AssertionError("unreachable")

            monkeypatch.setattr(asyncio, "open_connection", never_opens)
            admin.send(MetadataRequest(topics=[]), 0)
            runner = ClientRunner(admin)
            driving = asyncio.create_task(runner.run_until(lambda: False, timeout_s=30))
            await asyncio.wait_for(opening.wait(), timeout=10)  # the connect is under way
            driving.cancel()
            await runner.close()  # as a command does once it has what it came for

        asyncio.run(first_run())
        # The request waiting for that connection failed rather than waiting for ever...
        assert admin.result is not None and admin.result.error_code == NETWORK_EXCEPTION
        monkeypatch.setattr(asyncio, "open_connection", real_open)

        async def second_run() -> bool:
            admin.result = None
            admin.send(MetadataRequest(topics=[]), 0)
            runner = ClientRunner(admin)
            try:
                return await runner.run_until(lambda: admin.result is not None, timeout_s=10)
            finally:
                await runner.close()

        # ... and the next request connects afresh and gets its answer.
        assert asyncio.run(second_run()), "the client still waits for the cancelled connect"
        assert admin.result is not None and admin.result.error_code == ErrorCode.NONE
        assert isinstance(admin.result.response, MetadataResponse)
