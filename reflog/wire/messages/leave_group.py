"""LeaveGroup (key 13): members leave a group without waiting for their session to end.

Up to v2 one member leaves by its member id; from v3 a batch of members, each
by member id or by static ``group_instance_id`` (KIP-345), each with its own
error code.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
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

__all__ = ["LeaveGroupRequest", "LeaveGroupResponse", "MemberIdentity", "MemberResponse"]

_MAX_VERSION = 3  # v4 is the first flexible version


class MemberIdentity(WireStruct):
    member_id: str = wire(STRING, "3+")
    group_instance_id: str | None = wire(STRING, "3+", nullable="3+", default=None)


class LeaveGroupRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.LEAVE_GROUP
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    group_id: str = wire(STRING)
    member_id: str = wire(STRING, "0-2", default="")
    members: list[MemberIdentity] = wire(
        ArrayOf(Struct(MemberIdentity)), "3+", default_factory=list
    )


class MemberResponse(WireStruct):
    member_id: str = wire(STRING, "3+")
    group_instance_id: str | None = wire(STRING, "3+", nullable="3+", default=None)
    error_code: int = wire(INT16, "3+", default=0)


class LeaveGroupResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.LEAVE_GROUP
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    error_code: int = wire(INT16, default=0)
    members: list[MemberResponse] = wire(
        ArrayOf(Struct(MemberResponse)), "3+", default_factory=list
    )
