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


class TopicConfigError(ValueError):
    """An unknown topic config or a value that does not parse."""


def apply_overrides(defaults: LogConfig, overrides: dict[str, str]) -> LogConfig:
    changes: dict[str, object] = {}
    for name, value in overrides.items():
        if name not in TOPIC_CONFIGS:
            raise TopicConfigError(f"unknown topic config {name!r}")
        field, kind = TOPIC_CONFIGS[name]
        try:
            changes[field] = kind(value)
        except ValueError as exc:
            raise TopicConfigError(f"invalid value {value!r} for {name}") from exc
    try:
        return dataclasses.replace(defaults, **changes)  # type: ignore[arg-type]
    except ValueError as exc:
        raise TopicConfigError(str(exc)) from exc


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
