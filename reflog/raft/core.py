"""The Raft consensus algorithm as a pure state machine (Ongaro & Ousterhout, Figure 2).

Like etcd's raft, the core does no I/O and reads no clock: a runtime calls
:meth:`RaftNode.tick` with the time and :meth:`RaftNode.step` with each message,
and gets back a :class:`Ready`: state to persist (first), messages to send, and
entries newly committed (to apply, in order). Randomness (election timeouts)
comes from an injected ``random.Random``.

Beyond Figure 2, two extensions from the thesis keep a partitioned node from
disrupting a healthy cluster:

* **PreVote** (§9.6): before becoming a candidate a node asks whether it *could*
  win, without changing anyone's term; a node that still hears from a leader says no.
* **CheckQuorum** (§6.2): a leader that has not heard from a majority for an
  election timeout steps down, so a partitioned leader stops believing it leads.

A new leader appends an empty entry of its term (§8), which lets it commit the
entries of earlier terms: Raft only commits by counting replicas of the current term.

Snapshots (§7, Figure 13) keep the log from growing forever: the application hands
the core its state as of an applied index (:meth:`RaftNode.compact`), the core drops
the entries up to there, and a follower too far behind receives the snapshot whole
through InstallSnapshot. reflog simplification: a snapshot travels in one message,
not in chunks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RaftMessage,
    RequestVote,
    RequestVoteResponse,
    Snapshot,
)
from reflog.raft.storage import PersistentState

__all__ = ["RaftConfig", "RaftNode", "Ready", "Role"]


class Role(Enum):
    FOLLOWER = "Follower"
    PRE_CANDIDATE = "PreCandidate"
    CANDIDATE = "Candidate"
    LEADER = "Leader"


@dataclass(frozen=True)
class RaftConfig:
    election_timeout_ms: int = 150  # each timeout is drawn from [this, 2 × this)
    heartbeat_interval_ms: int = 50
    pre_vote: bool = True
    check_quorum: bool = True
    # A follower further behind gets its missing entries over several appends (etcd's
    # MaxSizePerMsg, counted in entries).
    max_entries_per_append: int = 64


@dataclass
class Ready:
    """What the runtime must do after an event, in this order: persist, send, apply.

    ``snapshot`` is a snapshot to persist (it replaces the log up to its last index);
    ``install`` is one received from the leader, which the state machine must load
    before applying ``committed``.
    """

    hard_state: tuple[int, str | None] | None = None
    snapshot: Snapshot | None = None
    truncate_from: int | None = None
    append: list[Entry] = field(default_factory=list)
    messages: list[tuple[str, RaftMessage]] = field(default_factory=list)
    install: Snapshot | None = None
    committed: list[Entry] = field(default_factory=list)


class RaftNode:
    def __init__(
        self,
        node_id: str,
        peers: list[str],
        config: RaftConfig,
        state: PersistentState,
        rng: random.Random,
        now_ms: int,
    ) -> None:
        self.id = node_id
        self.peers = [p for p in peers if p != node_id]
        self.config = config
        self.rng = rng
        # Persistent state (Figure 2), restored from storage.
        self.current_term = state.current_term
        self.voted_for = state.voted_for
        # The log holds the entries after the snapshot: log[0] has index snapshot.last_index + 1.
        self.snapshot = state.snapshot or Snapshot(last_index=0, last_term=0, data=b"")
        self.log: list[Entry] = list(state.log)
        # Volatile state. Whatever a snapshot holds was committed and applied.
        self.role = Role.FOLLOWER
        self.leader_id: str | None = None
        self.commit_index = self.snapshot.last_index
        self.applied_index = self.snapshot.last_index
        self.votes: set[str] = set()
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.recently_active: set[str] = set()
        self.leader_contact_ms: int | None = None
        self.election_deadline_ms = 0
        self.heartbeat_deadline_ms = 0
        self.quorum_check_ms = 0
        self._ready = Ready()
        self._reset_election_timer(now_ms)
        if not self.peers:
            # A lone voter has nobody to wait for: it stands at its first tick, as Kafka's
            # KafkaRaftClient does when it is the only voter (a combined-mode broker).
            self.election_deadline_ms = now_ms

    # -- entry points -----------------------------------------------------------------
    def tick(self, now_ms: int) -> Ready:
        if self.role == Role.LEADER:
            if self.config.check_quorum and now_ms >= self.quorum_check_ms:
                self._check_quorum(now_ms)
            if self.role == Role.LEADER and now_ms >= self.heartbeat_deadline_ms:
                self._broadcast_append(now_ms)
        elif now_ms >= self.election_deadline_ms:
            self._start_election(now_ms, pre_vote=self.config.pre_vote)
        return self._take_ready()

    def step(self, now_ms: int, src: str, msg: RaftMessage) -> Ready:
        if self._term_check(now_ms, src, msg):
            if isinstance(msg, RequestVote):
                self._on_request_vote(now_ms, src, msg)
            elif isinstance(msg, RequestVoteResponse):
                self._on_vote_response(now_ms, src, msg)
            elif isinstance(msg, AppendEntries):
                self._on_append_entries(now_ms, src, msg)
            elif isinstance(msg, AppendEntriesResponse):
                self._on_append_response(now_ms, src, msg)
            elif isinstance(msg, InstallSnapshot):
                self._on_install_snapshot(now_ms, src, msg)
            else:
                self._on_snapshot_response(src, msg)
        return self._take_ready()

    def campaign(self, now_ms: int) -> Ready:
        """Stand for election now, as if the election timer had fired (etcd's ``Campaign``);
        with PreVote, a pre-vote first. A leader stays leader."""
        if self.role != Role.LEADER:
            self._start_election(now_ms, pre_vote=self.config.pre_vote)
        return self._take_ready()

    def propose(self, now_ms: int, data: bytes) -> tuple[Entry | None, Ready]:
        """Append ``data`` if this node leads; None otherwise (the client must find the leader)."""
        if self.role != Role.LEADER:
            return None, self._take_ready()
        entry = self._append_own(data)
        self._broadcast_append(now_ms)
        self._maybe_commit()
        return entry, self._take_ready()

    def compact(self, index: int, data: bytes) -> Ready:
        """The application's state as of applied ``index``: drop the log up to there (§7)."""
        if not self.snapshot.last_index < index <= self.applied_index:
            raise ValueError(
                f"snapshot index {index} must be applied and after {self.snapshot.last_index}"
            )
        term = self._term_at(index)
        del self.log[: index - self.snapshot.last_index]
        self.snapshot = Snapshot(last_index=index, last_term=term, data=data)
        self._ready.snapshot = self.snapshot
        return self._take_ready()

    def next_deadline_ms(self) -> int:
        if self.role == Role.LEADER:
            return min(self.heartbeat_deadline_ms, self.quorum_check_ms)
        return self.election_deadline_ms

    # -- terms: the one rule every message passes through -----------------------------
    def _term_check(self, now_ms: int, src: str, msg: RaftMessage) -> bool:
        """Figure 2's "if RPC term > currentTerm: become follower"; False to drop ``msg``."""
        if isinstance(msg, RequestVote) and msg.pre_vote:
            return True  # a pre-vote changes nobody's term
        if isinstance(msg, RequestVoteResponse) and msg.pre_vote:
            if not msg.vote_granted and msg.term > self.current_term:
                self._become_follower(now_ms, msg.term, None)
                return False
            return True
        if isinstance(msg, RequestVote) and msg.term > self.current_term and self._in_lease(now_ms):
            return False  # we hear from a live leader: ignore a disruptive candidate
        if msg.term > self.current_term:
            leader = msg.leader_id if isinstance(msg, AppendEntries | InstallSnapshot) else None
            self._become_follower(now_ms, msg.term, leader)
        elif msg.term < self.current_term:
            # A stale sender: tell it the current term so it steps down.
            if isinstance(msg, RequestVote):
                self._send(src, RequestVoteResponse(term=self.current_term, vote_granted=False))
            elif isinstance(msg, AppendEntries):
                self._send(
                    src,
                    AppendEntriesResponse(term=self.current_term, success=False, match_index=0),
                )
            elif isinstance(msg, InstallSnapshot):
                self._send(src, InstallSnapshotResponse(term=self.current_term, match_index=0))
            return False
        return True

    def _in_lease(self, now_ms: int) -> bool:
        """True while a leader was heard from within the minimum election timeout."""
        if self.role == Role.LEADER:
            return True
        contact = self.leader_contact_ms
        return contact is not None and now_ms - contact < self.config.election_timeout_ms

    # -- elections --------------------------------------------------------------------
    def _start_election(self, now_ms: int, pre_vote: bool) -> None:
        self._reset_election_timer(now_ms)
        self.leader_id = None
        self.votes = {self.id}
        if pre_vote:
            self.role = Role.PRE_CANDIDATE
            term = self.current_term + 1  # the term it would stand in; its own stays
        else:
            self.role = Role.CANDIDATE
            self.current_term += 1
            self.voted_for = self.id
            self._persist_hard_state()
            term = self.current_term
        if self._has_majority(self.votes):
            self._won(now_ms, pre_vote)
            return
        for peer in self.peers:
            request = RequestVote(
                term=term,
                candidate_id=self.id,
                last_log_index=self._last_index(),
                last_log_term=self._last_term(),
                pre_vote=pre_vote,
            )
            self._send(peer, request)

    def _on_request_vote(self, now_ms: int, src: str, msg: RequestVote) -> None:
        up_to_date = (msg.last_log_term, msg.last_log_index) >= (
            self._last_term(),
            self._last_index(),
        )
        if msg.pre_vote:
            granted = msg.term > self.current_term and up_to_date and not self._in_lease(now_ms)
            term = msg.term if granted else self.current_term
            self._send(src, RequestVoteResponse(term=term, vote_granted=granted, pre_vote=True))
            return
        granted = up_to_date and self.voted_for in (None, msg.candidate_id)
        if granted:
            self.voted_for = msg.candidate_id
            self._persist_hard_state()
            self._reset_election_timer(now_ms)
        self._send(src, RequestVoteResponse(term=self.current_term, vote_granted=granted))

    def _on_vote_response(self, now_ms: int, src: str, msg: RequestVoteResponse) -> None:
        expected = Role.PRE_CANDIDATE if msg.pre_vote else Role.CANDIDATE
        if self.role != expected or not msg.vote_granted:
            return
        self.votes.add(src)
        if self._has_majority(self.votes):
            self._won(now_ms, msg.pre_vote)

    def _won(self, now_ms: int, pre_vote: bool) -> None:
        if pre_vote:
            self._start_election(now_ms, pre_vote=False)  # now for real
        else:
            self._become_leader(now_ms)

    def _become_leader(self, now_ms: int) -> None:
        self.role = Role.LEADER
        self.leader_id = self.id
        self.next_index = {p: self._last_index() + 1 for p in self.peers}
        self.match_index = {p: 0 for p in self.peers}
        self.recently_active = set()
        self.quorum_check_ms = now_ms + self.config.election_timeout_ms
        self._append_own(b"")  # §8: an entry of this term lets earlier ones commit
        self._broadcast_append(now_ms)
        self._maybe_commit()

    def _become_follower(self, now_ms: int, term: int, leader: str | None) -> None:
        changed = term != self.current_term
        self.role = Role.FOLLOWER
        self.current_term = term
        if changed:
            self.voted_for = None
            self._persist_hard_state()
        self.leader_id = leader
        self._reset_election_timer(now_ms)

    def _check_quorum(self, now_ms: int) -> None:
        if not self._has_majority(self.recently_active | {self.id}):
            self._become_follower(now_ms, self.current_term, None)
            return
        self.recently_active = set()
        self.quorum_check_ms = now_ms + self.config.election_timeout_ms

    # -- log replication --------------------------------------------------------------
    def _broadcast_append(self, now_ms: int) -> None:
        for peer in self.peers:
            self._send_append(peer)
        self.heartbeat_deadline_ms = now_ms + self.config.heartbeat_interval_ms

    def _send_append(self, peer: str) -> None:
        prev_index = self.next_index[peer] - 1
        if prev_index < self.snapshot.last_index:
            # The entries this follower needs are gone into the snapshot: send it instead,
            # once (optimistically, as with entries): if it is lost, the follower's refusal
            # of the next append brings next_index back and the snapshot goes again.
            self._send(
                peer,
                InstallSnapshot(term=self.current_term, leader_id=self.id, snapshot=self.snapshot),
            )
            self.next_index[peer] = self.snapshot.last_index + 1
            return
        start = prev_index - self.snapshot.last_index
        entries = tuple(self.log[start : start + self.config.max_entries_per_append])
        # Optimistic, like etcd's "replicate" state: assume these arrive and send the next
        # entries after them; a refusal (a gap) brings next_index back.
        self.next_index[peer] = prev_index + len(entries) + 1
        self._send(
            peer,
            AppendEntries(
                term=self.current_term,
                leader_id=self.id,
                prev_log_index=prev_index,
                prev_log_term=self._term_at(prev_index),
                entries=entries,
                leader_commit=self.commit_index,
            ),
        )

    def _on_append_entries(self, now_ms: int, src: str, msg: AppendEntries) -> None:
        self._heard_from_leader(now_ms, msg.term, msg.leader_id)
        if msg.prev_log_index < self.snapshot.last_index:
            # Entries up to our snapshot are committed, hence the leader's too: skip them.
            skip = self.snapshot.last_index - msg.prev_log_index
            msg = AppendEntries(
                term=msg.term,
                leader_id=msg.leader_id,
                prev_log_index=self.snapshot.last_index,
                prev_log_term=self.snapshot.last_term,
                entries=msg.entries[skip:],
                leader_commit=msg.leader_commit,
            )
        if msg.prev_log_index > self._last_index():
            too_short = AppendEntriesResponse(
                term=self.current_term,
                success=False,
                match_index=0,
                conflict_index=self._last_index() + 1,
            )
            self._send(src, too_short)
            return
        if self._term_at(msg.prev_log_index) != msg.prev_log_term:
            conflict_term = self._term_at(msg.prev_log_index)
            first, floor = msg.prev_log_index, self.snapshot.last_index + 1
            while first > floor and self._term_at(first - 1) == conflict_term:
                first -= 1
            conflict = AppendEntriesResponse(
                term=self.current_term, success=False, match_index=0, conflict_index=first
            )
            self._send(src, conflict)
            return
        for entry in msg.entries:
            if entry.index <= self._last_index():
                if self._term_at(entry.index) == entry.term:
                    continue  # already have it (a duplicate or reordered append)
                self._truncate_from(entry.index)
            self.log.append(entry)
            self._ready.append.append(entry)
        last_new = msg.prev_log_index + len(msg.entries)
        if msg.leader_commit > self.commit_index:
            self._commit_to(min(msg.leader_commit, last_new))
        self._send(
            src, AppendEntriesResponse(term=self.current_term, success=True, match_index=last_new)
        )

    def _on_install_snapshot(self, now_ms: int, src: str, msg: InstallSnapshot) -> None:
        self._heard_from_leader(now_ms, msg.term, msg.leader_id)
        snap = msg.snapshot
        if snap.last_index <= self.commit_index:
            # Nothing new in it (a duplicate, or we caught up meanwhile).
            self._send(
                src,
                InstallSnapshotResponse(term=self.current_term, match_index=self.commit_index),
            )
            return
        if self._term_at(snap.last_index) == snap.last_term:
            # Figure 13 step 6: our log continues past the snapshot; keep that suffix.
            del self.log[: snap.last_index - self.snapshot.last_index]
        else:
            self.log = []  # Figure 13 step 7: discard the entire log
            self._ready.truncate_from = snap.last_index + 1
            self._ready.append = []
        self.snapshot = snap
        self.commit_index = self.applied_index = snap.last_index
        self._ready.snapshot = self._ready.install = snap
        self._ready.committed = []
        self._send(
            src, InstallSnapshotResponse(term=self.current_term, match_index=snap.last_index)
        )

    def _on_snapshot_response(self, src: str, msg: InstallSnapshotResponse) -> None:
        if self.role != Role.LEADER or src not in self.next_index:
            return
        self.recently_active.add(src)
        if msg.match_index > self.match_index[src]:
            self.match_index[src] = msg.match_index
            self.next_index[src] = msg.match_index + 1
            self._maybe_commit()
        if self.next_index[src] <= self._last_index():
            self._send_append(src)

    def _heard_from_leader(self, now_ms: int, term: int, leader_id: str) -> None:
        if self.role != Role.FOLLOWER:
            self._become_follower(now_ms, term, leader_id)
        self.leader_id = leader_id
        self.leader_contact_ms = now_ms
        self._reset_election_timer(now_ms)

    def _on_append_response(self, now_ms: int, src: str, msg: AppendEntriesResponse) -> None:
        if self.role != Role.LEADER or src not in self.next_index:
            return
        self.recently_active.add(src)
        if msg.success:
            if msg.match_index > self.match_index[src]:
                self.match_index[src] = msg.match_index
                self.next_index[src] = max(self.next_index[src], msg.match_index + 1)
                self._maybe_commit()
            if self.next_index[src] <= self._last_index():
                self._send_append(src)  # more to send: keep the follower moving
        else:
            backed_up = min(msg.conflict_index, self.next_index[src] - 1)
            self.next_index[src] = max(self.match_index[src] + 1, backed_up)
            self._send_append(src)

    def _maybe_commit(self) -> None:
        """Figure 2: commit N if a majority has it and log[N] is of the current term."""
        for n in range(self._last_index(), self.commit_index, -1):
            if self._term_at(n) != self.current_term:
                break  # never commit an older term's entry by counting (Figure 8)
            replicas = 1 + sum(1 for m in self.match_index.values() if m >= n)
            if replicas * 2 > len(self.peers) + 1:
                self._commit_to(n)
                for peer in self.peers:
                    self._send_append(peer)  # tell followers the new commit index
                return

    def _commit_to(self, index: int) -> None:
        if index > self.commit_index:
            self.commit_index = index
            base = self.snapshot.last_index
            self._ready.committed.extend(self.log[self.applied_index - base : index - base])
            self.applied_index = index

    # -- the log ----------------------------------------------------------------------
    def _append_own(self, data: bytes) -> Entry:
        entry = Entry(term=self.current_term, index=self._last_index() + 1, data=data)
        self.log.append(entry)
        self._ready.append.append(entry)
        return entry

    def _truncate_from(self, index: int) -> None:
        if index <= self.commit_index:
            raise AssertionError(f"{self.id} asked to truncate committed entry {index}")
        del self.log[index - 1 - self.snapshot.last_index :]
        self._ready.append = [e for e in self._ready.append if e.index < index]
        current = self._ready.truncate_from
        self._ready.truncate_from = index if current is None else min(current, index)

    def _last_index(self) -> int:
        return self.snapshot.last_index + len(self.log)

    def _last_term(self) -> int:
        return self.log[-1].term if self.log else self.snapshot.last_term

    def _term_at(self, index: int) -> int:
        """The term of entry ``index``; 0 where we have none (or it is inside the snapshot)."""
        if index == self.snapshot.last_index:
            return self.snapshot.last_term
        position = index - self.snapshot.last_index - 1
        return self.log[position].term if 0 <= position < len(self.log) else 0

    # -- helpers ----------------------------------------------------------------------
    def _has_majority(self, voters: set[str]) -> bool:
        return len(voters) * 2 > len(self.peers) + 1

    def _reset_election_timer(self, now_ms: int) -> None:
        timeout = self.config.election_timeout_ms
        self.election_deadline_ms = now_ms + timeout + self.rng.randrange(timeout)

    def _persist_hard_state(self) -> None:
        self._ready.hard_state = (self.current_term, self.voted_for)

    def _send(self, to: str, msg: RaftMessage) -> None:
        self._ready.messages.append((to, msg))

    def _take_ready(self) -> Ready:
        ready, self._ready = self._ready, Ready()
        return ready
