"""A broker core on a temporary log dir, and helpers to speak to it without sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.broker import Broker, Respond
from reflog.config import BrokerConfig
from reflog.wire.headers import RequestHeader
from reflog.wire.schema import Request


class Client:
    """Sends requests straight into a broker core, as one connection would."""

    def __init__(self, broker: Broker, conn: int = 1) -> None:
        self.broker = broker
        self.conn = conn
        self._correlation_id = 0

    def header(self, request: Request, version: int | None = None) -> RequestHeader:
        self._correlation_id += 1
        v = type(request).MAX_VERSION if version is None else version
        return RequestHeader(request.API_KEY, v, self._correlation_id, "test")

    def send(self, request: Request, now_ms: int = 0, version: int | None = None) -> list[Respond]:
        return self.broker.handle(self.conn, self.header(request, version), request, now_ms)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(BrokerConfig(node_id=0, log_dir=tmp_path / "logs", num_partitions=2))
    yield b
    b.close()


@pytest.fixture
def client(broker: Broker) -> Client:
    return Client(broker)
