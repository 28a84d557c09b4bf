"""The recorded timeline: the cluster as it was at every step of a run, typed and frozen.

A :class:`~reflog.sim.cluster.Cluster` appends a :class:`Snapshot` after every
simulated millisecond in which something happened (and right after every action a
user takes), so a view can draw any moment of the run and scrub back through it.
Views only ever read snapshots; they never look into a live broker.

A snapshot is built from parts that are shared with the previous snapshot when they
did not change (a replica whose log did not move is the very same object), so
recording a long run costs little memory; :class:`Timeline` keeps at most
``max_snapshots`` of them and thins out the oldest half when it is full, so a long
live session keeps its whole history at a coarser grain.

The names are Kafka's: ``leader_epoch``, ``high_watermark``, ``log_end_offset``,
``log_start_offset``, ``isr``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from reflog.replication.epoch_cache import EpochEntry
from reflog.storage.index import IndexEntry
from reflog.storage.producer_state import BatchMetadata
from reflog.storage.segment import BatchHeader
from reflog.topic_partition import TopicPartition

__all__ = [
    "ConsumerSnapshot",
    "GroupSnapshot",
    "MessageInFlight",
    "NodeKind",
    "NodeSnapshot",
    "PartitionSnapshot",
    "ProducerSnapshot",
    "ProducerStateSnapshot",
    "ReplicaSnapshot",
    "SegmentSnapshot",
    "Snapshot",
    "SnapshotReader",
    "Timeline",
    "TransactionSnapshot",
    "TxnBatch",
    "UserAction",
]

NodeKind = Literal["controller", "broker", "producer", "consumer", "admin"]


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """One node of the cluster. ``raft_role``/``raft_term`` are set for live controllers;
    ``fenced`` for brokers (as the active controller sees them)."""

    name: str
    kind: NodeKind
    node_id: int | None  # a broker's or controller's node.id; None for clients
    alive: bool  # False after a crash, until it restarts
    isolated: bool  # every link to and from every other node is cut
    raft_role: str | None = None  # "Leader", "Follower", "Candidate", "PreCandidate"
    raft_term: int | None = None
    metadata_offset: int | None = None  # the metadata log offset it has applied
    fenced: bool | None = None


@dataclass(frozen=True, slots=True)
class SegmentSnapshot:
    """One segment file of a replica's log: ``<base_offset>.log`` and its ``.index``.

    ``batches`` are where each batch sits in the ``.log`` (base and last offset, byte
    position and size), ``index`` the sparse index's entries (offset -> byte position),
    enough to draw a segment as a file. They are read from logs shared between
    snapshots that only ever grow (a segment rewritten or truncated gets new ones), so
    a snapshot sees exactly the first ``batch_count``/``index_count`` entries and
    recording a long run does not copy them at every step.
    """

    base_offset: int
    next_offset: int  # the offset the next record appended to it would get
    size: int  # bytes in the .log file
    active: bool  # the last segment, the only one appended to
    batch_count: int
    index_count: int  # entries in the sparse .index
    _batch_log: list[BatchHeader] = field(repr=False, compare=False)
    _index_log: list[IndexEntry] = field(repr=False, compare=False)

    @property
    def batches(self) -> tuple[BatchHeader, ...]:
        return tuple(self._batch_log[: self.batch_count])

    @property
    def index(self) -> tuple[IndexEntry, ...]:
        return tuple(self._index_log[: self.index_count])

    @property
    def index_entries(self) -> int:
        return self.index_count


@dataclass(frozen=True, slots=True)
class ProducerStateSnapshot:
    """What a replica remembers of one idempotent producer (Kafka's ``ProducerStateEntry``):
    its epoch and its last five batches' sequence ranges and offsets."""

    producer_id: int
    producer_epoch: int
    batches: tuple[BatchMetadata, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class TxnBatch:
    """A batch a transactional producer wrote, or a marker the coordinator wrote for it."""

    base_offset: int
    last_offset: int
    producer_id: int
    marker: str | None  # "COMMIT" or "ABORT" for a control batch; None for records


@dataclass(frozen=True, slots=True)
class ReplicaSnapshot:
    """One broker's replica of a partition. A crashed broker shows what it had last
    (``alive`` False, ``role`` "down"); its files are still on disk."""

    broker_id: int
    alive: bool
    role: str  # "Leader", "Follower", "Offline" (a replica without a leader) or "down"
    leader_epoch: int
    log_start_offset: int
    log_end_offset: int
    high_watermark: int
    segments: tuple[SegmentSnapshot, ...]
    epochs: tuple[EpochEntry, ...]  # the leader-epoch cache: (epoch, start offset)
    producers: tuple[ProducerStateSnapshot, ...] = ()  # its producer-state table, by id
    # Transactions (only on a partition that has had a transactional batch): the last
    # stable offset (-1: none recorded), its transactional batches and markers in offset
    # order, the open transactions as (producer id, first offset), and the aborted ones
    # as its .txnindex lists them: (producer id, first offset, marker's offset).
    last_stable_offset: int = -1
    txn_batches: tuple[TxnBatch, ...] = ()
    ongoing: tuple[tuple[int, int], ...] = ()
    aborted: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class PartitionSnapshot:
    """A partition as the active controller committed it, and each replica's log."""

    topic: str
    partition: int
    leader: int  # the leader's broker id; -1 while it has none
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[ReplicaSnapshot, ...]  # in assignment order: the first is preferred

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def replica(self, broker_id: int) -> ReplicaSnapshot:
        for replica in self.replicas:
            if replica.broker_id == broker_id:
                return replica
        raise KeyError(f"broker {broker_id} holds no replica of {self.topic}-{self.partition}")

    @property
    def leader_is_down(self) -> bool:
        """The committed leader is a broker that is down: the controller has not noticed
        yet (it does once the broker's session times out), so the partition waits."""
        return any(r.broker_id == self.leader and not r.alive for r in self.replicas)

    def describe_leader(self) -> str:
        """The leader as a student should read it: broker-1 (epoch 3), and why not if a
        leader named by the controller is not leading."""
        if self.leader <= 0:
            return f"none (epoch {self.leader_epoch})"
        if self.leader_is_down:
            return (
                f"broker-{self.leader} (epoch {self.leader_epoch}: down, and the controller "
                "has not noticed yet)"
            )
        return f"broker-{self.leader} (epoch {self.leader_epoch})"

    def role_of(self, broker_id: int) -> str:
        """A replica's role in a word or two: "leader", "follower", "down", "offline" (the
        partition has no leader), or "starting" (it has one, which this replica,
        just started or restarted, has not heard of yet)."""
        replica = self.replica(broker_id)
        if not replica.alive:
            return "down"
        if replica.role == "Offline" and self.leader > 0:
            return "starting"
        return replica.role.lower()

    @property
    def high_watermark(self) -> int:
        """The leader's high watermark (what consumers may read); 0 without a leader."""
        for replica in self.replicas:
            if replica.broker_id == self.leader:
                return replica.high_watermark
        return 0


@dataclass(frozen=True, slots=True)
class ProducerSnapshot:
    name: str
    topic: str
    alive: bool
    rate_per_s: float
    sent: int  # records handed to the producer
    acked: int  # records the broker acknowledged
    failed: int  # records that came back with an error
    producer_id: int = -1  # from InitProducerId; -1 without idempotence (or not yet)
    producer_epoch: int = -1
    retried_batches: int = 0  # batches sent again after an error or a lost answer


@dataclass(frozen=True, slots=True)
class ConsumerSnapshot:
    name: str
    topic: str
    alive: bool
    positions: tuple[tuple[int, int], ...]  # (partition, next offset to read)
    consumed: int  # records returned to the application so far

    def position(self, partition: int) -> int | None:
        return dict(self.positions).get(partition)


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    """A consumer group as a live broker's group coordinator holds it (Kafka's
    ``GroupMetadata``): its state, generation, the assignor chosen, its members, and the
    offsets committed for it."""

    group_id: str
    coordinator: int  # the broker id holding it
    state: str  # "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"
    generation: int
    protocol: str | None  # the assignor chosen for this generation (None while Empty)
    members: tuple[str, ...]  # the members' client ids, sorted
    # (topic, partition, committed offset): where the group's next owner of each starts.
    committed: tuple[tuple[str, int, int], ...] = ()

    def committed_offset(self, topic: str, partition: int) -> int | None:
        """The offset committed for ``topic``-``partition`` (None: nothing committed yet)."""
        for t, p, offset in self.committed:
            if (t, p) == (topic, partition):
                return offset
        return None


@dataclass(frozen=True, slots=True)
class TransactionSnapshot:
    """A transactional id as a live broker's transaction coordinator holds it (Kafka's
    ``TransactionMetadata``): its producer id and epoch, state and open partitions."""

    transactional_id: str
    coordinator: int  # the broker id holding it
    state: str  # Kafka's name: "Empty", "Ongoing", "PrepareCommit", "CompleteCommit", ...
    producer_id: int
    producer_epoch: int
    partitions: tuple[TopicPartition, ...]  # in the open transaction, sorted


@dataclass(frozen=True, slots=True)
class MessageInFlight:
    """A message on the wire: sent, not yet delivered or dropped."""

    src: str
    dst: str
    kind: str  # e.g. "Fetch", "Fetch response", "BrokerHeartbeat", "Vote"
    sent_ms: int
    deliver_ms: int


@dataclass(frozen=True, slots=True)
class UserAction:
    """Something done to the cluster from outside: a fault, a topic, a produce."""

    at_ms: int
    kind: str  # "crash", "restart", "isolate", "cut", "slow", "heal", "create_topic", ...
    target: str  # the node, link or topic acted on
    description: str  # one readable line, e.g. "crashed broker-2"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole cluster at ``at_ms``."""

    at_ms: int
    nodes: tuple[NodeSnapshot, ...]
    active_controller: str | None  # the node name of the active controller (Raft leader)
    partitions: tuple[PartitionSnapshot, ...]  # sorted by topic, then partition
    producers: tuple[ProducerSnapshot, ...]
    consumers: tuple[ConsumerSnapshot, ...]
    in_flight: tuple[MessageInFlight, ...]
    cut_links: tuple[tuple[str, str], ...]  # (src, dst): messages src -> dst are dropped
    actions: tuple[UserAction, ...] = ()  # the actions taken at this instant
    groups: tuple[GroupSnapshot, ...] = ()  # consumer groups, by coordinator then group id
    transactions: tuple[TransactionSnapshot, ...] = ()  # by coordinator, transactional id

    def node(self, name: str) -> NodeSnapshot:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def partition(self, topic: str, partition: int = 0) -> PartitionSnapshot:
        for p in self.partitions:
            if p.topic == topic and p.partition == partition:
                return p
        raise KeyError(f"{topic}-{partition}")

    def topic(self, topic: str) -> tuple[PartitionSnapshot, ...]:
        return tuple(p for p in self.partitions if p.topic == topic)

    def leader_of(self, topic: str, partition: int = 0) -> int:
        return self.partition(topic, partition).leader

    def producer(self, name: str) -> ProducerSnapshot:
        return next(p for p in self.producers if p.name == name)

    def consumer(self, name: str) -> ConsumerSnapshot:
        return next(c for c in self.consumers if c.name == name)

    def brokers(self) -> tuple[NodeSnapshot, ...]:
        return tuple(n for n in self.nodes if n.kind == "broker")

    def controllers(self) -> tuple[NodeSnapshot, ...]:
        return tuple(n for n in self.nodes if n.kind == "controller")


class _Timed(Protocol):
    @property
    def at_ms(self) -> int: ...


S = TypeVar("S", bound=_Timed)
S_co = TypeVar("S_co", covariant=True)


class Timeline(Generic[S]):
    """Snapshots in time order, bounded: when ``max_snapshots`` is reached the older half
    keeps every other snapshot (those with user actions are always kept)."""

    def __init__(self, max_snapshots: int = 50_000) -> None:
        if max_snapshots < 4:
            raise ValueError("a timeline keeps at least 4 snapshots")
        self.max_snapshots = max_snapshots
        self._snapshots: list[S] = []
        self._times: list[int] = []
        self.version = 0  # bumped on every change: a view redraws when it moved

    def append(self, snapshot: S) -> None:
        if self._times and snapshot.at_ms < self._times[-1]:
            raise ValueError("snapshots are appended in time order")
        self._snapshots.append(snapshot)
        self._times.append(snapshot.at_ms)
        self.version += 1
        if len(self._snapshots) > self.max_snapshots:
            self._thin()

    def _thin(self) -> None:
        half = len(self._snapshots) // 2
        kept = [
            s
            for i, s in enumerate(self._snapshots[:half])
            if i % 2 == 0 or getattr(s, "actions", None)
        ]
        self._snapshots = kept + self._snapshots[half:]
        self._times = [s.at_ms for s in self._snapshots]

    @property
    def latest(self) -> S:
        return self._snapshots[-1]

    def at(self, time_ms: int) -> S:
        """The last snapshot taken at or before ``time_ms`` (the first one if none)."""
        i = bisect.bisect_right(self._times, time_ms) - 1
        return self._snapshots[max(i, 0)]

    def index_at(self, time_ms: int) -> int:
        return max(bisect.bisect_right(self._times, time_ms) - 1, 0)

    def __len__(self) -> int:
        return len(self._snapshots)

    def __getitem__(self, index: int) -> S:
        return self._snapshots[index]

    def __iter__(self) -> Iterator[S]:
        return iter(self._snapshots)

    def __bool__(self) -> bool:
        return bool(self._snapshots)


class _Indexed(Protocol[S_co]):
    """A Timeline, or any list of snapshots in time order."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> S_co: ...


class SnapshotReader(Generic[S]):
    """How far a fold of a growing timeline has read (a live view turning snapshots into
    runs, redrawn every frame, reads only what was recorded since its last draw).

    :meth:`unread` gives the snapshots added since the last call. When the timeline has
    thinned out its older half since (the snapshot read last is no longer where it was),
    it gives them all again and says so: the caller drops what it had folded."""

    def __init__(self) -> None:
        self._read = 0  # snapshots of the timeline read so far
        self._last: S | None = None  # the last of them

    def unread(self, timeline: _Indexed[S]) -> tuple[bool, list[S]]:
        """``(start over, snapshots not read yet)``."""
        read = self._read
        start_over = read > 0 and (read > len(timeline) or timeline[read - 1] is not self._last)
        if start_over:
            read = 0
        snapshots = [timeline[i] for i in range(read, len(timeline))]
        self._read = len(timeline)
        if snapshots:
            self._last = snapshots[-1]
        return start_over, snapshots
