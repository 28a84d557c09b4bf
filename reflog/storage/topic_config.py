"""Topic configs (``retention.ms=...``) as Kafka names them, stored beside each partition.

A topic's overrides are kept as ``name=value`` lines in the partition directory, so a
restarted broker applies them again. Values are parsed into a :class:`LogConfig`;
an unknown name or a bad value is an error (Kafka: INVALID_CONFIG).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from reflog.storage.log_config import LogConfig

__all__ = [
    "BROKER_TOPIC_DEFAULTS",
    "TOPIC_CONFIGS",
    "TopicConfigError",
    "apply_overrides",
    "read_topic_config",
    "write_topic_config",
]

FILE_NAME = "topic.properties"


def _boolean(value: str) -> bool:
    """Kafka's booleans are the words true and false (any case); bool("false") would be True."""
    if value.lower() not in ("true", "false"):
        raise ValueError(f"not a boolean: {value!r}")
    return value.lower() == "true"


# Kafka's topic config name -> LogConfig field and how to read the value.
TOPIC_CONFIGS: dict[str, tuple[str, Callable[[str], object]]] = {
    "segment.bytes": ("segment_bytes", int),
    "segment.ms": ("segment_ms", int),
    "segment.index.bytes": ("segment_index_bytes", int),
    "index.interval.bytes": ("index_interval_bytes", int),
    "retention.ms": ("retention_ms", int),
    "retention.bytes": ("retention_bytes", int),
    "cleanup.policy": ("cleanup_policy", str),
    "delete.retention.ms": ("delete_retention_ms", int),
    "min.cleanable.dirty.ratio": ("min_cleanable_dirty_ratio", float),
    "flush.messages": ("flush_messages", int),
    "min.insync.replicas": ("min_insync_replicas", int),
    "unclean.leader.election.enable": ("unclean_leader_election_enable", _boolean),
}


# A broker's defaults for its topics, by the broker config's name (``log.retention.ms``
# sets every topic's ``retention.ms`` that does not override it), as Kafka's
# ``LogConfig`` synonyms are; these can also be changed while the cluster runs.
BROKER_TOPIC_DEFAULTS: dict[str, str] = {
    "log.segment.bytes": "segment.bytes",
    "log.roll.ms": "segment.ms",
    "log.index.size.max.bytes": "segment.index.bytes",
    "log.index.interval.bytes": "index.interval.bytes",
    "log.retention.ms": "retention.ms",
    "log.retention.bytes": "retention.bytes",
    "log.cleanup.policy": "cleanup.policy",
    "log.cleaner.delete.retention.ms": "delete.retention.ms",
    "log.cleaner.min.cleanable.ratio": "min.cleanable.dirty.ratio",
    "log.flush.interval.messages": "flush.messages",
    "min.insync.replicas": "min.insync.replicas",
    "unclean.leader.election.enable": "unclean.leader.election.enable",
}


class TopicConfigError(ValueError):
    """An unknown topic config or a value that does not parse (Kafka's messages)."""


def apply_overrides(defaults: LogConfig, overrides: dict[str, str]) -> LogConfig:
    config = defaults
    for name, value in overrides.items():
        if name not in TOPIC_CONFIGS:
            raise TopicConfigError(f"Unknown topic config name: {name}")
        field, kind = TOPIC_CONFIGS[name]
        try:
            parsed = kind(value)
        except ValueError as exc:
            raise TopicConfigError(
                f"Invalid value {value} for configuration {name}: {_expected(kind)}"
            ) from exc
        try:
            config = dataclasses.replace(config, **{field: parsed})  # type: ignore[arg-type]
        except ValueError as exc:
            raise TopicConfigError(
                f"Invalid value {value} for configuration {name}: {exc}"
            ) from exc
    return config


def _expected(kind: Callable[[str], object]) -> str:
    """What Kafka's ConfigDef says of a value that does not parse."""
    if kind is _boolean:
        return "Expected value to be either true or false"
    if kind is int:
        return "Not a number of type LONG"
    if kind is float:
        return "Not a number of type DOUBLE"
    return "Not a valid value"


def write_topic_config(directory: Path, overrides: dict[str, str]) -> None:
    tmp = directory / (FILE_NAME + ".tmp")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in sorted(overrides.items())))
    os.replace(tmp, directory / FILE_NAME)


def read_topic_config(directory: Path, defaults: LogConfig) -> LogConfig:
    path = directory / FILE_NAME
    if not path.exists():
        return defaults
    overrides = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            overrides[name.strip()] = value.strip()
    return apply_overrides(defaults, overrides)
