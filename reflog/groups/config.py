"""The group coordinator's settings, by Kafka's names, with Kafka's defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GroupConfig"]


@dataclass(frozen=True)
class GroupConfig:
    # A member's session.timeout.ms must lie within these (else INVALID_SESSION_TIMEOUT).
    group_min_session_timeout_ms: int = 6_000
    group_max_session_timeout_ms: int = 1_800_000
    # How long the first rebalance of an empty group waits for more members to join,
    # extended by this much for each newcomer up to the rebalance timeout.
    group_initial_rebalance_delay_ms: int = 3_000
    # __consumer_offsets: how many partitions (fixed once the topic exists) and replicas
    # (at most as many as there are brokers when it is created).
    offsets_topic_num_partitions: int = 50
    offsets_topic_replication_factor: int = 3
    # How long an offset commit waits for the ISR of its __consumer_offsets partition.
    offsets_commit_timeout_ms: int = 5_000
    # The longest metadata string a commit may carry (else OFFSET_METADATA_TOO_LARGE).
    offset_metadata_max_bytes: int = 4_096
    # How many bytes of __consumer_offsets a new coordinator reads per step while loading.
    offsets_load_buffer_size: int = 5 * 1024 * 1024
