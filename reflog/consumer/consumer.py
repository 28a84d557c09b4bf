"""reflog's consumer as a pure core: positions, fetches, and ``auto.offset.reset``.

The consumer keeps a *position* per assigned partition: the offset of the next
record it will hand out. It fetches from each partition's leader (at most one
fetch per broker in flight), decodes only whole batches (a response may end
in a partial one, cut at the byte limit), and skips records below the position
(a fetch returns the whole batch that holds it). A partition with no position,
or whose position fell out of the log (OFFSET_OUT_OF_RANGE), is reset by
``auto.offset.reset``: ``earliest`` or ``latest`` through ListOffsets, or
``none``: an error for the application.

reflog simplification: no consumer groups yet; partitions are assigned by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from reflog.client.actions import ClientAction
from reflog.client.network import ClientNetwork
from reflog.records.batch import Header, iter_batches
from reflog.records.file_slice import FileSlice
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from reflog.wire.schema import Response

__all__ = ["Consumer", "ConsumerConfig", "ConsumerRecord", "OffsetResetError"]

EARLIEST = -2
LATEST = -1


class OffsetResetError(Exception):
    """``auto.offset.reset=none`` and a partition has no valid position."""


@dataclass(frozen=True)
class ConsumerConfig:
    bootstrap_servers: tuple[tuple[str, int], ...]
    client_id: str = "reflog-consumer"
    auto_offset_reset: str = "latest"  # earliest | latest | none
    fetch_min_bytes: int = 1
    fetch_max_wait_ms: int = 500
    fetch_max_bytes: int = 52_428_800
    max_partition_fetch_bytes: int = 1_048_576
    request_timeout_ms: int = 30_000
    retry_backoff_ms: int = 100

    def __post_init__(self) -> None:
        if self.auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError("auto.offset.reset is earliest, latest or none")


class ConsumerRecord(NamedTuple):
    """One record as the application receives it (a NamedTuple: one is built per record
    consumed, and a frozen dataclass costs about three times as much to build)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()


class Consumer:
    def __init__(self, config: ConsumerConfig) -> None:
        self.config = config
        self.network = ClientNetwork(
            list(config.bootstrap_servers),
            client_id=config.client_id,
            request_timeout_ms=config.request_timeout_ms,
        )
        self._assigned: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}
        self._high_watermarks: dict[TopicPartition, int] = {}
        self._reset_to: dict[TopicPartition, int] = {}  # EARLIEST or LATEST, pending ListOffsets
        self._resetting: set[TopicPartition] = set()
        self._fetching: set[int] = set()  # leaders with a fetch in flight
        self._backoff_until: int = 0
        self._buffer: list[ConsumerRecord] = []
        self._error: OffsetResetError | None = None

    # -- the application's side -------------------------------------------------------
    def assign(self, partitions: list[TopicPartition], now_ms: int) -> None:
        self._assigned = list(partitions)
        self.network.want_topics({tp.topic for tp in partitions}, now_ms)
        for tp in list(self._positions):
            if tp not in partitions:
                del self._positions[tp]
        self._buffer = [
            r for r in self._buffer if TopicPartition(r.topic, r.partition) in partitions
        ]

    def assignment(self) -> list[TopicPartition]:
        return list(self._assigned)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._positions[tp] = offset
        self._reset_to.pop(tp, None)
        self._drop_buffered(tp)

    def seek_to_beginning(self, partitions: list[TopicPartition] | None = None) -> None:
        for tp in partitions or self._assigned:
            self._positions.pop(tp, None)
            self._reset_to[tp] = EARLIEST
            self._drop_buffered(tp)

    def seek_to_end(self, partitions: list[TopicPartition] | None = None) -> None:
        for tp in partitions or self._assigned:
            self._positions.pop(tp, None)
            self._reset_to[tp] = LATEST
            self._drop_buffered(tp)

    def position(self, tp: TopicPartition) -> int | None:
        return self._positions.get(tp)

    def high_watermark(self, tp: TopicPartition) -> int | None:
        return self._high_watermarks.get(tp)

    def poll(self) -> list[ConsumerRecord]:
        """The records fetched since the last poll, in offset order per partition."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        records, self._buffer = self._buffer, []
        return records

    # -- the runtime's side -----------------------------------------------------------
    def tick(self, now_ms: int) -> list[ClientAction]:
        self.network.tick(now_ms)
        self._start_resets(now_ms)
        if now_ms >= self._backoff_until:
            self._send_fetches(now_ms)
        return self.network.take_actions()

    def next_deadline_ms(self) -> int | None:
        deadlines = [self._backoff_until] if self._backoff_until > self.network.now_ms else []
        network = self.network.next_deadline_ms()
        if network is not None:
            deadlines.append(network)
        return min(deadlines, default=None)

    # -- positions --------------------------------------------------------------------
    def _drop_buffered(self, tp: TopicPartition) -> None:
        self._buffer = [r for r in self._buffer if (r.topic, r.partition) != tp]

    def _needs_reset(self, tp: TopicPartition) -> None:
        policy = self.config.auto_offset_reset
        if policy == "none":
            self._error = OffsetResetError(f"no valid position for {tp} and auto.offset.reset=none")
            return
        self._reset_to[tp] = EARLIEST if policy == "earliest" else LATEST

    def _start_resets(self, now_ms: int) -> None:
        for tp in self._assigned:
            if tp not in self._positions and tp not in self._reset_to and self._error is None:
                self._needs_reset(tp)
        by_leader: dict[int, list[TopicPartition]] = {}
        for tp, _ in sorted(self._reset_to.items()):
            leader = self.network.leader_for(tp.topic, tp.partition)
            if leader is not None and tp not in self._resetting:
                by_leader.setdefault(leader, []).append(tp)
        for leader, tps in by_leader.items():
            self._send_list_offsets(leader, tps, now_ms)

    def _send_list_offsets(self, leader: int, tps: list[TopicPartition], now_ms: int) -> None:
        topics: dict[str, list[ListOffsetsPartition]] = {}
        for tp in tps:
            self._resetting.add(tp)
            topics.setdefault(tp.topic, []).append(
                ListOffsetsPartition(partition_index=tp.partition, timestamp=self._reset_to[tp])
            )
        request = ListOffsetsRequest(
            topics=[ListOffsetsTopic(name=t, partitions=p) for t, p in topics.items()]
        )

        def on_response(response: Response | None, error: int) -> None:
            self._resetting.difference_update(tps)
            if not isinstance(response, ListOffsetsResponse):
                self.network.request_metadata_update(self.network.now_ms)
                return
            for topic in response.topics:
                for p in topic.partitions:
                    tp = TopicPartition(topic.name, p.partition_index)
                    offset = p.offset if p.offset >= 0 else (p.old_style_offsets or [-1])[0]
                    if p.error_code == ErrorCode.NONE and offset >= 0 and tp in self._reset_to:
                        del self._reset_to[tp]
                        self._positions[tp] = offset

        self.network.request(leader, request, now_ms, on_response)

    # -- fetching ---------------------------------------------------------------------
    def _send_fetches(self, now_ms: int) -> None:
        by_leader: dict[int, list[TopicPartition]] = {}
        for tp in self._assigned:
            leader = self.network.leader_for(tp.topic, tp.partition)
            if tp in self._positions and leader is not None and leader not in self._fetching:
                by_leader.setdefault(leader, []).append(tp)
        for leader, tps in sorted(by_leader.items()):
            self._send_fetch(leader, tps, now_ms)

    def _send_fetch(self, leader: int, tps: list[TopicPartition], now_ms: int) -> None:
        topics: dict[str, list[FetchPartition]] = {}
        for tp in tps:
            topics.setdefault(tp.topic, []).append(
                FetchPartition(
                    partition=tp.partition,
                    fetch_offset=self._positions[tp],
                    partition_max_bytes=self.config.max_partition_fetch_bytes,
                )
            )
        request = FetchRequest(
            max_wait_ms=self.config.fetch_max_wait_ms,
            min_bytes=self.config.fetch_min_bytes,
            max_bytes=self.config.fetch_max_bytes,
            topics=[FetchTopic(topic=t, partitions=p) for t, p in topics.items()],
        )
        self._fetching.add(leader)

        def on_response(response: Response | None, error: int) -> None:
            self._fetching.discard(leader)
            if not isinstance(response, FetchResponse):
                # No answer: the leader may be gone for good. As Kafka's consumer does on a
                # disconnect, ask for metadata, which names the new leader once there is one.
                self.network.request_metadata_update(self.network.now_ms)
                self._backoff_until = self.network.now_ms + self.config.retry_backoff_ms
                return
            self._on_fetch(request, response)

        self.network.request(leader, request, now_ms, on_response)

    def _on_fetch(self, request: FetchRequest, response: FetchResponse) -> None:
        asked = {
            (t.topic, p.partition): p.fetch_offset for t in request.topics for p in t.partitions
        }
        for topic in response.responses:
            for p in topic.partitions:
                tp = TopicPartition(topic.topic, p.partition_index)
                if self._positions.get(tp) != asked.get(tp):
                    continue  # the application seeked meanwhile: this data is stale
                if p.error_code == ErrorCode.OFFSET_OUT_OF_RANGE:
                    del self._positions[tp]
                    self._needs_reset(tp)
                    continue
                if p.error_code != ErrorCode.NONE:
                    self.network.request_metadata_update(self.network.now_ms)
                    self._backoff_until = self.network.now_ms + self.config.retry_backoff_ms
                    continue
                self._high_watermarks[tp] = p.high_watermark
                self._take_records(tp, p.records)

    def _take_records(
        self, tp: TopicPartition, records: bytes | memoryview | FileSlice | None
    ) -> None:
        if records is None:
            return
        data = records.read() if isinstance(records, FileSlice) else records
        position = self._positions[tp]
        for batch in iter_batches(data):  # a partial batch at the end is skipped
            if batch.next_offset <= position:
                continue
            for record in batch.records():
                if record.offset >= position:
                    self._buffer.append(
                        ConsumerRecord(
                            tp.topic,
                            tp.partition,
                            record.offset,
                            record.timestamp,
                            record.key,
                            record.value,
                            record.headers,
                        )
                    )
                    position = record.offset + 1
            position = max(position, batch.next_offset)
        self._positions[tp] = position
