"""Broker settings, by Kafka's names (``auto.create.topics.enable`` becomes
``auto_create_topics_enable``), with Kafka's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reflog.groups.config import GroupConfig
from reflog.replication.truncation import TruncationPolicy
from reflog.storage.log_config import LogConfig
from reflog.transactions.config import TxnConfig
from reflog.wire.headers import DEFAULT_MAX_REQUEST_BYTES

__all__ = ["BrokerConfig"]


@dataclass(frozen=True)
class BrokerConfig:
    node_id: int
    log_dir: Path
    # The address clients are told to connect to (Kafka's advertised.listeners).
    host: str = "127.0.0.1"
    port: int = 9092
    cluster_id: str = "reflog-cluster"
    auto_create_topics_enable: bool = True
    num_partitions: int = 1
    default_replication_factor: int = 1
    # The largest record batch a producer may send (Kafka's message.max.bytes).
    message_max_bytes: int = 1_048_588
    socket_request_max_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    # The broker-wide log.* defaults (log.segment.bytes, log.retention.ms,
    # min.insync.replicas, ...); topics override them with their own configs.
    log: LogConfig = field(default_factory=LogConfig)
    # How often retention runs (log.retention.check.interval.ms).
    log_retention_check_interval_ms: int = 300_000
    # How often the log cleaner looks for compacted logs to clean (log.cleaner.backoff.ms).
    log_cleaner_backoff_ms: int = 15_000
    # Replication (in a cluster): a follower not caught up for this long leaves the ISR.
    replica_lag_time_max_ms: int = 30_000
    # How long a leader holds a follower's fetch open waiting for new records.
    replica_fetch_wait_max_ms: int = 500
    # How many bytes a follower asks for per partition (replica.fetch.max.bytes): a
    # follower further behind catches up over several fetches. At least one batch comes
    # back even if it is larger.
    replica_fetch_max_bytes: int = 1_048_576
    # Where a follower truncates after a leader change: by leader epoch (KIP-101) or,
    # to show what went wrong before it, to its own high watermark.
    truncation_policy: TruncationPolicy = TruncationPolicy.LEADER_EPOCH
    # An idempotent producer that wrote nothing to a partition for this long is forgotten
    # there (producer.id.expiration.ms), checked every
    # producer.id.expiration.check.interval.ms.
    producer_id_expiration_ms: int = 86_400_000
    producer_id_expiration_check_interval_ms: int = 600_000
    # The group coordinator's group.* and offsets.* settings.
    groups: GroupConfig = field(default_factory=GroupConfig)
    # The transaction coordinator's transaction.* settings.
    transactions: TxnConfig = field(default_factory=TxnConfig)
