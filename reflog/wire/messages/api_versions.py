"""ApiVersions (key 18): which APIs, at which versions, this broker speaks.

Two pitfalls real Kafka-compatible brokers hit are handled by the caller
(:mod:`reflog.wire.apis`), not here: the response header is always version 0,
and a request of an unsupported version is answered in the v0 layout.
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

__all__ = ["ApiVersion", "ApiVersionsRequest", "ApiVersionsResponse"]


class ApiVersionsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.API_VERSIONS
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    client_software_name: str = wire(STRING, "3+", default="")
    client_software_version: str = wire(STRING, "3+", default="")


class ApiVersion(WireStruct):
    api_key: int = wire(INT16)
    min_version: int = wire(INT16)
    max_version: int = wire(INT16)


class ApiVersionsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.API_VERSIONS
    MAX_VERSION: ClassVar[int] = 3
    FLEXIBLE_FROM: ClassVar[int | None] = 3

    error_code: int = wire(INT16, default=0)
    api_keys: list[ApiVersion] = wire(ArrayOf(Struct(ApiVersion)), default_factory=list)
    throttle_time_ms: int = wire(INT32, "1+", default=0)
