"""reflog's consumer as a pure core: positions, fetches, and ``auto.offset.reset``.

The consumer keeps a *position* per assigned partition: the offset of the next
record it will hand out. It fetches from each partition's leader (at most one
fetch per broker in flight), decodes only whole batches (a response may end
in a partial one, cut at the byte limit), and skips records below the position
(a fetch returns the whole batch that holds it). A partition with no position,
or whose position fell out of the log (OFFSET_OUT_OF_RANGE), is reset by
``auto.offset.reset``: ``earliest`` or ``latest`` through ListOffsets, or
``none``: an error for the application.

Partitions are assigned by hand (:meth:`Consumer.assign`) or by the group
(:meth:`Consumer.subscribe`, with ``group.id`` set): then a
:class:`~reflog.consumer.membership.GroupMembership` core joins the group, and the
partitions it is assigned start from their committed offsets. What is committed is what
the application has *consumed*: the offset of the first record :meth:`Consumer.poll` has
not handed out yet (records fetched but still buffered are not consumed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from reflog.client.actions import ClientAction
from reflog.client.network import ClientNetwork
from reflog.consumer.membership import CommitCallback, GroupConfig, GroupError, GroupMembership
from reflog.consumer.read_committed import visible_batches
from reflog.consumer.rebalance_listener import ConsumerRebalanceListener
from reflog.records.batch import Header, iter_batches
from reflog.records.file_slice import FileSlice
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import (
    AbortedTransaction,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
)
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from reflog.wire.schema import Request, Response

__all__ = [
    "Consumer",
    "ConsumerConfig",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "GroupError",
    "OffsetResetError",
]

EARLIEST = -2
LATEST = -1
COORDINATOR_CONNECTIONS = 2**31 - 1  # minus the broker id: the coordinator's connection


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
    # Consumer groups (used by subscribe()).
    group_id: str | None = None
    group_instance_id: str | None = None
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    partition_assignment_strategy: tuple[str, ...] = ("range", "cooperative-sticky")
    enable_auto_commit: bool = True
    auto_commit_interval_ms: int = 5_000
    # read_committed: only what committed transactions wrote, up to the last stable offset.
    isolation_level: str = "read_uncommitted"

    def __post_init__(self) -> None:
        if self.auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError("auto.offset.reset is earliest, latest or none")
        if self.isolation_level not in ("read_uncommitted", "read_committed"):
            raise ValueError("isolation.level is read_uncommitted or read_committed")
        if self.group_id is not None:
            self.group_config()  # checks the group settings now, not at subscribe()

    def group_config(self) -> GroupConfig:
        if self.group_id is None:
            raise ValueError("subscribe() needs a group.id")
        return GroupConfig(
            group_id=self.group_id,
            group_instance_id=self.group_instance_id,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            max_poll_interval_ms=self.max_poll_interval_ms,
            partition_assignment_strategy=self.partition_assignment_strategy,
            enable_auto_commit=self.enable_auto_commit,
            auto_commit_interval_ms=self.auto_commit_interval_ms,
            retry_backoff_ms=self.retry_backoff_ms,
        )


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
        self._leaderless_retry_ms = 0  # when to ask metadata again for a partition's leader
        self._buffer: list[ConsumerRecord] = []
        self._error: OffsetResetError | GroupError | None = None
        self.group: GroupMembership | None = None  # set by subscribe()
        self._closed = False
        self._metadata_wanted_ms: dict[frozenset[str], int] = {}

    # -- the group's side ---------------------------------------------------------------
    def subscribe(
        self, topics: list[str], listener: ConsumerRebalanceListener | None = None
    ) -> None:
        """Read ``topics`` as a member of the consumer group ``group.id``."""
        if self.group is None:
            if self._assigned:
                raise ValueError("assign() and subscribe() do not mix (Kafka: IllegalState)")
            self.group = GroupMembership(
                self.config.group_config(),
                consumed=self.consumed_offsets,
                partitions_per_topic=self._partitions_per_topic,
                listener=_Rebalance(self, listener or ConsumerRebalanceListener()),
            )
        elif listener is not None:
            assert isinstance(self.group.listener, _Rebalance)
            self.group.listener.application = listener
        self.group.subscribe(topics)
        self.network.want_topics(set(topics), self.network.now_ms)

    def commit(
        self,
        offsets: dict[TopicPartition, int] | None = None,
        callback: CommitCallback | None = None,
    ) -> None:
        """Commit ``offsets``, by default what poll() has handed out so far, for the group.
        The commit is asynchronous: ``callback(offsets, error_code)`` hears how it went."""
        if self.group is None:
            raise ValueError("commit() needs subscribe() with a group.id")
        self.group.commit(self.consumed_offsets() if offsets is None else offsets, callback)

    def close(self) -> None:
        """Stop: poll() hands out nothing more, and a group member leaves its group
        (committing first with auto-commit, what poll() handed out before close())."""
        self._closed = True  # (what is buffered stays uncommitted: it was not handed out)
        if self.group is not None:
            self.group.close()

    def consumed_offsets(self) -> dict[TopicPartition, int]:
        """Per assigned partition with a position, the offset of the first record the
        application has not been handed yet: what a commit after processing commits."""
        consumed = {tp: self._positions[tp] for tp in self._assigned if tp in self._positions}
        for record in reversed(self._buffer):  # the earliest buffered record wins
            tp = TopicPartition(record.topic, record.partition)
            if tp in consumed:
                consumed[tp] = record.offset
        return consumed

    def _partitions_per_topic(self, topics: list[str]) -> dict[str, int] | None:
        """Partition counts for the group leader's assignor, once metadata asked for after
        ``topics`` were first wanted has come (topics that do not exist are left out)."""
        key = frozenset(topics)
        if key not in self._metadata_wanted_ms:
            self._metadata_wanted_ms[key] = self.network.now_ms
            self.network.want_topics(set(topics), self.network.now_ms)
            self.network.request_metadata_update(self.network.now_ms)
        updated = self.network.metadata_updated_ms
        if updated is None or updated < self._metadata_wanted_ms[key]:
            return None
        counts = {t: len(self.network.partitions(t) or []) for t in topics}
        return {t: n for t, n in counts.items() if n > 0}

    def _on_assigned(self, tps: list[TopicPartition]) -> None:
        self._assigned = sorted(set(self._assigned) | set(tps))
        self.network.want_topics({tp.topic for tp in tps}, self.network.now_ms)

    def _on_revoked(self, tps: list[TopicPartition]) -> None:
        gone = set(tps)
        self._assigned = [tp for tp in self._assigned if tp not in gone]
        for tp in gone:
            self._positions.pop(tp, None)
            self._reset_to.pop(tp, None)
        self._buffer = [r for r in self._buffer if (r.topic, r.partition) not in gone]

    def _tick_group(self, now_ms: int) -> None:
        group = self.group
        if group is None:
            return
        group.tick(now_ms)
        if group.error is not None and self._error is None:
            self._error, group.error = group.error, None
        for tp, offset in group.take_committed().items():
            if offset is not None and tp not in self._positions and tp in self._assigned:
                self._positions[tp] = offset
        for request in group.take_requests():
            node = self._coordinator_node() if request.to_coordinator else self.network.any_node()
            if node is None:
                group.on_response(request.body, None, ErrorCode.COORDINATOR_NOT_AVAILABLE)
                continue
            self.network.request(
                node,
                request.body,
                now_ms,
                self._group_callback(request.body),
                timeout_ms=request.timeout_ms,
            )

    def _coordinator_node(self) -> int | None:
        """The connection to the group's coordinator: one of its own, to the address
        FindCoordinator gave (Kafka's ``2**31 - 1 - broker id``), so that a JoinGroup the
        coordinator holds does not queue behind fetches, and a broker missing from stale
        metadata can still be reached."""
        assert self.group is not None
        if self.group.coordinator is None:
            return None
        node = COORDINATOR_CONNECTIONS - self.group.coordinator
        self.network.add_node(node, *self.group.coordinator_address)
        return node

    def _group_callback(self, body: Request) -> Callable[[Response | None, int], None]:
        def on_response(response: Response | None, error: int) -> None:
            assert self.group is not None
            self.group.now_ms = self.network.now_ms
            self.group.on_response(body, response, error)

        return on_response

    # -- the application's side -------------------------------------------------------
    def assign(self, partitions: list[TopicPartition], now_ms: int) -> None:
        if self.group is not None:
            raise ValueError("assign() and subscribe() do not mix (Kafka: IllegalState)")
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
        if self._closed:
            return []
        records, self._buffer = self._buffer, []
        return records

    # -- the runtime's side -----------------------------------------------------------
    def tick(self, now_ms: int) -> list[ClientAction]:
        self.network.tick(now_ms)
        self._tick_group(now_ms)
        if now_ms >= self._backoff_until and not self._closed:
            self._start_resets(now_ms)
            self._send_fetches(now_ms)
        return self.network.take_actions()

    def next_deadline_ms(self) -> int | None:
        now_ms = self.network.now_ms
        deadlines = [d for d in (self._backoff_until, self._leaderless_retry_ms) if d > now_ms]
        for deadline in (
            self.network.next_deadline_ms(),
            None if self.group is None else self.group.next_deadline_ms(),
        ):
            if deadline is not None:
                deadlines.append(deadline)
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
            if (
                tp not in self._positions
                and tp not in self._reset_to
                and self._error is None
                and not (self.group is not None and self.group.awaiting_committed(tp))
            ):
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
            # A read_committed consumer's "latest" is the last stable offset, not past an
            # open transaction whose records it would then never read.
            isolation_level=int(self.config.isolation_level == "read_committed"),
            topics=[ListOffsetsTopic(name=t, partitions=p) for t, p in topics.items()],
        )

        def on_response(response: Response | None, error: int) -> None:
            self._resetting.difference_update(tps)
            if not isinstance(response, ListOffsetsResponse):
                # As after a failed fetch: new metadata, and a pause before asking again
                # (a leader that refuses connections fails the request at once: asking
                # again at once would never let the clock move).
                self.network.request_metadata_update(self.network.now_ms)
                self._backoff_until = self.network.now_ms + self.config.retry_backoff_ms
                return
            for topic in response.topics:
                for p in topic.partitions:
                    tp = TopicPartition(topic.name, p.partition_index)
                    offset = p.offset if p.offset >= 0 else (p.old_style_offsets or [-1])[0]
                    if p.error_code == ErrorCode.NONE and offset >= 0 and tp in self._reset_to:
                        del self._reset_to[tp]
                        self._positions[tp] = offset
                    elif p.error_code != ErrorCode.NONE:
                        # NOT_LEADER_OR_FOLLOWER and the like: our metadata is stale.
                        self.network.request_metadata_update(self.network.now_ms)
                        self._backoff_until = self.network.now_ms + self.config.retry_backoff_ms

        self.network.request(leader, request, now_ms, on_response)

    # -- fetching ---------------------------------------------------------------------
    def _send_fetches(self, now_ms: int) -> None:
        by_leader: dict[int, list[TopicPartition]] = {}
        leaderless = False
        for tp in self._assigned:
            leader = self.network.leader_for(tp.topic, tp.partition)
            leaderless |= leader is None
            if tp in self._positions and leader is not None and leader not in self._fetching:
                by_leader.setdefault(leader, []).append(tp)
        for leader, tps in sorted(by_leader.items()):
            self._send_fetch(leader, tps, now_ms)
        if leaderless and now_ms >= self._leaderless_retry_ms:
            # Metadata names no leader (one was down when it was asked): ask again every
            # retry.backoff.ms, as Kafka's fetcher does, not metadata.max.age.ms later.
            self.network.request_metadata_update(now_ms)
            self._leaderless_retry_ms = now_ms + self.config.retry_backoff_ms

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
            isolation_level=int(self.config.isolation_level == "read_committed"),
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
                self._take_records(tp, p.records, p.aborted_transactions)

    def _take_records(
        self,
        tp: TopicPartition,
        records: bytes | memoryview | FileSlice | None,
        aborted: list[AbortedTransaction] | None = None,
    ) -> None:
        if not records:  # nothing came for this partition (the others of the fetch had data)
            return
        data = records.read() if isinstance(records, FileSlice) else records
        position = self._positions[tp]
        read_committed = self.config.isolation_level == "read_committed"
        topic, partition = tp
        batches = list(iter_batches(data))  # a partial batch at the end is skipped
        for batch in visible_batches(batches, (aborted or []) if read_committed else None):
            next_offset = batch.next_offset
            if next_offset <= position:
                continue
            # The records from the position on (a batch may start before it). A record's own
            # fields (offset, timestamp, key, value, headers) follow its topic and partition:
            # unpacked as they are, not read one by one.
            self._buffer += [
                ConsumerRecord(topic, partition, *record)
                for record in batch.records()
                if record.offset >= position
            ]
            position = max(position, next_offset)
        if batches:  # past skipped markers and aborted batches too
            position = max(position, batches[-1].next_offset)
        self._positions[tp] = position


class _Rebalance(ConsumerRebalanceListener):
    """The consumer's own bookkeeping around the application's listener: it stops
    fetching a partition after the application heard it revoked (so the application can
    still commit its position), and starts one before the application hears it assigned
    (so the application can seek it)."""

    def __init__(self, consumer: Consumer, application: ConsumerRebalanceListener) -> None:
        self.consumer = consumer
        self.application = application

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.application.on_partitions_revoked(revoked)
        self.consumer._on_revoked(revoked)

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.application.on_partitions_lost(lost)
        self.consumer._on_revoked(lost)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.consumer._on_assigned(assigned)
        self.application.on_partitions_assigned(assigned)
