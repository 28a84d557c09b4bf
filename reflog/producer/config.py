"""Producer settings, by Kafka's names, with Kafka's defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProducerConfig"]


@dataclass(frozen=True)
class ProducerConfig:
    bootstrap_servers: tuple[tuple[str, int], ...]
    client_id: str = "reflog-producer"
    # -1 is "all". Kafka 3.x defaults to all (with idempotence, which reflog adds later).
    acks: int = -1
    linger_ms: int = 5
    batch_size: int = 16_384
    max_request_size: int = 1_048_576
    request_timeout_ms: int = 30_000
    retries: int = 2_147_483_647
    retry_backoff_ms: int = 100
    delivery_timeout_ms: int = 120_000
    # How long a record may wait for its topic to appear in metadata. (Kafka's send()
    # blocks that long; reflog's send() never blocks, so the record fails instead.)
    max_block_ms: int = 60_000

    def __post_init__(self) -> None:
        if self.acks not in (-1, 0, 1):
            raise ValueError("acks must be 0, 1 or -1 (all)")
