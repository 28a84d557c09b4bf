"""Every partition log of one broker, laid out on disk as Kafka lays them out.

Each partition lives in ``<log.dirs>/<topic>-<partition>/``. On start the
manager finds the partition directories already on disk and reopens them (the
logs recover themselves), so a restarted broker serves what it had.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from reflog.storage.file_cache import FileCache
from reflog.storage.flusher import InlineFlusher, SegmentFlusher
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig
from reflog.storage.topic_config import read_topic_config, write_topic_config
from reflog.topic_partition import TopicPartition, topic_name_error

__all__ = ["LogManager"]

PARTITION_METADATA = "partition.metadata"


def _parse_dir_name(name: str) -> TopicPartition | None:
    topic, sep, partition = name.rpartition("-")
    if not sep or not partition.isdigit() or topic_name_error(topic):
        return None
    return TopicPartition(topic, int(partition))


class LogManager:
    def __init__(
        self,
        log_dir: Path,
        defaults: LogConfig | None = None,
        now_ms: int = 0,
        max_open_files: int = 512,
        flusher: SegmentFlusher | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.defaults = defaults or LogConfig()
        self.files = FileCache(max_open_files)
        self.flusher = flusher or InlineFlusher()
        self._logs: dict[TopicPartition, Log] = {}
        self._topic_ids: dict[TopicPartition, uuid.UUID] = {}  # read from partition.metadata
        log_dir.mkdir(parents=True, exist_ok=True)
        for child in sorted(log_dir.iterdir()):
            tp = _parse_dir_name(child.name)
            if tp is not None and child.is_dir():
                config = read_topic_config(child, self.defaults)
                self._logs[tp] = Log(child, config, now_ms, self.files, self.flusher)

    def get(self, tp: TopicPartition) -> Log | None:
        return self._logs.get(tp)

    def create(
        self, tp: TopicPartition, overrides: dict[str, str] | None = None, now_ms: int = 0
    ) -> Log:
        """Create the partition's directory and log, with the topic's config overrides."""
        log = self._logs.get(tp)
        if log is None:
            directory = self.log_dir / str(tp)
            directory.mkdir(parents=True, exist_ok=True)
            write_topic_config(directory, overrides or {})
            config = read_topic_config(directory, self.defaults)
            log = Log(directory, config, now_ms, self.files, self.flusher)
            self._logs[tp] = log
        return log

    def topic_id(self, tp: TopicPartition) -> uuid.UUID | None:
        """The id of the topic this partition's log was created for (None: not recorded)."""
        log = self._logs.get(tp)
        if log is None:
            return None
        if tp in self._topic_ids:
            return self._topic_ids[tp]
        try:
            text = (log.directory / PARTITION_METADATA).read_text()
        except OSError:
            return None
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "topic_id":
                raw = value.strip()
                found = uuid.UUID(bytes=base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
                self._topic_ids[tp] = found
                return found
        return None

    def set_topic_id(self, tp: TopicPartition, topic_id: uuid.UUID) -> None:
        """Record the topic's id beside the log, as Kafka's partition.metadata does."""
        log = self._logs[tp]
        encoded = base64.urlsafe_b64encode(topic_id.bytes).decode().rstrip("=")
        tmp = log.directory / (PARTITION_METADATA + ".tmp")
        tmp.write_text(f"version: 0\ntopic_id: {encoded}\n")
        os.replace(tmp, log.directory / PARTITION_METADATA)
        self._topic_ids[tp] = topic_id

    def reconfigure(self, tp: TopicPartition, overrides: dict[str, str]) -> None:
        """The topic's configs changed: keep them beside the partition and apply them now."""
        log = self._logs[tp]
        write_topic_config(log.directory, overrides)
        log.reconfigure(read_topic_config(log.directory, self.defaults))

    def delete(self, tp: TopicPartition) -> None:
        """The partition left this broker (its topic deleted, or reassigned elsewhere):
        its directory goes, files and all."""
        log = self._logs.pop(tp, None)
        self._topic_ids.pop(tp, None)
        if log is None:
            return
        for segment in log.segments:
            segment.delete()
        shutil.rmtree(log.directory, ignore_errors=True)

    def __iter__(self) -> Iterator[tuple[TopicPartition, Log]]:
        return iter(sorted(self._logs.items()))

    def flush_all(self) -> None:
        for log in self._logs.values():
            log.flush()

    def delete_old_segments(
        self, now_ms: int, high_watermark: Callable[[TopicPartition], int] | None = None
    ) -> int:
        """Retention for every partition; returns how many segments were deleted. With
        ``high_watermark`` (a replicated broker), only segments wholly below it go."""
        return sum(
            len(
                log.delete_old_segments(
                    now_ms, None if high_watermark is None else high_watermark(tp)
                )
            )
            for tp, log in self._logs.items()
        )

    def close(self) -> None:
        try:
            self.flusher.close()  # the rolls' flushes first: a clean shutdown leaves all durable
        finally:  # and the logs closed even if one of those failed (its error goes on up)
            for log in self._logs.values():
                log.close()
            self._logs.clear()
            self.files.close_all()

    def crash(self) -> None:
        """The simulation's power cut: unflushed bytes are lost, no clean-shutdown marker."""
        for log in self._logs.values():
            log.crash()
        self._logs.clear()
        self.files.close_all()
