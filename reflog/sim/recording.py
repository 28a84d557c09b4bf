"""Taking snapshots of a running :class:`~reflog.sim.cluster.Cluster` for its timeline.

:class:`ClusterRecorder` reads the live nodes (the controllers' Raft state and
metadata image, each broker's replicas and logs, the clients' counters) and the
messages on the wire, and turns them into one frozen
:class:`~reflog.sim.timeline.Snapshot`. It is the only code that looks into live
nodes on behalf of the views.

Recording must not dominate a run, so every part is rebuilt only when a cheap key
says it changed (a replica's offsets and segment count, a node's role and term);
otherwise the previous part, the very same object, is reused. Messages in flight
come from the simulation's trace: a ``MessageSent`` puts one on the wire, the
matching ``MessageDelivered`` or ``MessageDropped`` takes it off (a link is FIFO, so
it is the oldest one on its link).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from reflog.records import iter_batches
from reflog.replication.partition import Partition
from reflog.sim.kafka_nodes import SimRequest, SimResponse
from reflog.sim.timeline import (
    ConsumerSnapshot,
    GroupSnapshot,
    MessageInFlight,
    NodeKind,
    NodeSnapshot,
    PartitionSnapshot,
    ProducerSnapshot,
    ProducerStateSnapshot,
    ReplicaSnapshot,
    SegmentSnapshot,
    Snapshot,
    Timeline,
    TransactionSnapshot,
    TxnBatch,
    UserAction,
)
from reflog.sim.trace import MessageDelivered, MessageDropped, MessageSent, TraceEvent
from reflog.storage.index import IndexEntry
from reflog.storage.log import Log
from reflog.storage.segment import BatchHeader, LogSegment
from reflog.storage.txn_index import COMMIT, marker_type
from reflog.topic_partition import TopicPartition

if TYPE_CHECKING:
    from reflog.controller.image import MetadataImage, PartitionState
    from reflog.sim.cluster import Cluster
    from reflog.sim.workloads import ProducerWorkload
    from reflog.sim.world import Simulation

__all__ = ["ClusterRecorder", "message_kind", "run_recorded", "run_recorded_until"]

DOWN = "down"
T = TypeVar("T")
_KINDS: dict[type, str] = {}


def _producer_snapshot(workload: ProducerWorkload) -> ProducerSnapshot:
    core = workload.core
    producer = workload.producer if core is not None else None
    idempotence = None if producer is None else producer.idempotence
    producer_id, epoch = (-1, -1) if idempotence is None else idempotence.producer
    return ProducerSnapshot(
        workload.name,
        workload.topic,
        core is not None,
        workload.rate_per_s,
        workload.sent,
        workload.acked,
        workload.failed,
        producer_id,
        epoch,
        0 if producer is None else producer.retried_batches,
    )


def run_recorded(sim: Simulation, end_ms: int, record: Callable[[], None]) -> None:
    """Run every event up to ``end_ms`` (the clock then reads ``end_ms``), calling
    ``record()`` once per busy millisecond, with the state after all of its events."""
    while (at := sim.queue.peek_time()) is not None and at <= end_ms:
        if at != sim.now_ms:
            record()
        sim.step()
    sim.run_until_time(end_ms)  # nothing left to run before end_ms: moves the clock
    record()


def run_recorded_until(
    sim: Simulation, condition: Callable[[], bool], timeout_ms: int, record: Callable[[], None]
) -> bool:
    """Run until ``condition()`` holds (checked after every event) or ``timeout_ms`` has
    passed, recording as :func:`run_recorded` does; whether it holds."""
    end = sim.now_ms + timeout_ms
    while not condition():
        at = sim.queue.peek_time()
        if at is None or at > end:
            run_recorded(sim, end, record)
            return condition()
        if at != sim.now_ms:
            record()
        sim.step()
    record()
    return True


def message_kind(payload: object) -> str:
    """A short name for a message: "Fetch", "Fetch response", "Vote", "BrokerHeartbeat"..."""
    body: object = payload
    if isinstance(payload, SimRequest | SimResponse):
        body = payload.body
    kind = _KINDS.get(type(body))
    if kind is None:
        name = type(body).__name__.removeprefix("Raft")
        if name.endswith("Response"):
            kind = name.removesuffix("Response") + " response"
        else:
            kind = name.removesuffix("Request")
        _KINDS[type(body)] = kind
    return kind


class ClusterRecorder:
    def __init__(
        self, cluster: Cluster, max_snapshots: int = 50_000, *, track_wire: bool = True
    ) -> None:
        self.cluster = cluster
        self.timeline: Timeline[Snapshot] = Timeline(max_snapshots)
        self._wire: dict[tuple[str, str], deque[tuple[object, MessageInFlight]]] = {}
        self._pending_actions: list[UserAction] = []
        self._nodes: dict[str, tuple[object, NodeSnapshot]] = {}
        self._replicas: dict[tuple[int, TopicPartition], tuple[object, ReplicaSnapshot]] = {}
        self._partitions: dict[TopicPartition, PartitionSnapshot] = {}
        self._image: MetadataImage | None = None
        self._states_key: tuple[int, int] | None = None
        self._states: list[tuple[TopicPartition, PartitionState]] = []
        self._segments: dict[tuple[int, TopicPartition, int], _SegmentTrack] = {}
        self._active: str | None = None
        self._txn_tps: set[TopicPartition] = set()  # partitions that had a transaction
        self._txn_logs: dict[tuple[int, TopicPartition], _TxnTrack] = {}
        if track_wire:
            cluster.sim.trace.subscribe(self._on_trace)

    # -- the wire ---------------------------------------------------------------------
    def _on_trace(self, event: TraceEvent) -> None:
        if isinstance(event, MessageSent):
            message = MessageInFlight(
                event.src, event.dst, message_kind(event.payload), event.at_ms, event.deliver_at_ms
            )
            self._wire.setdefault((event.src, event.dst), deque()).append((event.payload, message))
        elif isinstance(event, MessageDelivered | MessageDropped):
            # A message dropped as it is sent was never on the wire: nothing matches it.
            link = self._wire.get((event.src, event.dst))
            if link and link[0][0] is event.payload:
                link.popleft()

    # -- recording --------------------------------------------------------------------
    def action(self, action: UserAction) -> None:
        """Attach ``action`` to the next snapshot, which is taken at once."""
        self._pending_actions.append(action)
        self.record()

    def record(self) -> None:
        """Append a snapshot of now, unless the last one is of this very instant and the same
        (the latest snapshot's time is always the clock's, even on a quiet cluster)."""
        actions = tuple(self._pending_actions)
        self._pending_actions.clear()
        snapshot = self.capture(actions)
        timeline = self.timeline
        latest = timeline.latest if timeline else None
        if (
            latest is not None
            and latest.at_ms == snapshot.at_ms
            and not snapshot.actions
            and _same(latest, snapshot)
        ):
            return  # nothing happened since, not even time passing
        timeline.append(snapshot)

    def capture(self, actions: tuple[UserAction, ...] = ()) -> Snapshot:
        """The cluster now, with ``actions`` as what was just done to it."""
        cluster = self.cluster
        sim = cluster.sim
        self._read_controllers()
        cut = tuple(sim.network.cut_links())
        latest = self.timeline.latest if self.timeline else None
        nodes = self._capture_nodes(cut)
        partitions = self._capture_partitions()
        producers = tuple(_producer_snapshot(p) for p in cluster.producers.values())
        consumers = tuple(
            ConsumerSnapshot(
                c.name,
                c.topic,
                c.core is not None,
                tuple((tp.partition, c.consumer.position(tp) or 0) for tp in c.partitions)
                if c.core is not None
                else (),
                len(c.records),
            )
            for c in cluster.consumers.values()
        )
        groups = self._capture_groups()
        transactions = self._capture_transactions()
        if latest is not None:
            # Share equal parts with the previous snapshot: less memory, cheap comparisons.
            nodes = _reuse(latest.nodes, nodes)
            partitions = _reuse(latest.partitions, partitions)
            producers = latest.producers if latest.producers == producers else producers
            consumers = latest.consumers if latest.consumers == consumers else consumers
            groups = latest.groups if latest.groups == groups else groups
            if latest.transactions == transactions:
                transactions = latest.transactions
            cut = latest.cut_links if latest.cut_links == cut else cut
        in_flight = tuple(m for link in self._wire.values() for _, m in link)
        return Snapshot(
            sim.now_ms,
            nodes,
            self._active,
            partitions,
            producers,
            consumers,
            in_flight,
            cut,
            actions,
            groups,
            transactions,
        )

    # -- what the parts are made of -----------------------------------------------------
    def _read_controllers(self) -> None:
        """The active controller and its metadata image (the last one seen while none is)."""
        active = None
        for name, node in self.cluster.controllers.items():
            if node.controller is not None and node.controller.is_active():
                active = name
                self._image = node.controller.image
        self._active = active

    def _capture_nodes(self, cut: tuple[tuple[str, str], ...]) -> tuple[NodeSnapshot, ...]:
        cluster = self.cluster
        sim = cluster.sim
        cut_set = set(cut)
        others = len(sim.nodes) - 1
        out = []
        image = self._image
        for name in sim.nodes:
            isolated = bool(cut_set) and (
                sum((name, o) in cut_set and (o, name) in cut_set for o in sim.nodes if o != name)
                == others
            )
            alive = sim.is_up(name)
            controller = cluster.controllers.get(name)
            broker = cluster.broker_nodes.get(name)
            key: tuple[object, ...]
            if controller is not None:
                core = controller.controller
                raft = None if core is None else core.raft
                key = (
                    alive,
                    isolated,
                    None if raft is None else raft.role,
                    None if raft is None else raft.current_term,
                    None if core is None else core.image.offset,
                )
            elif broker is not None:
                lifecycle = broker.lifecycle
                registration = None if image is None else image.brokers.get(broker.config.node_id)
                key = (
                    alive,
                    isolated,
                    None if lifecycle is None or broker.broker is None else lifecycle.image.offset,
                    None if registration is None else registration.fenced,
                )
            else:
                key = (alive, isolated)
            cached = self._nodes.get(name)
            if cached is not None and cached[0] == key:
                out.append(cached[1])
                continue
            snapshot = self._node_snapshot(name, key, alive, isolated)
            self._nodes[name] = (key, snapshot)
            out.append(snapshot)
        return tuple(out)

    def _node_snapshot(
        self, name: str, key: tuple[object, ...], alive: bool, isolated: bool
    ) -> NodeSnapshot:
        cluster = self.cluster
        controller = cluster.controllers.get(name)
        if controller is not None:
            role = key[2]
            return NodeSnapshot(
                name,
                "controller",
                controller.config.node_id,
                alive,
                isolated,
                raft_role=None if role is None else getattr(role, "value", str(role)),
                raft_term=_int_or_none(key[3]),
                metadata_offset=_int_or_none(key[4]),
            )
        broker = cluster.broker_nodes.get(name)
        if broker is not None:
            fenced = key[3]
            return NodeSnapshot(
                name,
                "broker",
                broker.config.node_id,
                alive,
                isolated,
                metadata_offset=_int_or_none(key[2]),
                fenced=None if fenced is None else bool(fenced),
            )
        kind: NodeKind = "admin"
        if name in cluster.producers:
            kind = "producer"
        elif name in cluster.consumers:
            kind = "consumer"
        return NodeSnapshot(name, kind, None, alive, isolated)

    def _capture_groups(self) -> tuple[GroupSnapshot, ...]:
        """Every consumer group held by a live broker's coordinator."""
        groups = []
        for broker_id, node in sorted(self.cluster.brokers.items()):
            core = node.broker
            if core is None:
                continue  # down: its groups are gone with its memory
            coordinator = core.groups.coordinator
            for group in sorted(coordinator.groups.values(), key=lambda g: g.group_id):
                committed = coordinator.offsets.get(group.group_id, {})
                groups.append(
                    GroupSnapshot(
                        group.group_id,
                        broker_id,
                        group.state.value,
                        group.generation_id,
                        group.protocol_name,
                        tuple(sorted(m.client_id for m in group.members.values())),
                        tuple(
                            (tp.topic, tp.partition, c.offset)
                            for tp, c in sorted(
                                committed.items(), key=lambda i: (i[0].topic, i[0].partition)
                            )
                        ),
                    )
                )
        return tuple(groups)

    def _capture_transactions(self) -> tuple[TransactionSnapshot, ...]:
        """Every transactional id held by a live broker's transaction coordinator."""
        out = []
        for broker_id, node in sorted(self.cluster.brokers.items()):
            core = node.broker
            if core is None:
                continue  # down: what it held is gone with its memory
            txns = core.txns.coordinator.txns
            for txn in sorted(txns.values(), key=lambda t: t.transactional_id):
                out.append(
                    TransactionSnapshot(
                        txn.transactional_id,
                        broker_id,
                        txn.state.kafka_name,
                        txn.producer_id,
                        txn.producer_epoch,
                        tuple(sorted(txn.partitions)),
                    )
                )
        return tuple(out)

    def _capture_partitions(self) -> tuple[PartitionSnapshot, ...]:
        image = self._image
        if image is None:
            return ()
        key = (id(image), image.offset)
        if key != self._states_key:  # the metadata changed: list the partitions again
            self._states_key = key
            self._states = [
                (TopicPartition(name, index), state)
                for name in sorted(image.topics)
                for index, state in sorted(image.topics[name].partitions.items())
            ]
        return tuple(self._partition_snapshot(tp, state) for tp, state in self._states)

    def _partition_snapshot(self, tp: TopicPartition, state: PartitionState) -> PartitionSnapshot:
        replicas = tuple(self._replica_snapshot(b, tp) for b in state.replicas)
        previous = self._partitions.get(tp)
        if (
            previous is not None
            and previous.leader == state.leader
            and previous.leader_epoch == state.leader_epoch
            and previous.isr == state.isr
            and all(a is b for a, b in zip(previous.replicas, replicas, strict=False))
            and len(previous.replicas) == len(replicas)
        ):
            return previous
        snapshot = PartitionSnapshot(
            tp.topic, tp.partition, state.leader, state.leader_epoch, tuple(state.isr), replicas
        )
        self._partitions[tp] = snapshot
        return snapshot

    def _replica_snapshot(self, broker_id: int, tp: TopicPartition) -> ReplicaSnapshot:
        node = self.cluster.brokers.get(broker_id)
        core = None if node is None else node.broker
        replicas = None if core is None else core.replicas
        partition: Partition | None = None if replicas is None else replicas.partitions.get(tp)
        cached = self._replicas.get((broker_id, tp))
        if partition is None:
            # Down (or not yet told about the partition): what it had last, greyed out.
            alive = core is not None
            if cached is not None:
                seen = cached[1]
                if seen.alive == alive and seen.role == (DOWN if not alive else "Offline"):
                    return seen
                base = seen
            else:
                base = ReplicaSnapshot(broker_id, alive, DOWN, -1, 0, 0, 0, (), ())
            snapshot = ReplicaSnapshot(
                broker_id,
                alive,
                DOWN if not alive else "Offline",
                base.leader_epoch,
                base.log_start_offset,
                base.log_end_offset,
                base.high_watermark,
                base.segments,
                base.epochs,
                base.producers,
                base.last_stable_offset,
                base.txn_batches,
                base.ongoing,
                base.aborted,
            )
            self._replicas[(broker_id, tp)] = (("down", alive), snapshot)
            return snapshot
        log = partition.log
        segments = log.segments
        active = segments[-1]
        key = (
            partition.role,
            partition.leader_epoch,
            partition.high_watermark,
            log.log_start_offset,
            log.log_end_offset,
            len(segments),
            active.size,
            segments[0].base_offset,
            len(partition.epoch_cache.entries),
            log.size_in_bytes,
            len(log.producer_state),  # an idle producer expired: the table shrank
            tp in self._txn_tps,
        )
        if cached is not None and cached[0] == key:
            return cached[1]
        last = len(segments) - 1
        snapshot = ReplicaSnapshot(
            broker_id,
            True,
            partition.role.value,
            partition.leader_epoch,
            log.log_start_offset,
            log.log_end_offset,
            partition.high_watermark,
            tuple(
                self._segment_snapshot(broker_id, tp, s, i == last) for i, s in enumerate(segments)
            ),
            tuple(partition.epoch_cache.entries),
            tuple(
                ProducerStateSnapshot(pid, entry.producer_epoch, tuple(entry.batches))
                for pid, entry in sorted(log.producer_state.producers.items())
            ),
        )
        txns = log.transactions
        if txns.ongoing or txns.aborted:
            self._txn_tps.add(tp)
        if tp in self._txn_tps:
            high_watermark = partition.high_watermark
            snapshot = dataclasses.replace(
                snapshot,
                last_stable_offset=min(high_watermark, txns.first_unstable_offset(high_watermark)),
                txn_batches=self._txn_batches(broker_id, tp, log),
                ongoing=tuple(sorted(txns.ongoing.items())),
                aborted=tuple((a.producer_id, a.first_offset, a.last_offset) for a in txns.aborted),
            )
        self._replicas[(broker_id, tp)] = (key, snapshot)
        return snapshot

    def _txn_batches(self, broker_id: int, tp: TopicPartition, log: Log) -> tuple[TxnBatch, ...]:
        """The replica's transactional batches and markers, read from its log as it grows
        (from the start for a partition first seen with a transaction)."""
        track = self._txn_logs.setdefault((broker_id, tp), _TxnTrack())
        if log.log_end_offset < track.next_offset:  # truncated: forget what is gone
            track.batches = [b for b in track.batches if b.last_offset < log.log_end_offset]
            track.next_offset = log.log_end_offset
        if track.next_offset < log.log_start_offset:
            track.batches = [b for b in track.batches if b.last_offset >= log.log_start_offset]
            track.next_offset = log.log_start_offset
        while track.next_offset < log.log_end_offset:
            read = log.read(track.next_offset, 1 << 20).records
            if read is None:
                break
            start = track.next_offset
            for batch in iter_batches(read.read()):
                if batch.last_offset < track.next_offset:
                    continue
                if batch.is_transactional:
                    marker = None
                    if batch.is_control:
                        marker = "COMMIT" if marker_type(batch) == COMMIT else "ABORT"
                    track.batches.append(
                        TxnBatch(batch.base_offset, batch.last_offset, batch.producer_id, marker)
                    )
                track.next_offset = batch.last_offset + 1
            if track.next_offset == start:
                break  # nothing whole to read yet
        return tuple(track.batches)

    def _segment_snapshot(
        self, broker_id: int, tp: TopicPartition, segment: LogSegment, active: bool
    ) -> SegmentSnapshot:
        """The segment now; its batch and index logs grow with it (read incrementally)."""
        key = (broker_id, tp, segment.base_offset)
        track = self._segments.get(key)
        if (
            track is None
            or track.segment is not segment
            or segment.size < track.size
            or (track.last is not None and segment.next_offset < track.last.next_offset)
        ):
            # New, or rewritten (cleaner, truncation, recovery): read it from the start.
            track = _SegmentTrack(segment)
            self._segments[key] = track
        if segment.size > track.size:
            track.batches += segment.batches_from(track.size)
            track.size = segment.size
        if len(segment.index) != len(track.index):
            entries = segment.index.entries()
            if len(entries) < len(track.index) or entries[: len(track.index)] != track.index:
                track.index = []  # a new list: earlier snapshots keep theirs
            track.index += entries[len(track.index) :]
        last = track.last
        if (
            last is not None
            and last.size == segment.size
            and last.active == active
            and last.index_count == len(track.index)
            and last.next_offset == segment.next_offset
        ):
            return last
        track.last = SegmentSnapshot(
            segment.base_offset,
            segment.next_offset,
            segment.size,
            active,
            len(track.batches),
            len(track.index),
            track.batches,
            track.index,
        )
        return track.last


class _SegmentTrack:
    """What the recorder has read of one segment: its batches and index entries so far."""

    def __init__(self, segment: LogSegment) -> None:
        self.segment = segment
        self.size = 0
        self.batches: list[BatchHeader] = []
        self.index: list[IndexEntry] = []
        self.last: SegmentSnapshot | None = None


class _TxnTrack:
    """What the recorder has read of one replica's transactional batches so far."""

    def __init__(self) -> None:
        self.next_offset = 0
        self.batches: list[TxnBatch] = []


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _reuse(old: tuple[T, ...], new: tuple[T, ...]) -> tuple[T, ...]:
    """``old`` if it holds the very same parts as ``new``; else ``new``."""
    if len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True)):
        return old
    return new


def _same(a: Snapshot, b: Snapshot) -> bool:
    """Equal but for the time (parts are shared, so most comparisons are by identity)."""
    return (
        a.nodes is b.nodes
        and a.partitions is b.partitions
        and a.producers is b.producers
        and a.consumers is b.consumers
        and a.cut_links is b.cut_links
        and a.groups is b.groups
        and a.transactions is b.transactions
        and a.active_controller == b.active_controller
        and a.in_flight == b.in_flight
    )
