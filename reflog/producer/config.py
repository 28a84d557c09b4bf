"""Producer settings, by Kafka's names, with Kafka's defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_IN_FLIGHT_FOR_IDEMPOTENCE", "ProducerConfig"]

# The most batches per partition an idempotent producer may have in flight: the broker
# remembers the last five batches of each producer, so a retry of any of them is found.
MAX_IN_FLIGHT_FOR_IDEMPOTENCE = 5


@dataclass(frozen=True)
class ProducerConfig:
    bootstrap_servers: tuple[tuple[str, int], ...]
    client_id: str = "reflog-producer"
    # -1 is "all", Kafka's default since 3.0 (idempotence needs it).
    acks: int = -1
    linger_ms: int = 5
    batch_size: int = 16_384
    max_request_size: int = 1_048_576
    request_timeout_ms: int = 30_000
    retries: int = 2_147_483_647
    retry_backoff_ms: int = 100
    # A record not acknowledged this long after its batch was created fails with
    # REQUEST_TIMED_OUT (Kafka's TimeoutException), wherever its batch is: open, queued for
    # a retry, or on the wire.
    delivery_timeout_ms: int = 120_000
    # How long a record may wait for its topic to appear in metadata. (Kafka's send()
    # blocks that long; reflog's send() never blocks, so the record fails instead.)
    max_block_ms: int = 60_000
    # None is Kafka's default: on, unless acks or max.in.flight conflict with it, in which
    # case idempotence is quietly off (as Kafka 3.2+ does when enable.idempotence was not
    # set). True with a conflicting setting is an error, as in Kafka.
    enable_idempotence: bool | None = None
    # reflog simplification: counted per partition, not per connection (Kafka counts
    # requests per connection; with one batch per partition per request that is the same
    # bound on batches in flight for a partition). Without idempotence reflog keeps one
    # batch per partition in flight, so retries cannot reorder records.
    max_in_flight_requests_per_connection: int = MAX_IN_FLIGHT_FOR_IDEMPOTENCE

    # Transactions (reflog.producer.transactions): the id that fences older instances, and
    # how long the coordinator lets a transaction stay open.
    transactional_id: str | None = None
    transaction_timeout_ms: int = 60_000

    def __post_init__(self) -> None:
        if self.transactional_id is not None and not self.idempotent:
            raise ValueError("a transactional producer must be idempotent")
        if self.acks not in (-1, 0, 1):
            raise ValueError("acks must be 0, 1 or -1 (all)")
        if self.max_in_flight_requests_per_connection < 1:
            raise ValueError("max.in.flight.requests.per.connection must be at least 1")
        if self.enable_idempotence and self.acks != -1:
            raise ValueError("Must set acks to all in order to use the idempotent producer")
        if self.enable_idempotence and (
            self.max_in_flight_requests_per_connection > MAX_IN_FLIGHT_FOR_IDEMPOTENCE
        ):
            raise ValueError(
                "max.in.flight.requests.per.connection must be at most "
                f"{MAX_IN_FLIGHT_FOR_IDEMPOTENCE} to use the idempotent producer"
            )
        if self.enable_idempotence and self.retries == 0:
            raise ValueError("Must set retries to non-zero when using the idempotent producer")
        if self.delivery_timeout_ms < self.linger_ms + self.request_timeout_ms:
            # Kafka's check: a batch must have time for at least one whole attempt.
            raise ValueError(
                "delivery.timeout.ms should be equal to or larger than "
                "linger.ms + request.timeout.ms"
            )

    @property
    def idempotent(self) -> bool:
        """Whether this producer is idempotent: ``enable.idempotence``, or Kafka's default
        (on when acks=all, retries and max.in.flight allow it)."""
        if self.enable_idempotence is not None:
            return self.enable_idempotence
        return (
            self.acks == -1
            and self.retries > 0
            and self.max_in_flight_requests_per_connection <= MAX_IN_FLIGHT_FOR_IDEMPOTENCE
        )
