"""SyncGroup (key 14): the second half of a rebalance.

After JoinGroup every member sends SyncGroup; the leader's request carries the
assignment it computed for each member. The coordinator answers every member
with its own assignment once the leader's has arrived.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BYTES,
    INT16,
    INT32,
    STRING,
    ArrayOf,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = ["SyncGroupRequest", "SyncGroupRequestAssignment", "SyncGroupResponse"]

_MAX_VERSION = 3  # v4 is the first flexible version


class SyncGroupRequestAssignment(WireStruct):
    member_id: str = wire(STRING)
    assignment: bytes = wire(BYTES, default=b"")


class SyncGroupRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.SYNC_GROUP
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    group_id: str = wire(STRING)
    generation_id: int = wire(INT32)
    member_id: str = wire(STRING)
    group_instance_id: str | None = wire(STRING, "3+", nullable="3+", default=None)
    assignments: list[SyncGroupRequestAssignment] = wire(
        ArrayOf(Struct(SyncGroupRequestAssignment)), default_factory=list
    )


class SyncGroupResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.SYNC_GROUP
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    error_code: int = wire(INT16, default=0)
    assignment: bytes = wire(BYTES, default=b"")
