"""A broker's replicas: which partitions it leads or follows, and everything that moves them.

After Kafka's ``ReplicaManager``. Each metadata image from the controller says,
per partition, who leads in which epoch and who is in sync; this class turns that
into role changes of the broker's :class:`Partition` objects and keeps one
:class:`ReplicaFetcher` per leader it follows. On the leader side it records
follower fetches, moves high watermarks, completes ``acks=all`` produces, and
proposes ISR changes to the controller, one per partition at a time.

It returns :mod:`reflog.broker_actions` for the runtime, like the broker core it
serves; it owns no sockets and reads no clock.
"""

from __future__ import annotations

from dataclasses import replace

from reflog.broker_actions import Action, Respond, SendToBroker, ToController
from reflog.controller.image import MetadataImage
from reflog.controller.records import NO_LEADER
from reflog.replication.delayed_delete_records import DeleteRecordsPurgatory
from reflog.replication.delayed_produce import DelayedProduce, ProducePurgatory
from reflog.replication.epoch_cache import LeaderEpochCache
from reflog.replication.fetcher import ReplicaFetcher
from reflog.replication.partition import Partition, ReplicationConfig, Role
from reflog.replication.truncation import TruncationPolicy
from reflog.storage.log_manager import LogManager
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchRequest, FetchResponse
from reflog.wire.messages.offset_for_leader_epoch import (
    EpochEndOffset,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderTopicResult,
)
from reflog.wire.messages.quorum import AlterPartitionRequest, AlterPartitionResponse
from reflog.wire.schema import Response

__all__ = ["ReplicaManager"]

ALTER_RETRY_BACKOFF_MS = 100


class ReplicaManager:
    def __init__(
        self,
        broker_id: int,
        logs: LogManager,
        replica_lag_time_max_ms: int = 30_000,
        policy: TruncationPolicy = TruncationPolicy.LEADER_EPOCH,
        fetch_wait_max_ms: int = 500,
        fetch_max_bytes: int = 1_048_576,
    ) -> None:
        self.broker_id = broker_id
        self.logs = logs
        self.replica_lag_time_max_ms = replica_lag_time_max_ms
        self.policy = policy
        self.fetch_wait_max_ms = fetch_wait_max_ms
        self.fetch_max_bytes = fetch_max_bytes  # per partition (replica.fetch.max.bytes)
        self.partitions: dict[TopicPartition, Partition] = {}
        self.fetchers: dict[int, ReplicaFetcher] = {}
        self.produces = ProducePurgatory()
        self.deletes = DeleteRecordsPurgatory()
        self.broker_epoch = -1
        # ISR changes whose fate is unknown (no answer, or NOT_CONTROLLER: the entry may
        # still commit): sent again at the given time, the pending ISR kept meanwhile.
        self._alter_retries: dict[TopicPartition, tuple[int, AlterPartitionRequest]] = {}

    # -- the controller's decisions -------------------------------------------------------
    def apply(self, image: MetadataImage, now_ms: int) -> list[Action]:
        """Become leader, follower or neither of each partition, as ``image`` says."""
        me = self.broker_id
        registration = image.brokers.get(me)
        self.broker_epoch = registration.broker_epoch if registration is not None else -1
        for tp, state in image.partitions():
            if me not in state.replicas:
                continue
            p = self._partition(tp)
            was_leading = p.role == Role.LEADER and p.leader_epoch == state.leader_epoch
            if state.leader == me:
                if was_leading:
                    if state.replicas != p.replicas:
                        p.replicas_changed(state.replicas)
                    if state.partition_epoch != p.partition_epoch:
                        p.isr_committed(state.partition_epoch, state.isr)
                else:
                    p.become_leader(
                        state.leader_epoch, state.partition_epoch, state.replicas, state.isr, now_ms
                    )
                self._stop_fetching(tp)
            elif state.leader == NO_LEADER:
                p.go_offline(state.leader_epoch, state.replicas, state.isr)
                self._stop_fetching(tp)
            else:
                if p.become_follower(
                    state.leader,
                    state.leader_epoch,
                    state.partition_epoch,
                    state.replicas,
                    state.isr,
                ):
                    self._stop_fetching(tp)
                    fetcher = self.fetchers.get(state.leader)
                    if fetcher is None:
                        fetcher = ReplicaFetcher(
                            me,
                            state.leader,
                            self.policy,
                            self.fetch_wait_max_ms,
                            partition_max_bytes=self.fetch_max_bytes,
                        )
                        self.fetchers[state.leader] = fetcher
                    fetcher.add(tp)
        actions: list[Action] = []
        for tp in list(self.partitions):
            actions += self.complete_produces(tp)
        return actions + self._fetch_requests(now_ms)

    def remove(self, tp: TopicPartition) -> None:
        """The partition left this broker (deleted, or reassigned away): forget it."""
        self._stop_fetching(tp)
        self.partitions.pop(tp, None)
        self._alter_retries.pop(tp, None)

    def reconfigure(self, tp: TopicPartition) -> None:
        """The topic's min.insync.replicas may have changed: take it from the log's config."""
        p = self.partitions.get(tp)
        if p is not None:
            p.config = replace(p.config, min_insync_replicas=p.log.config.min_insync_replicas)
            if p.role == Role.LEADER:
                p.maybe_increment_high_watermark()

    def _partition(self, tp: TopicPartition) -> Partition:
        p = self.partitions.get(tp)
        if p is None:
            log = self.logs.get(tp)
            assert log is not None, f"{tp} has no log"
            # The log's config already holds the topic's min.insync.replicas over the broker's.
            config = ReplicationConfig(self.replica_lag_time_max_ms, log.config.min_insync_replicas)
            p = Partition(tp, self.broker_id, log, LeaderEpochCache(log.directory), config)
            self.partitions[tp] = p
        return p

    def _stop_fetching(self, tp: TopicPartition) -> None:
        for fetcher in self.fetchers.values():
            fetcher.remove(tp)

    # -- the leader's side ----------------------------------------------------------------------
    def append_error(self, tp: TopicPartition, acks: int) -> int | None:
        p = self.partitions.get(tp)
        if p is None or p.role != Role.LEADER:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        return p.append_error(acks)

    def appended(self, tp: TopicPartition) -> bool:
        """After a leader append: True if the high watermark moved (a lone ISR)."""
        return self.partitions[tp].maybe_increment_high_watermark()

    def park_produce(self, delayed: DelayedProduce) -> list[Respond]:
        """Wait for the ISR; answer at once what is already settled."""
        for tp in list(delayed.waiting):
            outcome = self._acks_all(tp, delayed.waiting[tp])
            if outcome is not None:
                delayed.settle(tp, outcome)
        if not delayed.waiting:
            return delayed.actions()
        self.produces.park(delayed)
        return []

    def complete_produces(self, tp: TopicPartition) -> list[Respond]:
        done = self.produces.check(tp, self._acks_all)
        return [a for d in done for a in d.actions()]

    def low_watermark(self, tp: TopicPartition, live: set[int]) -> int | None:
        """``tp``'s low watermark if this broker leads it (DeleteRecords waits for it)."""
        p = self.partitions.get(tp)
        if p is None or p.role != Role.LEADER:
            return None
        return p.low_watermark(live)

    def _acks_all(self, tp: TopicPartition, required_offset: int) -> int | None:
        p = self.partitions.get(tp)
        if p is None:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        return p.acks_all_result(required_offset)

    def on_follower_fetch(
        self, request: FetchRequest, now_ms: int
    ) -> tuple[list[TopicPartition], list[Action]]:
        """Record where each follower's log ends; return the partitions whose high watermark
        moved, and ISR expansions to propose."""
        moved = []
        actions: list[Action] = []
        for topic in request.topics:
            for fp in topic.partitions:
                tp = TopicPartition(topic.topic, fp.partition)
                p = self.partitions.get(tp)
                if p is None or p.role != Role.LEADER:
                    continue
                if fp.current_leader_epoch not in (-1, p.leader_epoch):
                    continue  # a follower of another epoch: its log may differ from ours
                if fp.fetch_offset > p.log.log_end_offset:
                    continue  # beyond our log: it holds what we do not (it must truncate)
                follower = p.followers.get(request.replica_id)
                if follower is not None and fp.log_start_offset >= 0:  # -1 before Fetch v5
                    follower.log_start_offset = fp.log_start_offset
                if p.on_follower_fetch(request.replica_id, fp.fetch_offset, now_ms):
                    moved.append(tp)
                expanded = p.isr_to_expand(request.replica_id)
                if expanded is not None:
                    actions.append(self._propose_isr(p, expanded))
        return moved, actions

    def _propose_isr(self, p: Partition, isr: tuple[int, ...]) -> ToController:
        p.pending_isr = isr
        return ToController(
            AlterPartitionRequest(
                broker_id=self.broker_id,
                broker_epoch=self.broker_epoch,
                topic=p.tp.topic,
                partition=p.tp.partition,
                leader_epoch=p.leader_epoch,
                partition_epoch=p.partition_epoch,
                new_isr=list(isr),
            )
        )

    def on_alter_partition_response(
        self, response: AlterPartitionResponse, request: AlterPartitionRequest, now_ms: int
    ) -> list[Action]:
        tp = TopicPartition(request.topic, request.partition)
        p = self.partitions.get(tp)
        if p is None or p.pending_isr != tuple(request.new_isr):
            return []  # settled meanwhile (by the metadata)
        if response.error_code in (ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_CONTROLLER):
            # Unknown fate: the change may yet commit. Keep counting the larger ISR for the
            # high watermark, and ask again.
            self._alter_retries[tp] = (now_ms + ALTER_RETRY_BACKOFF_MS, request)
            return []
        if response.error_code == ErrorCode.NONE:
            if response.partition_epoch > p.partition_epoch:
                p.isr_committed(response.partition_epoch, tuple(response.isr))
            return list(self.complete_produces(tp))
        p.pending_isr = None  # refused (stale epoch, fenced replica...): the metadata will tell
        return []

    def offset_for_leader_epoch(
        self, request: OffsetForLeaderEpochRequest
    ) -> OffsetForLeaderEpochResponse:
        topics = []
        for topic in request.topics:
            answers = []
            for q in topic.partitions:
                p = self.partitions.get(TopicPartition(topic.topic, q.partition))
                if p is None or p.role != Role.LEADER:
                    answers.append(
                        EpochEndOffset(
                            error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER, partition=q.partition
                        )
                    )
                    continue
                if q.current_leader_epoch not in (-1, p.leader_epoch):
                    code = (
                        ErrorCode.FENCED_LEADER_EPOCH
                        if q.current_leader_epoch < p.leader_epoch
                        else ErrorCode.UNKNOWN_LEADER_EPOCH
                    )
                    answers.append(EpochEndOffset(error_code=code, partition=q.partition))
                    continue
                epoch, end = p.epoch_cache.end_offset_for(q.leader_epoch, p.log.log_end_offset)
                answers.append(
                    EpochEndOffset(
                        error_code=ErrorCode.NONE,
                        partition=q.partition,
                        leader_epoch=epoch,
                        end_offset=end,
                    )
                )
            topics.append(OffsetForLeaderTopicResult(topic=topic.topic, partitions=answers))
        return OffsetForLeaderEpochResponse(topics=topics)

    # -- the follower's side ----------------------------------------------------------------------
    def on_broker_response(self, leader_id: int, response: Response, now_ms: int) -> list[Action]:
        fetcher = self.fetchers.get(leader_id)
        if fetcher is None:
            return []
        if isinstance(response, FetchResponse):
            fetcher.on_fetch_response(now_ms, response, self.partitions)
        elif isinstance(response, OffsetForLeaderEpochResponse):
            fetcher.on_epoch_response(now_ms, response, self.partitions)
        return self._fetch_requests(now_ms)

    def on_broker_unreachable(self, leader_id: int, now_ms: int) -> None:
        fetcher = self.fetchers.get(leader_id)
        if fetcher is not None:
            fetcher.on_unreachable(now_ms)

    def _fetch_requests(self, now_ms: int) -> list[Action]:
        actions: list[Action] = []
        for leader_id, fetcher in self.fetchers.items():
            request = fetcher.next_request(now_ms, self.partitions)
            if request is not None:
                actions.append(SendToBroker(leader_id, request))
        return actions

    # -- time ----------------------------------------------------------------------------------
    def tick(self, now_ms: int) -> list[Action]:
        actions: list[Action] = []
        for tp, (at, request) in list(self._alter_retries.items()):
            p = self.partitions.get(tp)
            if p is None or p.pending_isr != tuple(request.new_isr):
                del self._alter_retries[tp]  # the metadata settled it
            elif at <= now_ms:
                del self._alter_retries[tp]
                actions.append(ToController(request))
        for p in self.partitions.values():
            shrunk = p.isr_to_shrink(now_ms)
            if shrunk is not None:
                actions.append(self._propose_isr(p, shrunk))
        done = self.produces.expired(now_ms)
        actions += [a for d in done for a in d.actions()]
        actions += self.deletes.expired(now_ms)
        return actions + self._fetch_requests(now_ms)

    def next_deadline_ms(self) -> int | None:
        # Asked after every message the broker handles: one pass, no intermediate lists, and
        # only a partition with followers may have an ISR check due (the test is cheaper
        # than the call).
        deadlines = [
            at
            for p in self.partitions.values()
            if p.followers and (at := p.next_isr_check_ms()) is not None
        ]
        if self._alter_retries:
            deadlines += [at for at, _ in self._alter_retries.values()]
        if (produce := self.produces.next_deadline_ms()) is not None:
            deadlines.append(produce)
        if (delete := self.deletes.next_deadline_ms()) is not None:
            deadlines.append(delete)
        if self.fetchers:
            deadlines += [
                f.backoff_until_ms for f in self.fetchers.values() if not f.in_flight and f.status
            ]
        return min(deadlines, default=None)
