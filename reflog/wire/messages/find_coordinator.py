"""FindCoordinator (key 10): which broker coordinates a consumer group.

A consumer asks any broker; the answer names the broker that leads the
``__consumer_offsets`` partition the group id hashes to. Key type 0 is a group,
1 a transactional id. From v4 (flexible) one request carries several keys.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import INT8, INT16, INT32, STRING, Request, Response, wire

__all__ = ["FindCoordinatorRequest", "FindCoordinatorResponse"]

_MAX_VERSION = 2  # v3 is the first flexible version

GROUP_KEY_TYPE = 0
TRANSACTION_KEY_TYPE = 1


class FindCoordinatorRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.FIND_COORDINATOR
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    key: str = wire(STRING)
    key_type: int = wire(INT8, "1+", default=GROUP_KEY_TYPE)


class FindCoordinatorResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.FIND_COORDINATOR
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, "1+", nullable="1+", default=None)
    node_id: int = wire(INT32, default=-1)
    host: str = wire(STRING, default="")
    port: int = wire(INT32, default=-1)
