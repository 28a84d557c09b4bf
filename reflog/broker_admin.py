"""The admin APIs a broker answers by itself, from its metadata image and its logs.

DescribeConfigs, DescribeCluster and ListPartitionReassignments read the metadata image
every broker holds; DeleteRecords is done by each partition's leader on its own log
(its followers copy the new log start offset from their next fetch). The admin APIs that
change the metadata go to the controller instead (:mod:`reflog.controller.admin`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from reflog.controller.admin import topic_overrides
from reflog.controller.image import BROKER_RESOURCE, TOPIC_RESOURCE, MetadataImage
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig
from reflog.storage.topic_config import BROKER_TOPIC_DEFAULTS, TOPIC_CONFIGS, apply_overrides
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.configs import (
    ConfigSource,
    DescribeConfigsRequest,
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)
from reflog.wire.messages.partition_admin import (
    DeleteRecordsPartitionResult,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    OngoingPartitionReassignment,
    OngoingTopicReassignment,
)
from reflog.wire.messages.topic_admin import DescribeClusterBroker, DescribeClusterResponse

__all__ = ["delete_records", "describe_cluster", "describe_configs", "list_reassignments"]

# Kafka's ConfigType numbers (DescribeConfigs v3+): how a client should read a value.
_BOOLEAN, _STRING, _LONG, _DOUBLE = 1, 2, 5, 6
_LONG_MAX = "9223372036854775807"  # Kafka's flush.messages default: never


def describe_configs(
    image: MetadataImage, broker_id: int, defaults: LogConfig, request: DescribeConfigsRequest
) -> DescribeConfigsResponse:
    """Each resource's configs from ``image``: the broker's copy of the committed metadata
    log (a controller sends brokers committed batches only), so a change shows here once it
    is committed and this broker's heartbeat has brought it, as Kafka's brokers answer from
    their metadata cache."""
    results = []
    for resource in request.resources:
        kind, name = resource.resource_type, resource.resource_name
        if kind == TOPIC_RESOURCE and name not in image.topics:
            results.append(
                DescribeConfigsResult(
                    error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    error_message=f"Topic '{name}' does not exist.",
                    resource_type=kind,
                    resource_name=name,
                )
            )
            continue
        if kind not in (TOPIC_RESOURCE, BROKER_RESOURCE) or (
            kind == BROKER_RESOURCE and name != "" and name != str(broker_id)
        ):
            results.append(
                DescribeConfigsResult(
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message=f"Unexpected broker id, expected {broker_id} but received {name}",
                    resource_type=kind,
                    resource_name=name,
                )
            )
            continue
        entries = (
            _topic_entries(image, name, defaults)
            if kind == TOPIC_RESOURCE
            else (_broker_entries(image, name, defaults))
        )
        # Null (or, as Kafka reads it, empty: kafka-python sends []) asks for every config.
        wanted = resource.configuration_keys
        configs = [e for e in entries if not wanted or e.name in wanted]
        if not request.include_synonyms:
            configs = [dataclasses.replace(e, synonyms=[]) for e in configs]
        results.append(
            DescribeConfigsResult(
                error_code=ErrorCode.NONE, resource_type=kind, resource_name=name, configs=configs
            )
        )
    return DescribeConfigsResponse(results=results)


def _value(config: LogConfig, topic_name: str) -> tuple[str, int]:
    """A config's value as Kafka prints it, and its ConfigType."""
    field, _ = TOPIC_CONFIGS[topic_name]
    value = getattr(config, field)
    config_type = (
        _BOOLEAN
        if isinstance(value, bool)
        else _STRING
        if isinstance(value, str)
        else _DOUBLE
        if isinstance(value, float)
        else _LONG
    )
    if value is None:
        return _LONG_MAX, config_type
    if isinstance(value, bool):
        return ("true" if value else "false"), config_type
    return str(value), config_type


def _topic_entries(
    image: MetadataImage, topic: str, defaults: LogConfig
) -> list[DescribeConfigsResourceResult]:
    """Each topic config with where its value comes from: the topic, the cluster's
    dynamic default, or the broker's static default."""
    overrides = image.topics[topic].configs
    cluster = {BROKER_TOPIC_DEFAULTS[k]: v for k, v in image.broker_configs.get("", {}).items()}
    config = apply_overrides(defaults, topic_overrides(image, topic, None))
    broker_names = {v: k for k, v in BROKER_TOPIC_DEFAULTS.items()}
    entries = []
    for name in sorted(TOPIC_CONFIGS):
        value, config_type = _value(config, name)
        synonyms = []
        if name in overrides:
            synonyms.append(
                DescribeConfigsSynonym(
                    name=name, value=overrides[name], source=ConfigSource.DYNAMIC_TOPIC_CONFIG
                )
            )
        if name in cluster:
            synonyms.append(
                DescribeConfigsSynonym(
                    name=broker_names[name],
                    value=cluster[name],
                    source=ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
                )
            )
        source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
        entries.append(
            DescribeConfigsResourceResult(
                name=name,
                value=value,
                is_default=source == ConfigSource.DEFAULT_CONFIG,
                config_source=source,
                synonyms=synonyms,
                config_type=config_type,
            )
        )
    return entries


def _broker_entries(
    image: MetadataImage, resource: str, defaults: LogConfig
) -> list[DescribeConfigsResourceResult]:
    """The broker configs that can change while the cluster runs (its topics' defaults)."""
    cluster = image.broker_configs.get("", {})
    own = image.broker_configs.get(resource, {}) if resource else {}
    entries = []
    for name, topic_name in sorted(BROKER_TOPIC_DEFAULTS.items()):
        value, config_type = _value(defaults, topic_name)
        source = ConfigSource.DEFAULT_CONFIG
        if value != _value(LogConfig(), topic_name)[0]:  # set in server.properties
            source = ConfigSource.STATIC_BROKER_CONFIG
        if name in own:
            value, source = own[name], ConfigSource.DYNAMIC_BROKER_CONFIG
        elif name in cluster:
            value, source = cluster[name], ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
        entries.append(
            DescribeConfigsResourceResult(
                name=name,
                value=value,
                is_default=source == ConfigSource.DEFAULT_CONFIG,
                config_source=source,
                synonyms=[DescribeConfigsSynonym(name=name, value=value, source=source)],
                config_type=config_type,
            )
        )
    return entries


def describe_cluster(image: MetadataImage, cluster_id: str) -> DescribeClusterResponse:
    """The live brokers. reflog simplification: the controller id is a broker's (its
    own), as in Metadata, since clients cannot talk to reflog's controllers."""
    brokers = [
        DescribeClusterBroker(broker_id=b.broker_id, host=b.host, port=b.port)
        for b in image.live_brokers()
    ]
    controller = brokers[0].broker_id if brokers else -1
    return DescribeClusterResponse(cluster_id=cluster_id, controller_id=controller, brokers=brokers)


def list_reassignments(
    image: MetadataImage, request: ListPartitionReassignmentsRequest
) -> ListPartitionReassignmentsResponse:
    """The reassignments under way, as the metadata image holds them."""
    if request.topics is None:
        asked = [(n, sorted(t.partitions)) for n, t in sorted(image.topics.items())]
    else:
        asked = [(t.name, list(t.partition_indexes)) for t in request.topics]
    topics = []
    for name, partitions in asked:
        ongoing = []
        for p in partitions:
            state = image.partition(TopicPartition(name, p))
            if state is None or not (state.adding_replicas or state.removing_replicas):
                continue
            ongoing.append(
                OngoingPartitionReassignment(
                    partition_index=p,
                    replicas=list(state.replicas),
                    adding_replicas=list(state.adding_replicas),
                    removing_replicas=list(state.removing_replicas),
                )
            )
        if ongoing:
            topics.append(OngoingTopicReassignment(name=name, partitions=ongoing))
    return ListPartitionReassignmentsResponse(topics=topics)


def delete_records(
    request: DeleteRecordsRequest,
    refusal: Callable[[TopicPartition], int | None],
    log_of: Callable[[TopicPartition], Log | None],
    high_watermark: Callable[[TopicPartition], int],
) -> tuple[DeleteRecordsResponse, dict[TopicPartition, int]]:
    """Move each partition's log start offset up to the offset asked (-1: the high
    watermark); records below it can no longer be read. Returns the leader's answer and,
    for each partition moved, the offset its followers' log start must reach before the
    answer goes out (:mod:`reflog.replication.delayed_delete_records`)."""
    required: dict[TopicPartition, int] = {}
    topics = []
    for topic in request.topics:
        results = []
        for p in topic.partitions:
            tp = TopicPartition(topic.name, p.partition_index)
            log_ = log_of(tp)
            code = refusal(tp)
            if code is None and log_ is None:
                code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            if code is not None or log_ is None:
                results.append(
                    DeleteRecordsPartitionResult(
                        partition_index=p.partition_index,
                        error_code=code or ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    )
                )
                continue
            hw = high_watermark(tp)
            offset = hw if p.offset == -1 else p.offset
            if not 0 <= offset <= hw:
                results.append(
                    DeleteRecordsPartitionResult(
                        partition_index=p.partition_index,
                        error_code=ErrorCode.OFFSET_OUT_OF_RANGE,
                    )
                )
                continue
            log_.maybe_increment_log_start_offset(offset)
            required[tp] = offset
            results.append(
                DeleteRecordsPartitionResult(
                    partition_index=p.partition_index, low_watermark=log_.log_start_offset
                )
            )
        topics.append(DeleteRecordsTopicResult(name=topic.name, partitions=results))
    return DeleteRecordsResponse(topics=topics), required
