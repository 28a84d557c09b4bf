"""What the transaction coordinator writes: ``__transaction_state`` records and the
COMMIT/ABORT control records the partitions get.

``__transaction_state`` is compacted, keyed by transactional id. The key is Kafka's
``TransactionLogKey`` (version 0: the id); the value is ``TransactionLogValue`` version 0
(producer id and epoch, timeout, state byte, the partitions in the transaction, two
timestamps), so a Kafka tool would read reflog's log.

A control record (in a batch with the control bit set) has Kafka's ``ControlRecordType``
key (version 0, type 0 = ABORT, 1 = COMMIT) and ``EndTransactionMarker`` value
(version 0, coordinator epoch).
"""

from __future__ import annotations

from dataclasses import dataclass

from reflog.records import build_batch
from reflog.storage.txn_index import ABORT, COMMIT
from reflog.topic_partition import TopicPartition
from reflog.transactions.state import TxnState
from reflog.wire.codec import Reader, Writer, chunks_to_bytes
from reflog.wire.errors import WireDecodeError

__all__ = [
    "ABORT",
    "COMMIT",
    "TxnLogValue",
    "control_batch",
    "decode_txn_key",
    "decode_txn_value",
    "txn_log_record",
]


@dataclass(frozen=True)
class TxnLogValue:
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState
    partitions: frozenset[TopicPartition]
    last_update_ms: int
    start_ms: int


def txn_log_record(transactional_id: str, value: TxnLogValue) -> tuple[bytes, bytes]:
    key = Writer()
    key.int16(0)
    key.string(transactional_id, False)
    w = Writer()
    w.int16(0)
    w.int64(value.producer_id)
    w.int16(value.producer_epoch)
    w.int32(value.timeout_ms)
    w.int8(int(value.state))
    by_topic: dict[str, list[int]] = {}
    for tp in sorted(value.partitions):
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    w.int32(len(by_topic))
    for topic, partitions in by_topic.items():
        w.string(topic, False)
        w.int32(len(partitions))
        for p in partitions:
            w.int32(p)
    w.int64(value.last_update_ms)
    w.int64(value.start_ms)
    return chunks_to_bytes(key.chunks()), chunks_to_bytes(w.chunks())


def decode_txn_key(data: bytes) -> str:
    r = Reader(data)
    if r.int16() != 0:
        raise WireDecodeError("unknown __transaction_state key version")
    transactional_id = r.string(False)
    if transactional_id is None:
        raise WireDecodeError("a null transactional id")
    return transactional_id


def decode_txn_value(data: bytes) -> TxnLogValue:
    r = Reader(data)
    if r.int16() != 0:
        raise WireDecodeError("reflog reads __transaction_state value version 0 only")
    producer_id, epoch, timeout = r.int64(), r.int16(), r.int32()
    state = TxnState(r.int8())
    partitions = set()
    for _ in range(max(r.int32(), 0)):
        topic = r.string(False) or ""
        for _ in range(max(r.int32(), 0)):
            partitions.add(TopicPartition(topic, r.int32()))
    return TxnLogValue(
        producer_id, epoch, timeout, state, frozenset(partitions), r.int64(), r.int64()
    )


def control_batch(
    producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int, now_ms: int
) -> bytes:
    """One COMMIT or ABORT marker as a control batch of one record."""
    key = Writer()
    key.int16(0)
    key.int16(COMMIT if commit else ABORT)
    value = Writer()
    value.int16(0)
    value.int32(coordinator_epoch)
    record = (chunks_to_bytes(key.chunks()), chunks_to_bytes(value.chunks()), now_ms)
    return build_batch(
        [record],
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=True,
        is_control=True,
    )
