"""What a consumer hands the application from fetched batches: never a marker, and with
read_committed nothing of an aborted transaction."""

from __future__ import annotations

from reflog.consumer.read_committed import visible_batches
from reflog.records import build_batch, iter_batches
from reflog.records.batch import RecordBatch
from reflog.transactions.records import control_batch
from reflog.wire.messages.fetch import AbortedTransaction


def at(offset: int, data: bytes) -> bytes:
    return data[:0] + offset.to_bytes(8, "big") + data[8:]


def log(*batches: bytes) -> list[RecordBatch]:
    offset, out = 0, b""
    for b in batches:
        view = next(iter_batches(b))
        out += at(offset, b)
        offset += view.last_offset_delta + 1
    return list(iter_batches(out))


def txn(pid: int, value: bytes) -> bytes:
    return build_batch([(None, value, 0)], producer_id=pid, producer_epoch=0, base_sequence=0,
                       is_transactional=True)  # fmt: skip


def marker(pid: int, commit: bool) -> bytes:
    return control_batch(pid, 0, commit, 0, 0)


def values(batches: list[RecordBatch]) -> list[bytes | None]:
    return [r.value for b in batches for r in b.records()]


# offsets: 0 plain, 1 p1 aborted, 2 p2 committed, 3 ABORT p1, 4 COMMIT p2, 5 p1 again, 6 COMMIT p1
LOG = log(
    build_batch([(None, b"plain", 0)]),
    txn(1, b"p1-aborted"),
    txn(2, b"p2-committed"),
    marker(1, commit=False),
    marker(2, commit=True),
    txn(1, b"p1-committed"),
    marker(1, commit=True),
)


def test_read_uncommitted_returns_every_data_batch_but_no_marker() -> None:
    assert values(list(visible_batches(LOG, None))) == [
        b"plain", b"p1-aborted", b"p2-committed", b"p1-committed"
    ]  # fmt: skip


def test_read_committed_drops_an_aborted_transaction_only_until_its_abort_marker() -> None:
    aborted = [AbortedTransaction(producer_id=1, first_offset=1)]
    assert values(list(visible_batches(LOG, aborted))) == [
        b"plain", b"p2-committed", b"p1-committed"
    ]  # fmt: skip
