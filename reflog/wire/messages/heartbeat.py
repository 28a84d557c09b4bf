"""Heartbeat (key 12): a member says it is alive, and learns of a rebalance.

A member that sends none for ``session.timeout.ms`` is removed from its group.
The answer REBALANCE_IN_PROGRESS tells a member to rejoin.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import INT16, INT32, STRING, Request, Response, wire

__all__ = ["HeartbeatRequest", "HeartbeatResponse"]

_MAX_VERSION = 3  # v4 is the first flexible version


class HeartbeatRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.HEARTBEAT
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    group_id: str = wire(STRING)
    generation_id: int = wire(INT32)
    member_id: str = wire(STRING)
    group_instance_id: str | None = wire(STRING, "3+", nullable="3+", default=None)


class HeartbeatResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.HEARTBEAT
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    error_code: int = wire(INT16, default=0)
