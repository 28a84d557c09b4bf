"""Partition logs on disk and the interface the broker sees them through."""

from reflog.storage.log_manager import LogFactory, LogManager
from reflog.storage.partition_log import (
    AppendInfo,
    OffsetOutOfRangeError,
    PartitionLog,
    ReadInfo,
    TimestampOffset,
)
from reflog.storage.simple_log import SimpleLog

__all__ = [
    "AppendInfo",
    "LogFactory",
    "LogManager",
    "OffsetOutOfRangeError",
    "PartitionLog",
    "ReadInfo",
    "SimpleLog",
    "TimestampOffset",
]
