"""What a client core asks its runtime to do."""

from __future__ import annotations

from dataclasses import dataclass

from reflog.wire.headers import RequestHeader
from reflog.wire.schema import Request

__all__ = ["ClientAction", "Connect", "Disconnect", "Send"]


@dataclass(frozen=True)
class Connect:
    """Open a connection to ``host:port`` and report it as ``node_id``."""

    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class Send:
    node_id: int
    header: RequestHeader
    body: Request


@dataclass(frozen=True)
class Disconnect:
    node_id: int


ClientAction = Connect | Send | Disconnect
