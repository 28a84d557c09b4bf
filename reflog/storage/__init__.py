"""Partition logs on disk (segments, indexes, recovery, retention) and the interface the
broker sees them through."""

from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig
from reflog.storage.log_manager import LogManager
from reflog.storage.partition_log import (
    AppendInfo,
    OffsetOutOfRangeError,
    PartitionLog,
    ReadInfo,
    TimestampOffset,
)

__all__ = [
    "AppendInfo",
    "Log",
    "LogConfig",
    "LogManager",
    "OffsetOutOfRangeError",
    "PartitionLog",
    "ReadInfo",
    "TimestampOffset",
]
