"""ListGroups (key 16): the groups a broker coordinates.

Each broker answers only for the groups whose ``__consumer_offsets`` partition
it leads; an admin tool asks every broker and merges the answers.
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

__all__ = ["ListGroupsRequest", "ListGroupsResponse", "ListedGroup"]

_MAX_VERSION = 2  # v3 is the first flexible version


class ListGroupsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.LIST_GROUPS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION


class ListedGroup(WireStruct):
    group_id: str = wire(STRING)
    protocol_type: str = wire(STRING, default="")


class ListGroupsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.LIST_GROUPS
    MAX_VERSION: ClassVar[int] = _MAX_VERSION

    throttle_time_ms: int = wire(INT32, "1+", default=0)
    error_code: int = wire(INT16, default=0)
    groups: list[ListedGroup] = wire(ArrayOf(Struct(ListedGroup)), default_factory=list)
