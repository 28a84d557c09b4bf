"""A broker's supply of producer ids: blocks from the controller, handed out one by one.

Kafka's ``RPCProducerIdManager`` (KIP-730) in a small pure core. Every InitProducerId
of an idempotent producer takes the next id of the broker's current block; the block
came from the active controller in an AllocateProducerIds answer, which the controller
sends only after the block is committed to the metadata log. So an id is never handed
out twice: not by two brokers (their blocks are disjoint), not after a controller
failover (the new controller's image holds every committed block), not after a broker
restart (a restarted broker asks for a fresh block; what was left of its old one is
never used).

As in Kafka, a broker asks for its first block when the first producer asks it for an
id (a cluster without idempotent producers writes no producer-id records), and for the
next block when 90% of the current one is used, so later producers do not wait. A
producer that finds no id at hand waits for the block on its way (Kafka before 3.5
held the request the same way); with no block coming (the broker is not registered
yet, or the controller did not answer), InitProducerId answers
COORDINATOR_LOAD_IN_PROGRESS and the producer retries, as Kafka answers since 3.5.
"""

from __future__ import annotations

from dataclasses import dataclass

from reflog.wire.errors import ErrorCode
from reflog.wire.messages.quorum import AllocateProducerIdsRequest, AllocateProducerIdsResponse

__all__ = ["ProducerIdBlock", "ProducerIdManager"]

RETRY_BACKOFF_MS = 50
PREFETCH_FRACTION = 0.1  # ask for the next block when a tenth of this one is left


@dataclass
class ProducerIdBlock:
    """The ids ``[next_id, end)`` still to hand out, of a block that began at ``start``."""

    start: int
    next_id: int
    end: int

    @property
    def remaining(self) -> int:
        return self.end - self.next_id


class ProducerIdManager:
    def __init__(self, broker_id: int) -> None:
        self.broker_id = broker_id
        self.current: ProducerIdBlock | None = None
        self.prefetched: ProducerIdBlock | None = None  # the next block, waiting its turn
        self.in_flight = False  # one AllocateProducerIds at a time
        self.retry_at_ms = 0  # after a failed request: not before this
        self.wanted = False  # a producer asked for an id: from now on, keep a block ready

    # -- entry points -----------------------------------------------------------------
    def generate(self) -> int | None:
        """The next producer id, or None if this broker has none at hand."""
        self.wanted = True
        if (self.current is None or self.current.remaining == 0) and self.prefetched:
            self.current, self.prefetched = self.prefetched, None
        block = self.current
        if block is None or block.remaining == 0:
            return None
        producer_id = block.next_id
        block.next_id += 1
        return producer_id

    def request(self, now_ms: int, broker_epoch: int) -> AllocateProducerIdsRequest | None:
        """The AllocateProducerIds to send now, if one is due (``broker_epoch`` -1: this
        broker is not registered yet, and the controller would refuse it)."""
        if self.in_flight or broker_epoch < 0 or not self._wants_block():
            return None
        if now_ms < self.retry_at_ms:
            return None
        self.in_flight = True
        return AllocateProducerIdsRequest(broker_id=self.broker_id, broker_epoch=broker_epoch)

    def on_response(self, now_ms: int, response: AllocateProducerIdsResponse) -> None:
        """The controller's answer; a failure (REQUEST_TIMED_OUT included) is retried."""
        self.in_flight = False
        if response.error_code != ErrorCode.NONE or response.producer_id_len <= 0:
            self.retry_at_ms = now_ms + RETRY_BACKOFF_MS
            return
        start = response.producer_id_start
        block = ProducerIdBlock(start, start, start + response.producer_id_len)
        if self.current is None or self.current.remaining == 0:
            self.current = block
        else:
            self.prefetched = block

    def next_deadline_ms(self, broker_epoch: int) -> int | None:
        """When :meth:`request` will have something to send, if it waits on a backoff."""
        if self.in_flight or broker_epoch < 0 or not self._wants_block():
            return None
        return self.retry_at_ms

    # -- helpers ----------------------------------------------------------------------
    def _wants_block(self) -> bool:
        if not self.wanted or self.prefetched is not None:
            return False
        block = self.current
        if block is None:
            return True
        return block.remaining <= (block.end - block.start) * PREFETCH_FRACTION
