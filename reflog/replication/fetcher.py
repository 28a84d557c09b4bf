"""A follower's fetcher: copies one leader's partitions into this broker's logs.

Kafka runs one ``ReplicaFetcherThread`` per leader broker; reflog has one
:class:`ReplicaFetcher` per leader, as a pure core: it says which request to
send next (one in flight at a time) and applies the answer.

A partition starts **truncating**: after a leader change the follower's log may
hold records the new leader never had. It asks the leader, with
OffsetForLeaderEpoch, where its latest epoch ends there and truncates to that
point (or, under the old policy, to its own high watermark without asking).
Then it is **fetching**: Fetch requests with its broker id as ``replica_id``,
from its log end offset, which the leader waits on (``replica.fetch.wait.max.ms``)
until new records arrive. Each batch is appended with the leader's offsets and
epoch; the follower's high watermark is the leader's, capped by its own log end.
"""

from __future__ import annotations

from enum import Enum

from reflog.records.batch import RecordBatch, iter_batches
from reflog.records.errors import CorruptRecordError
from reflog.records.file_slice import FileSlice
from reflog.replication.epoch_cache import UNDEFINED_EPOCH
from reflog.replication.partition import Partition
from reflog.replication.truncation import (
    TruncationPolicy,
    truncation_complete,
    truncation_offset,
)
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic
from reflog.wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)

__all__ = ["FetchStatus", "ReplicaFetcher"]

RETRY_BACKOFF_MS = 100  # after an error (Kafka's replica.fetch.backoff.ms is 1000)


class FetchStatus(Enum):
    TRUNCATING = "Truncating"
    FETCHING = "Fetching"


class ReplicaFetcher:
    def __init__(
        self,
        broker_id: int,
        leader_id: int,
        policy: TruncationPolicy,
        wait_max_ms: int = 500,
        max_bytes: int = 10 * 1024 * 1024,
        partition_max_bytes: int = 1_048_576,
    ) -> None:
        self.broker_id = broker_id
        self.leader_id = leader_id
        self.policy = policy
        self.wait_max_ms = wait_max_ms
        self.max_bytes = max_bytes
        self.partition_max_bytes = partition_max_bytes
        self.status: dict[TopicPartition, FetchStatus] = {}
        # The leader epoch each partition's OffsetForLeaderEpoch was asked in: an answer
        # given for an epoch we have since left is dropped.
        self.asked_in_epoch: dict[TopicPartition, int] = {}
        self.in_flight = False
        self.backoff_until_ms = 0

    def add(self, tp: TopicPartition) -> None:
        self.status[tp] = FetchStatus.TRUNCATING

    def remove(self, tp: TopicPartition) -> None:
        self.status.pop(tp, None)

    # -- what to send ----------------------------------------------------------------------
    def next_request(
        self, now_ms: int, partitions: dict[TopicPartition, Partition]
    ) -> FetchRequest | OffsetForLeaderEpochRequest | None:
        if self.in_flight or not self.status or now_ms < self.backoff_until_ms:
            return None
        self._truncate_without_asking(partitions)
        asking = [tp for tp, s in sorted(self.status.items()) if s == FetchStatus.TRUNCATING]
        request: FetchRequest | OffsetForLeaderEpochRequest
        if asking:
            self.asked_in_epoch = {tp: partitions[tp].leader_epoch for tp in asking}
            request = OffsetForLeaderEpochRequest(
                replica_id=self.broker_id,
                topics=[
                    OffsetForLeaderTopic(
                        topic=tp.topic,
                        partitions=[
                            OffsetForLeaderPartition(
                                partition=tp.partition,
                                current_leader_epoch=partitions[tp].leader_epoch,
                                leader_epoch=partitions[tp].epoch_cache.latest_epoch,
                            )
                        ],
                    )
                    for tp in asking
                ],
            )
        else:
            request = FetchRequest(
                replica_id=self.broker_id,
                max_wait_ms=self.wait_max_ms,
                min_bytes=1,
                max_bytes=self.max_bytes,
                topics=[
                    FetchTopic(
                        topic=tp.topic,
                        partitions=[
                            FetchPartition(
                                partition=tp.partition,
                                current_leader_epoch=partitions[tp].leader_epoch,
                                fetch_offset=partitions[tp].log.log_end_offset,
                                log_start_offset=partitions[tp].log.log_start_offset,
                                partition_max_bytes=self.partition_max_bytes,
                            )
                        ],
                    )
                    for tp in sorted(self.status)
                ],
            )
        self.in_flight = True
        return request

    def _truncate_without_asking(self, partitions: dict[TopicPartition, Partition]) -> None:
        for tp, status in self.status.items():
            if status != FetchStatus.TRUNCATING:
                continue
            p = partitions[tp]
            if self.policy == TruncationPolicy.HIGH_WATERMARK or (
                p.epoch_cache.latest_epoch == UNDEFINED_EPOCH
            ):
                _truncate(p, p.high_watermark)
                self.status[tp] = FetchStatus.FETCHING

    # -- answers -----------------------------------------------------------------------------
    def on_unreachable(self, now_ms: int) -> None:
        self.in_flight = False
        self.backoff_until_ms = now_ms + RETRY_BACKOFF_MS

    def on_epoch_response(
        self,
        now_ms: int,
        response: OffsetForLeaderEpochResponse,
        partitions: dict[TopicPartition, Partition],
    ) -> None:
        self.in_flight = False
        for topic in response.topics:
            for answer in topic.partitions:
                tp = TopicPartition(topic.topic, answer.partition)
                p = partitions.get(tp)
                if p is None or self.status.get(tp) != FetchStatus.TRUNCATING:
                    continue
                if self.asked_in_epoch.get(tp) != p.leader_epoch:
                    continue  # asked before an epoch change: ask again
                if answer.error_code != ErrorCode.NONE:
                    self.backoff_until_ms = now_ms + RETRY_BACKOFF_MS
                    continue
                complete = truncation_complete(p.epoch_cache, answer.leader_epoch)
                offset = truncation_offset(
                    p.epoch_cache,
                    p.log.log_end_offset,
                    p.high_watermark,
                    answer.leader_epoch,
                    answer.end_offset,
                )
                _truncate(p, offset)
                if complete:
                    self.status[tp] = FetchStatus.FETCHING  # else: ask again, one epoch older

    def on_fetch_response(
        self, now_ms: int, response: FetchResponse, partitions: dict[TopicPartition, Partition]
    ) -> list[TopicPartition]:
        """Append what came; return the partitions whose log grew."""
        self.in_flight = False
        grew = []
        for topic in response.responses:
            for data in topic.partitions:
                tp = TopicPartition(topic.topic, data.partition_index)
                p = partitions.get(tp)
                if p is None or self.status.get(tp) != FetchStatus.FETCHING:
                    continue
                if data.error_code == ErrorCode.OFFSET_OUT_OF_RANGE:
                    if p.log.log_end_offset < data.log_start_offset:
                        # Below what the leader still keeps: start over from its log start.
                        p.log.truncate_fully_and_start_at(data.log_start_offset, now_ms)
                        p.epoch_cache.clear()
                        p.high_watermark = data.log_start_offset
                    else:
                        self.status[tp] = FetchStatus.TRUNCATING  # we hold more than it
                    self.backoff_until_ms = now_ms + RETRY_BACKOFF_MS
                    continue
                if data.error_code != ErrorCode.NONE:
                    self.backoff_until_ms = now_ms + RETRY_BACKOFF_MS
                    continue
                try:
                    if _append(p, data.records, now_ms):
                        grew.append(tp)
                except _Diverged:
                    self.status[tp] = FetchStatus.TRUNCATING  # find where, by epoch
                    self.backoff_until_ms = now_ms + RETRY_BACKOFF_MS
                    continue
                p.high_watermark = max(
                    p.high_watermark, min(data.high_watermark, p.log.log_end_offset)
                )
                # Records the leader deleted (DeleteRecords) go here too, as in Kafka.
                p.log.maybe_increment_log_start_offset(data.log_start_offset)
        return grew


def _truncate(p: Partition, offset: int) -> None:
    if offset < p.log.log_end_offset:
        p.log.truncate_to(offset)
    p.epoch_cache.truncate_from_end(p.log.log_end_offset)
    p.high_watermark = min(p.high_watermark, p.log.log_end_offset)


class _Diverged(Exception):
    """The leader's batches do not line up with our log end: our logs differ there."""


def _append(p: Partition, records: bytes | memoryview | FileSlice | None, now_ms: int) -> bool:
    """Append the batches that continue our log; True if any did. Raises _Diverged when a
    batch straddles our log end (its records before our end differ from ours)."""
    if records is None:
        return False
    raw = records.read() if isinstance(records, FileSlice) else bytes(records)
    if not raw:
        return False
    appended = False
    try:
        for batch in iter_batches(raw, allow_partial_tail=True):
            batch.validate()
            if batch.last_offset < p.log.log_end_offset:
                continue  # we have it already
            if batch.base_offset != p.log.log_end_offset:
                raise _Diverged(
                    f"batch at {batch.base_offset}, our log ends at {p.log.log_end_offset}"
                )
            _append_batch(p, batch, now_ms)
            appended = True
    except CorruptRecordError:
        pass  # keep what came before it; the next fetch asks again
    return appended


def _append_batch(p: Partition, batch: RecordBatch, now_ms: int) -> None:
    # No segment.bytes check here (Kafka's RECORD_LIST_TOO_LARGE): the leader refused any
    # produced record set larger than a segment (validate_records), so each batch it holds
    # fits one, and a follower appending them one at a time never meets a larger one.
    epoch = batch.partition_leader_epoch
    p.epoch_cache.assign(epoch, batch.base_offset)
    p.log.append(batch, epoch, now_ms)
