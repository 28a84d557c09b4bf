"""DescribeConfigs (32) and AlterConfigs (33): what ``kafka-configs`` and the admin
clients' ``describe_configs`` and ``alter_configs`` send (IncrementalAlterConfigs is in
:mod:`reflog.wire.messages.incremental_alter_configs`).

A config belongs to a resource: a topic (type 2, named by the topic) or a broker
(type 4, named by its id, or ``""`` for the cluster-wide default). AlterConfigs
replaces a resource's whole set of overrides; IncrementalAlterConfigs (KIP-339) sets,
deletes, appends to or subtracts from one config at a time.

Versions: DescribeConfigs v1 adds synonyms and the config source, v3 the config type
and documentation, v4 is flexible; AlterConfigs v2 and IncrementalAlterConfigs v1 are
flexible, with the same fields as before.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BOOL,
    INT8,
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
    "AlterConfigsRequest",
    "AlterConfigsResource",
    "AlterConfigsResourceResponse",
    "AlterConfigsResponse",
    "AlterableConfig",
    "ConfigResourceType",
    "ConfigSource",
    "DescribeConfigsRequest",
    "DescribeConfigsResource",
    "DescribeConfigsResourceResult",
    "DescribeConfigsResponse",
    "DescribeConfigsResult",
    "DescribeConfigsSynonym",
]


class ConfigResourceType(IntEnum):
    """Kafka's ``ConfigResource.Type``."""

    TOPIC = 2
    BROKER = 4


class ConfigSource(IntEnum):
    """Where a described value comes from (Kafka's ``DescribeConfigsResponse.ConfigSource``)."""

    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5


# -- DescribeConfigs ------------------------------------------------------------------------
_DESCRIBE_MAX = 4
_DESCRIBE_FLEXIBLE = 4


class DescribeConfigsResource(WireStruct):
    resource_type: int = wire(INT8)
    resource_name: str = wire(STRING)
    # Null: every config of the resource.
    configuration_keys: list[str] | None = wire(ArrayOf(STRING), nullable="0+", default=None)


class DescribeConfigsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_CONFIGS
    MAX_VERSION: ClassVar[int] = _DESCRIBE_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _DESCRIBE_FLEXIBLE

    resources: list[DescribeConfigsResource] = wire(
        ArrayOf(Struct(DescribeConfigsResource)), default_factory=list
    )
    include_synonyms: bool = wire(BOOL, "1+", default=False)
    include_documentation: bool = wire(BOOL, "3+", default=False)


class DescribeConfigsSynonym(WireStruct):
    name: str = wire(STRING, "1+", default="")
    value: str | None = wire(STRING, "1+", nullable="0+", default=None)
    source: int = wire(INT8, "1+", default=-1)


class DescribeConfigsResourceResult(WireStruct):
    name: str = wire(STRING)
    value: str | None = wire(STRING, nullable="0+", default=None)
    read_only: bool = wire(BOOL, default=False)
    is_default: bool = wire(BOOL, "0", default=False)
    config_source: int = wire(INT8, "1+", default=-1)
    is_sensitive: bool = wire(BOOL, default=False)
    synonyms: list[DescribeConfigsSynonym] = wire(
        ArrayOf(Struct(DescribeConfigsSynonym)), "1+", default_factory=list
    )
    config_type: int = wire(INT8, "3+", default=0)
    documentation: str | None = wire(STRING, "3+", nullable="0+", default=None)


class DescribeConfigsResult(WireStruct):
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)
    resource_type: int = wire(INT8, default=0)
    resource_name: str = wire(STRING, default="")
    configs: list[DescribeConfigsResourceResult] = wire(
        ArrayOf(Struct(DescribeConfigsResourceResult)), default_factory=list
    )


class DescribeConfigsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.DESCRIBE_CONFIGS
    MAX_VERSION: ClassVar[int] = _DESCRIBE_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _DESCRIBE_FLEXIBLE

    throttle_time_ms: int = wire(INT32, default=0)
    results: list[DescribeConfigsResult] = wire(
        ArrayOf(Struct(DescribeConfigsResult)), default_factory=list
    )


# -- AlterConfigs ---------------------------------------------------------------------------
_ALTER_MAX = 2
_ALTER_FLEXIBLE = 2


class AlterableConfig(WireStruct):
    name: str = wire(STRING)
    value: str | None = wire(STRING, nullable="0+", default=None)


class AlterConfigsResource(WireStruct):
    resource_type: int = wire(INT8)
    resource_name: str = wire(STRING)
    configs: list[AlterableConfig] = wire(ArrayOf(Struct(AlterableConfig)), default_factory=list)


class AlterConfigsRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.ALTER_CONFIGS
    MAX_VERSION: ClassVar[int] = _ALTER_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _ALTER_FLEXIBLE

    resources: list[AlterConfigsResource] = wire(
        ArrayOf(Struct(AlterConfigsResource)), default_factory=list
    )
    validate_only: bool = wire(BOOL, default=False)


class AlterConfigsResourceResponse(WireStruct):
    error_code: int = wire(INT16, default=0)
    error_message: str | None = wire(STRING, nullable="0+", default=None)
    resource_type: int = wire(INT8, default=0)
    resource_name: str = wire(STRING, default="")


class AlterConfigsResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.ALTER_CONFIGS
    MAX_VERSION: ClassVar[int] = _ALTER_MAX
    FLEXIBLE_FROM: ClassVar[int | None] = _ALTER_FLEXIBLE

    throttle_time_ms: int = wire(INT32, default=0)
    responses: list[AlterConfigsResourceResponse] = wire(
        ArrayOf(Struct(AlterConfigsResourceResponse)), default_factory=list
    )
