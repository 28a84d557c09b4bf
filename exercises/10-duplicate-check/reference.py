"""The reference answer: reflog's own producer-state table."""

from __future__ import annotations

from collections import deque

from reflog.storage.producer_state import (
    MAX_CACHED_BATCHES,
    BatchMetadata,
    ProducerStateEntry,
    ProducerStateError,
    ProducerStateManager,
)
from reflog.wire.errors import ErrorCode

__all__ = ["check_batch"]

PRODUCER_ID = 7


def check_batch(
    known_epoch: int | None,
    batches: list[tuple[int, int, int, int]],
    epoch: int,
    first_seq: int,
    last_seq: int,
) -> tuple[str, int]:
    table = ProducerStateManager()
    if known_epoch is not None:
        remembered = [BatchMetadata(*batch, timestamp=0) for batch in batches]
        table.producers[PRODUCER_ID] = ProducerStateEntry(
            PRODUCER_ID, known_epoch, deque(remembered, maxlen=MAX_CACHED_BATCHES)
        )
    try:
        original = table.check_leader_append(PRODUCER_ID, epoch, first_seq, last_seq)
    except ProducerStateError as refused:
        return ErrorCode(refused.error_code).name, -1
    if original is not None:
        return "duplicate", original.first_offset
    return "append", -1
