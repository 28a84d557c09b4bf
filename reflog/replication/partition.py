"""One partition's replication state on one broker (after Kafka's ``Partition``).

On the **leader** it tracks every follower's log end offset (LEO) and when it was
last caught up; from those it computes the high watermark — the minimum LEO over
the in-sync replicas, the offset below which records are committed and visible
to consumers — and decides when the ISR must shrink (a follower not caught up
for ``replica.lag.time.max.ms``) or expand (a follower that reached the high
watermark and the start of the current leader epoch). ISR changes are only
*proposed* here: the controller commits them (AlterPartition), one at a time.

On a **follower** it only holds the leader's id and epoch; the fetching is done
by :class:`~reflog.replication.fetcher.ReplicaFetcher`.

Rules kept from Kafka: the high watermark never moves backwards, and (as the
issue asks, following ``min.insync.replicas``) never advances while the ISR is
smaller than ``min.insync.replicas``. While an ISR change is in flight, the high
watermark counts the larger of the two sets (KIP-497's "maximal ISR"), which is
safe either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reflog.replication.epoch_cache import LeaderEpochCache
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

__all__ = ["Partition", "ReplicaState", "ReplicationConfig", "Role"]


@dataclass(frozen=True)
class ReplicationConfig:
    replica_lag_time_max_ms: int = 30_000
    min_insync_replicas: int = 1


class Role(Enum):
    LEADER = "Leader"
    FOLLOWER = "Follower"
    OFFLINE = "Offline"  # no leader, or this broker is not a replica


@dataclass
class ReplicaState:
    """What the leader knows of one follower, from its fetches."""

    log_end_offset: int
    last_caught_up_ms: int
    last_fetch_ms: int = 0
    last_fetch_leader_leo: int = 0  # the leader's LEO when that follower last fetched
    log_start_offset: int = 0  # as its last fetch reported it (0 until it fetches)


class Partition:
    def __init__(
        self,
        tp: TopicPartition,
        broker_id: int,
        log: Log,
        epoch_cache: LeaderEpochCache,
        config: ReplicationConfig,
    ) -> None:
        self.tp = tp
        self.broker_id = broker_id
        self.log = log
        self.epoch_cache = epoch_cache
        self.config = config
        self.role = Role.OFFLINE
        self.leader_id = -1
        self.leader_epoch = -1
        self.partition_epoch = -1
        self.replicas: tuple[int, ...] = ()
        self.isr: tuple[int, ...] = ()
        self.pending_isr: tuple[int, ...] | None = None  # proposed to the controller
        self.high_watermark = 0
        self.leader_epoch_start_offset = 0
        self.followers: dict[int, ReplicaState] = {}

    # -- role changes, from the metadata log ------------------------------------------------
    def become_leader(
        self,
        leader_epoch: int,
        partition_epoch: int,
        replicas: tuple[int, ...],
        isr: tuple[int, ...],
        now_ms: int,
    ) -> None:
        new_epoch = self.role != Role.LEADER or leader_epoch != self.leader_epoch
        self.role = Role.LEADER
        self.leader_id = self.broker_id
        self.replicas, self.isr = replicas, isr
        self.partition_epoch = partition_epoch
        self.pending_isr = None
        if new_epoch:
            self.leader_epoch = leader_epoch
            self.leader_epoch_start_offset = self.log.log_end_offset
            self.epoch_cache.assign(leader_epoch, self.log.log_end_offset)
            # Followers start with a clean slate: in sync if the ISR says so, until proven not.
            self.followers = {
                r: ReplicaState(-1, now_ms if r in isr else 0)
                for r in replicas
                if r != self.broker_id
            }
        self.high_watermark = min(self.high_watermark, self.log.log_end_offset)
        self.maybe_increment_high_watermark()

    def become_follower(
        self,
        leader_id: int,
        leader_epoch: int,
        partition_epoch: int,
        replicas: tuple[int, ...],
        isr: tuple[int, ...],
    ) -> bool:
        """True if this is a new leader or epoch: the follower must find where to truncate."""
        changed = (self.role, self.leader_id, self.leader_epoch) != (
            Role.FOLLOWER,
            leader_id,
            leader_epoch,
        )
        self.role = Role.FOLLOWER
        self.leader_id, self.leader_epoch = leader_id, leader_epoch
        self.partition_epoch = partition_epoch
        self.replicas, self.isr = replicas, isr
        self.pending_isr = None
        self.followers = {}
        return changed

    def go_offline(
        self, leader_epoch: int, replicas: tuple[int, ...], isr: tuple[int, ...]
    ) -> None:
        self.role = Role.OFFLINE
        self.leader_id, self.leader_epoch = -1, leader_epoch
        self.replicas, self.isr = replicas, isr
        self.followers = {}
        self.pending_isr = None

    def replicas_changed(self, replicas: tuple[int, ...]) -> None:
        """A reassignment added or removed replicas under this leader, in the same epoch:
        track the new followers from nothing (out of sync until they catch up)."""
        self.replicas = replicas
        for r in replicas:
            if r != self.broker_id and r not in self.followers:
                self.followers[r] = ReplicaState(-1, 0)
        for r in list(self.followers):
            if r not in replicas:
                del self.followers[r]

    def isr_committed(self, partition_epoch: int, isr: tuple[int, ...]) -> None:
        """The controller committed an ISR (ours or its own): adopt it."""
        self.partition_epoch = partition_epoch
        self.isr = isr
        self.pending_isr = None
        if self.role == Role.LEADER:
            self.maybe_increment_high_watermark()

    # -- the leader's bookkeeping -------------------------------------------------------------
    def on_follower_fetch(self, replica_id: int, fetch_offset: int, now_ms: int) -> bool:
        """A follower fetched from ``fetch_offset``: so its log ends there. True if the high
        watermark moved."""
        state = self.followers.get(replica_id)
        if state is None:
            return False
        leader_leo = self.log.log_end_offset
        # Kafka's rule: caught up now if it reached our LEO; or caught up as of its previous
        # fetch if it reached the LEO we had then.
        if fetch_offset >= leader_leo:
            state.last_caught_up_ms = now_ms
        elif fetch_offset >= state.last_fetch_leader_leo:
            state.last_caught_up_ms = max(state.last_caught_up_ms, state.last_fetch_ms)
        state.log_end_offset = fetch_offset
        state.last_fetch_ms = now_ms
        state.last_fetch_leader_leo = leader_leo
        return self.maybe_increment_high_watermark()

    def low_watermark(self, live: set[int]) -> int:
        """The smallest log start offset among the leader and its live followers (Kafka:
        ``Partition.lowWatermarkIfLeader``): what DeleteRecords waits for."""
        low = self.log.log_start_offset
        for replica, state in self.followers.items():
            if replica in live:
                low = min(low, state.log_start_offset)
        return low

    def maximal_isr(self) -> tuple[int, ...]:
        if self.pending_isr is None:
            return self.isr
        return tuple(sorted(set(self.isr) | set(self.pending_isr)))

    def maybe_increment_high_watermark(self) -> bool:
        if self.role != Role.LEADER:
            return False
        isr = self.maximal_isr()
        if len(self.isr) < self.config.min_insync_replicas:
            return False  # under min.insync.replicas: nothing more becomes committed
        ends = [self.log.log_end_offset]
        for replica in isr:
            if replica != self.broker_id:
                state = self.followers.get(replica)
                ends.append(state.log_end_offset if state is not None else -1)
        candidate = min(ends)
        if candidate > self.high_watermark:
            self.high_watermark = candidate
            return True
        return False

    def isr_to_shrink(self, now_ms: int) -> tuple[int, ...] | None:
        """The ISR without followers that have not caught up for replica.lag.time.max.ms."""
        if self.role != Role.LEADER or self.pending_isr is not None:
            return None
        lag = self.config.replica_lag_time_max_ms
        out = {
            r
            for r in self.isr
            if r != self.broker_id
            and (s := self.followers.get(r)) is not None
            and now_ms - s.last_caught_up_ms > lag
        }
        if not out:
            return None
        return tuple(r for r in self.isr if r not in out)

    def isr_to_expand(self, replica_id: int) -> tuple[int, ...] | None:
        """The ISR with ``replica_id`` once it has caught up (KIP-101's extra condition: it must
        have reached the start of this leader's epoch, so it holds nothing the leader lacks)."""
        if self.role != Role.LEADER or self.pending_isr is not None or replica_id in self.isr:
            return None
        state = self.followers.get(replica_id)
        if state is None:
            return None
        if state.log_end_offset >= max(self.high_watermark, self.leader_epoch_start_offset):
            return (*self.isr, replica_id)
        return None

    def next_isr_check_ms(self) -> int | None:
        """When a follower in the ISR will have lagged too long, if nothing changes."""
        if self.role != Role.LEADER or self.pending_isr is not None:
            return None  # a change is in flight: decide again when it is answered
        if not self.followers:
            return None  # an ISR of one: nobody to fall behind
        times = [
            s.last_caught_up_ms + self.config.replica_lag_time_max_ms + 1
            for r, s in self.followers.items()
            if r in self.isr
        ]
        return min(times, default=None)

    # -- acks=all -------------------------------------------------------------------------------
    def append_error(self, acks: int) -> int | None:
        """NOT_ENOUGH_REPLICAS refuses an acks=all append while the ISR is too small."""
        if acks == -1 and len(self.isr) < self.config.min_insync_replicas:
            return ErrorCode.NOT_ENOUGH_REPLICAS
        return None

    def acks_all_result(self, required_offset: int) -> int | None:
        """The answer to an acks=all produce whose last record is ``required_offset - 1``:
        None while it must still wait."""
        if self.role != Role.LEADER:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        if len(self.isr) < self.config.min_insync_replicas:
            return ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        if self.high_watermark >= required_offset:
            return ErrorCode.NONE
        return None
