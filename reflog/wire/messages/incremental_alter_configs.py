"""IncrementalAlterConfigs (44): sets, deletes, appends to or subtracts from one config of a
topic or broker at a time (KIP-339), where AlterConfigs replaces the whole set. What
``kafka-configs --alter`` and the admin clients' ``incremental_alter_configs`` send.

Kept apart from :mod:`reflog.wire.messages.configs` because Kafka names its nested
structs as AlterConfigs does (``AlterConfigsResource``, ``AlterableConfig``) with other
fields. v1 is flexible, with the same fields.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.messages.configs import AlterConfigsResourceResponse
from reflog.wire.schema import (
    BOOL,
    INT8,
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
    "AlterConfigsResource",
    "AlterableConfig",
    "ConfigOperation",
    "IncrementalAlterConfigsRequest",
    "IncrementalAlterConfigsResponse",
]


class ConfigOperation(IntEnum):
    """IncrementalAlterConfigs' operations (KIP-339)."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


_INCREMENTAL_MAX = 1
_INCREMENTAL_FLEXIBLE = 1


class AlterableConfig(WireStruct):
    name: str = wire(STRING)
    config_operation: int = wire(INT8, default=ConfigOperation.SET)
    value: str | None = wire(STRING, nullable="0+", default=None)


class AlterConfigsResource(WireStruct):
    resource_type: int = wire(INT8)
    resource_name: str = wire(STRING)
    configs: list[AlterableConfig] = wire(ArrayOf(Struct(AlterableConfig)), default_factory=list)


class IncrementalAlterConfigsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.INCREMENTAL_ALTER_CONFIGS
    MAX_VERSION: ClassVar[int] = _INCREMENTAL_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _INCREMENTAL_FLEXIBLE

    resources: list[AlterConfigsResource] = wire(
        ArrayOf(Struct(AlterConfigsResource)), default_factory=list
    )
    validate_only: bool = wire(BOOL, default=False)


class IncrementalAlterConfigsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.INCREMENTAL_ALTER_CONFIGS
    MAX_VERSION: ClassVar[int] = _INCREMENTAL_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _INCREMENTAL_FLEXIBLE

    throttle_time_ms: int = wire(INT32, default=0)
    responses: list[AlterConfigsResourceResponse] = wire(
        ArrayOf(Struct(AlterConfigsResourceResponse)), default_factory=list
    )
