"""A `reflog broker` process per test module, for real Kafka clients to talk to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, running_broker


def require(available: bool, what: str) -> None:
    """In CI a missing client is a failure, not a skip: the tests must really run there."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("broker")
    with running_broker(data_dir, "--num-partitions", "3") as b:
        yield b
