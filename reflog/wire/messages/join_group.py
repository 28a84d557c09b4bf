"""JoinGroup (key 11): a member asks to join a consumer group, or to rejoin it.

Each member lists the protocols (assignors, for consumers) it supports, with
metadata for each (its subscription). When every member has joined, the
coordinator answers all of them: the group's new generation, the protocol it
chose, and the leader; only the leader gets every member's metadata, so it can
compute the assignment it hands back in SyncGroup.

A first join with an empty member id (v4+) is answered MEMBER_ID_REQUIRED with
a fresh member id to join again with (KIP-394); v5 adds ``group_instance_id``
for static members (KIP-345).
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

__all__ = [
    "JoinGroupRequest",
    "JoinGroupRequestProtocol",
    "JoinGroupResponse",
    "JoinGroupResponseMember",
]

_MAX_VERSION = 5  # v6 is the first flexible version


class JoinGroupRequestProtocol(WireStruct):
    name: str = wire(STRING)
    metadata: bytes = wire(BYTES, default=b"")


class JoinGroupRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.JOIN_GROUP
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    group_id: str = wire(STRING)
    session_timeout_ms: int = wire(INT32, default=45_000)
    # v0 has none: Kafka then uses the session timeout as the rebalance timeout.
    rebalance_timeout_ms: int = wire(INT32, "1+", default=-1)
    member_id: str = wire(STRING, default="")
    group_instance_id: str | None = wire(STRING, "5+", nullable="5+", default=None)
    protocol_type: str = wire(STRING, default="consumer")
    protocols: list[JoinGroupRequestProtocol] = wire(
        ArrayOf(Struct(JoinGroupRequestProtocol)), default_factory=list
    )


class JoinGroupResponseMember(WireStruct):
    member_id: str = wire(STRING)
    group_instance_id: str | None = wire(STRING, "5+", nullable="5+", default=None)
    metadata: bytes = wire(BYTES, default=b"")


class JoinGroupResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.JOIN_GROUP
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "2+", default=0)
    error_code: int = wire(INT16, default=0)
    generation_id: int = wire(INT32, default=-1)
    protocol_name: str = wire(STRING, default="")
    leader: str = wire(STRING, default="")
    member_id: str = wire(STRING, default="")
    members: list[JoinGroupResponseMember] = wire(
        ArrayOf(Struct(JoinGroupResponseMember)), default_factory=list
    )
