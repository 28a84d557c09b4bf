"""The reference answer: reflog's own read_committed filter, on real record batches."""

from __future__ import annotations

from reflog.consumer.read_committed import visible_batches
from reflog.records import iter_batches
from reflog.records.batch import build_batch, set_base_offset
from reflog.transactions.records import control_batch
from reflog.wire.messages.fetch import AbortedTransaction

__all__ = ["fetch"]


def _encode(base: int, last: int, producer_id: int, kind: str) -> bytes:
    if kind in ("COMMIT", "ABORT"):
        raw = bytearray(control_batch(producer_id, 0, kind == "COMMIT", 0, now_ms=0))
    else:
        records = [(None, b"v", 0) for _ in range(base, last + 1)]
        transactional = kind == "txn"
        raw = bytearray(
            build_batch(
                records,
                producer_id=producer_id if producer_id >= 0 else -1,
                producer_epoch=0 if producer_id >= 0 else -1,
                base_sequence=0 if producer_id >= 0 else -1,
                is_transactional=transactional,
            )
        )
    set_base_offset(raw, base)
    return bytes(raw)


def fetch(
    log: list[tuple[int, int, int, str]],
    last_stable_offset: int,
    aborted: list[tuple[int, int]],
    read_committed: bool,
) -> list[int]:
    answered = [b for b in log if not read_committed or b[0] < last_stable_offset]
    batches = list(iter_batches(b"".join(_encode(*b) for b in answered)))
    listed = (
        [AbortedTransaction(producer_id=p, first_offset=f) for p, f in aborted]
        if read_committed
        else None
    )
    return [
        offset
        for batch in visible_batches(batches, listed)
        for offset in range(batch.base_offset, batch.last_offset + 1)
    ]
