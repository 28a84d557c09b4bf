"""Every partition log of one broker, laid out on disk as Kafka lays them out.

Each partition lives in ``<log.dirs>/<topic>-<partition>/``. On start the
manager finds the partition directories already on disk and reopens them (the
logs recover themselves), so a restarted broker serves what it had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from reflog.storage.partition_log import PartitionLog
from reflog.storage.simple_log import SimpleLog
from reflog.topic_partition import TopicPartition, topic_name_error

__all__ = ["LogFactory", "LogManager"]

LogFactory = Callable[[Path], PartitionLog]


def _parse_dir_name(name: str) -> TopicPartition | None:
    topic, sep, partition = name.rpartition("-")
    if not sep or not partition.isdigit() or topic_name_error(topic):
        return None
    return TopicPartition(topic, int(partition))


class LogManager:
    def __init__(self, log_dir: Path, log_factory: LogFactory | None = None) -> None:
        self.log_dir = log_dir
        self._factory: LogFactory = log_factory or SimpleLog
        self._logs: dict[TopicPartition, PartitionLog] = {}
        log_dir.mkdir(parents=True, exist_ok=True)
        for child in sorted(log_dir.iterdir()):
            tp = _parse_dir_name(child.name)
            if tp is not None and child.is_dir():
                self._logs[tp] = self._factory(child)

    def get(self, tp: TopicPartition) -> PartitionLog | None:
        return self._logs.get(tp)

    def create(self, tp: TopicPartition) -> PartitionLog:
        log = self._logs.get(tp)
        if log is None:
            log = self._factory(self.log_dir / str(tp))
            self._logs[tp] = log
        return log

    def topics(self) -> dict[str, int]:
        """Topic name -> number of partitions, from the partitions on disk."""
        counts: dict[str, int] = {}
        for tp in self._logs:
            counts[tp.topic] = max(counts.get(tp.topic, 0), tp.partition + 1)
        return counts

    def __iter__(self) -> Iterator[tuple[TopicPartition, PartitionLog]]:
        return iter(sorted(self._logs.items()))

    def flush_all(self) -> None:
        for log in self._logs.values():
            log.flush()

    def close(self) -> None:
        for log in self._logs.values():
            log.close()
        self._logs.clear()
