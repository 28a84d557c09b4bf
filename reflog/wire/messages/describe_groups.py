"""DescribeGroups (key 15): a group's state, protocol and members, from its coordinator.

For a consumer group ``protocol_data`` names the chosen assignor, and each
member carries its subscription (``member_metadata``) and, once Stable, its
assignment (``member_assignment``), both in the ConsumerProtocol encoding.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BOOL,
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
    "DescribeGroupsRequest",
    "DescribeGroupsResponse",
    "DescribedGroup",
    "DescribedGroupMember",
]

_MAX_VERSION = 4  # v5 is the first flexible version

# Kafka's "not requested" value for authorized_operations.
NO_AUTHORIZED_OPERATIONS = -(2**31)


class DescribeGroupsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_GROUPS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    groups: list[str] = wire(ArrayOf(STRING), default_factory=list)
    include_authorized_operations: bool = wire(BOOL, "3+", default=False)


class DescribedGroupMember(WireStruct):
    member_id: str = wire(STRING)
    group_instance_id: str | None = wire(STRING, "4+", nullable="4+", default=None)
    client_id: str = wire(STRING, default="")
    client_host: str = wire(STRING, default="")
    member_metadata: bytes = wire(BYTES, default=b"")
    member_assignment: bytes = wire(BYTES, default=b"")


class DescribedGroup(WireStruct):
    error_code: int = wire(INT16)
    group_id: str = wire(STRING)
    group_state: str = wire(STRING, default="")
    protocol_type: str = wire(STRING, default="")
    protocol_data: str = wire(STRING, default="")
    members: list[DescribedGroupMember] = wire(
        ArrayOf(Struct(DescribedGroupMember)), default_factory=list
    )
    authorized_operations: int = wire(INT32, "3+", default=NO_AUTHORIZED_OPERATIONS)


class DescribeGroupsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_GROUPS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    groups: list[DescribedGroup] = wire(ArrayOf(Struct(DescribedGroup)), default_factory=list)
