"""The transaction coordinator's settings, by Kafka's names, with Kafka's defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TXN_STATE_TOPIC", "TxnConfig"]

TXN_STATE_TOPIC = "__transaction_state"


@dataclass(frozen=True)
class TxnConfig:
    # __transaction_state: partitions (fixed once it exists) and replicas (at most one per
    # broker when it is created).
    transaction_state_log_num_partitions: int = 50
    transaction_state_log_replication_factor: int = 3
    # The longest transaction.timeout.ms a producer may ask for.
    transaction_max_timeout_ms: int = 900_000
    # How often open transactions are checked against their timeout.
    transaction_abort_timed_out_transaction_cleanup_interval_ms: int = 10_000
    # How long a marker waits for its partition's ISR, and how long before an unanswered
    # WriteTxnMarkers is sent again.
    transaction_marker_retry_backoff_ms: int = 1_000
    # How many bytes of __transaction_state a new coordinator reads per step while loading.
    transaction_load_buffer_size: int = 5 * 1024 * 1024
