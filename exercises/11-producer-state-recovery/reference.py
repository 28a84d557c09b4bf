"""The reference answer: reflog's own producer-state table, rebuilt as its logs rebuild it
(``Log._load_producer_state``: the snapshot chosen the same way, the batches replayed through
``ProducerStateManager.update``)."""

from __future__ import annotations

from collections import deque

from reflog.storage.producer_state import (
    MAX_CACHED_BATCHES,
    BatchMetadata,
    ProducerStateEntry,
    ProducerStateManager,
    last_sequence,
)

__all__ = ["rebuild"]

Batch = tuple[int, int, int, int]
Table = dict[int, tuple[int, list[Batch]]]
LogBatch = tuple[int, int, int, int, int]


def rebuild(
    snapshots: dict[int, Table | None],
    batches: list[LogBatch],
    log_start_offset: int,
    log_end_offset: int,
) -> Table:
    table = ProducerStateManager()
    replay_from = log_start_offset
    usable = [o for o in sorted(snapshots) if log_start_offset <= o <= log_end_offset]
    for offset in reversed(usable):
        held = snapshots[offset]
        if held is None:
            continue  # unreadable: the next older one
        for producer_id, (epoch, remembered) in held.items():
            metadata = [BatchMetadata(*b, timestamp=0) for b in remembered]
            table.producers[producer_id] = ProducerStateEntry(
                producer_id, epoch, deque(metadata, maxlen=MAX_CACHED_BATCHES)
            )
        replay_from = offset
        break
    for base_offset, last_offset, producer_id, epoch, base_sequence in batches:
        if base_offset < replay_from or producer_id < 0:
            continue
        last_seq = last_sequence(base_sequence, last_offset - base_offset)
        batch = BatchMetadata(base_sequence, last_seq, base_offset, last_offset, timestamp=0)
        table.update(producer_id, epoch, batch)
    return {
        producer_id: (entry.producer_epoch, [tuple(b[:4]) for b in entry.batches])
        for producer_id, entry in table.producers.items()
    }
