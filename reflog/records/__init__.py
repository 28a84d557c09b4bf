"""RecordBatch v2: build, parse and validate Kafka's record format."""

from reflog.records.batch import (
    BATCH_OVERHEAD,
    HEADER_SIZE,
    LOG_OVERHEAD,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    Header,
    NewRecord,
    Record,
    RecordBatch,
    build_batch,
    iter_batches,
    rebuild_batch,
    set_base_offset,
)
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice

__all__ = [
    "BATCH_OVERHEAD",
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "NO_PRODUCER_EPOCH",
    "NO_PRODUCER_ID",
    "NO_SEQUENCE",
    "CorruptRecordError",
    "FileSlice",
    "Header",
    "NewRecord",
    "Record",
    "RecordBatch",
    "build_batch",
    "iter_batches",
    "rebuild_batch",
    "set_base_offset",
]
