"""A Raft quorum on the simulation, recorded as a timeline of frames (the Raft chapter).

The metadata quorum of a Kafka cluster is inside :class:`~reflog.sim.cluster.Cluster`;
this is the bare Raft of the paper, for the chapter that explains it: nodes that
replicate a log of opaque entries. :class:`RaftRecorder` drives a
:class:`~reflog.sim.world.Simulation` of :class:`~reflog.sim.raft_nodes.RaftSimNode`\\ s
one event at a time and keeps, in its :class:`~reflog.sim.timeline.Timeline`, a
:class:`Frame` for every millisecond in which something happened: each node's role,
term, commit index and log, the messages on the wire, and which links are cut. The
Raft view (:mod:`reflog.viz.raft`) draws the frames.

Messages in flight come from the simulation's trace, through its public
subscription: a ``MessageSent`` puts a message on the wire, and the matching
``MessageDelivered`` or ``MessageDropped`` takes it off.

Run the quorum through the recorder (``run_for``, ``run_until``, ``play``): events
run straight on the simulation are not recorded frame by frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from reflog.raft.core import Role
from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RequestVote,
    RequestVoteResponse,
)
from reflog.sim.raft_nodes import RaftSimNode
from reflog.sim.recorder import SimRecorder
from reflog.sim.trace import MessageDelivered, MessageDropped, MessageSent, TraceEvent
from reflog.sim.world import Simulation

__all__ = [
    "DOWN",
    "MESSAGE_KINDS",
    "Frame",
    "NodeFrame",
    "RaftRecorder",
    "WireMessage",
    "classify",
    "format_frame",
    "format_log",
]

DOWN = "down"
# What a message on the wire is, for drawing: a vote request or answer, an append
# (AppendEntries or InstallSnapshot) or its answer.
MESSAGE_KINDS = ("vote", "vote reply", "append", "append reply")


@dataclass(frozen=True)
class NodeFrame:
    """One node at one instant. A down node shows the term, snapshot and log it has on disk."""

    name: str
    up: bool
    role: str  # a Role's value, or "down"
    term: int
    voted_for: str | None
    commit_index: int  # volatile: unknown (0) while down, back to the snapshot's on restart
    log: tuple[Entry, ...]  # the entries after the snapshot
    snapshot_index: int = 0  # the log up to here is compacted into a snapshot
    snapshot_term: int = 0

    @property
    def last_index(self) -> int:
        return self.log[-1].index if self.log else self.snapshot_index


@dataclass(frozen=True)
class WireMessage:
    src: str
    dst: str
    kind: str  # one of MESSAGE_KINDS
    label: str
    sent_ms: int
    deliver_ms: int


@dataclass(frozen=True)
class Frame:
    at_ms: int
    nodes: tuple[NodeFrame, ...]
    wire: tuple[WireMessage, ...]
    groups: tuple[tuple[str, ...], ...]  # who can talk to whom: one group unless partitioned
    last_action: str

    def node(self, name: str) -> NodeFrame:
        return next(n for n in self.nodes if n.name == name)

    @property
    def leader(self) -> str | None:
        """The live leader of the highest term (a deposed one may not know it yet)."""
        leaders = [n for n in self.nodes if n.role == Role.LEADER.value]
        return max(leaders, key=lambda n: n.term).name if leaders else None


def classify(payload: object) -> tuple[str, str]:
    """A message's kind (one of MESSAGE_KINDS) and a one-line description."""
    if isinstance(payload, RequestVote):
        name = "PreVote" if payload.pre_vote else "RequestVote"
        return "vote", f"{name} T{payload.term} from {payload.candidate_id}"
    if isinstance(payload, RequestVoteResponse):
        name = "pre-vote" if payload.pre_vote else "vote"
        answer = "granted" if payload.vote_granted else "refused"
        return "vote reply", f"{name} {answer} (T{payload.term})"
    if isinstance(payload, AppendEntries):
        what = f"{len(payload.entries)} entries" if payload.entries else "heartbeat"
        return "append", f"AppendEntries T{payload.term}: {what}, commit {payload.leader_commit}"
    if isinstance(payload, AppendEntriesResponse):
        answer = f"ok, match {payload.match_index}" if payload.success else "rejected"
        return "append reply", f"append {answer} (T{payload.term})"
    if isinstance(payload, InstallSnapshot):
        last = payload.snapshot.last_index
        return "append", f"InstallSnapshot T{payload.term}: the log up to {last}"
    if isinstance(payload, InstallSnapshotResponse):
        return "append reply", f"snapshot installed, match {payload.match_index} (T{payload.term})"
    name = type(payload).__name__
    return ("append reply" if name.endswith("Response") else "append"), name


def format_log(node: NodeFrame, max_data: int = 8) -> str:
    """Entries as ``term`` or ``term:data``; a ``|`` after the last committed one."""
    if not node.log and not node.snapshot_index:
        return "(empty)"
    parts: list[str] = []
    if node.snapshot_index:
        parts.append(f"[snapshot to {node.snapshot_index}]")
    if node.up and node.commit_index == node.snapshot_index and node.log:
        parts.append("|")
    for entry in node.log:
        text = str(entry.term)
        if entry.data:
            text += ":" + entry.data.decode(errors="replace")[:max_data]
        parts.append(text)
        if node.up and entry.index == node.commit_index:
            parts.append("|")
    return " ".join(parts)


def format_frame(frame: Frame) -> str:
    """One line per node: role, term, commit index and log."""
    lines = []
    for n in frame.nodes:
        commit = str(n.commit_index) if n.up else "-"
        lines.append(
            f"{n.name:4} {n.role:12} term {n.term:<3} commit {commit:<3} log {format_log(n)}"
        )
    return "\n".join(lines)


@dataclass
class _InFlight:
    src: str
    dst: str
    payload: object
    sent_ms: int
    deliver_ms: int


class RaftRecorder(SimRecorder[Frame]):
    """Runs a Raft quorum's simulation event by event and records a frame per busy millisecond."""

    def __init__(self, sim: Simulation, nodes: Mapping[str, RaftSimNode]) -> None:
        super().__init__(sim)
        self.nodes = dict(nodes)
        self.names = list(self.nodes)
        self._wire: list[_InFlight] = []
        self._last_seen: dict[str, NodeFrame] = {}
        self._last_action = ""
        self._proposals = 0
        sim.trace.subscribe(self._on_trace)
        sim.start()
        self._act("start")

    @property
    def frames(self) -> list[Frame]:
        """Every recorded frame, in time order (a copy of the timeline's)."""
        return list(self.timeline)

    # -- watching ---------------------------------------------------------------------
    def _on_trace(self, event: TraceEvent) -> None:
        if isinstance(event, MessageSent):
            self._wire.append(
                _InFlight(event.src, event.dst, event.payload, event.at_ms, event.deliver_at_ms)
            )
        elif isinstance(event, MessageDelivered | MessageDropped):
            # A link is FIFO and the payload is the very object sent: the first match is it.
            # (A message dropped as it is sent was never on the wire: nothing matches.)
            for i, m in enumerate(self._wire):
                if m.src == event.src and m.dst == event.dst and m.payload is event.payload:
                    del self._wire[i]
                    break

    def capture(self) -> Frame:
        """The cluster as it is now (not recorded)."""
        nodes = []
        for name in self.names:
            core = self.nodes[name].node
            if core is None:
                seen = self._last_seen.get(name) or NodeFrame(name, False, DOWN, 0, None, 0, ())
                # What is on disk survives; the commit index was volatile.
                nodes.append(replace(seen, up=False, role=DOWN, commit_index=0))
                continue
            state = NodeFrame(
                name,
                True,
                core.role.value,
                core.current_term,
                core.voted_for,
                core.commit_index,
                tuple(core.log),
                core.snapshot.last_index,
                core.snapshot.last_term,
            )
            self._last_seen[name] = state
            nodes.append(state)
        wire = []
        for m in self._wire:
            kind, label = classify(m.payload)
            wire.append(WireMessage(m.src, m.dst, kind, label, m.sent_ms, m.deliver_ms))
        return Frame(self.sim.now_ms, tuple(nodes), tuple(wire), self._groups(), self._last_action)

    def _groups(self) -> tuple[tuple[str, ...], ...]:
        cut = set(self.sim.network.cut_links())
        groups: list[tuple[str, ...]] = []
        placed: set[str] = set()
        for name in self.names:
            if name in placed:
                continue
            group, todo = [name], [name]
            placed.add(name)
            while todo:
                a = todo.pop()
                for b in self.names:
                    if b not in placed and (a, b) not in cut and (b, a) not in cut:
                        placed.add(b)
                        group.append(b)
                        todo.append(b)
            groups.append(tuple(sorted(group, key=self.names.index)))
        return tuple(groups)

    def _act(self, description: str) -> None:
        self._last_action = f"{description} at {self.sim.now_ms} ms"
        self.record()
        self._changed()

    # -- running ----------------------------------------------------------------------
    # -- acting -----------------------------------------------------------------------
    def crash(self, name: str) -> None:
        self.sim.crash(name)
        self._act(f"killed {name}")

    def restart(self, name: str) -> None:
        self.sim.restart(name)
        self._act(f"restarted {name}")

    def isolate(self, *names: str) -> None:
        """Cut ``names`` off from the other nodes (they still talk among themselves)."""
        group = set(names)
        self.sim.partition(group, set(self.names) - group)
        self._act(f"isolated {', '.join(names)}")

    def heal(self) -> None:
        self.sim.heal()
        self._act("healed the network")

    def propose(self, data: bytes | None = None, on: str | None = None) -> Entry | None:
        """Propose ``data`` on node ``on`` (default: the leader); None if it does not lead."""
        target = on if on is not None else self.leader()
        if data is None:
            self._proposals += 1
            data = f"e{self._proposals}".encode()
        entry = self.nodes[target].propose(data) if target is not None else None
        if entry is None:
            self._act(f"proposal {data.decode(errors='replace')!r} refused: {target} does not lead")
        else:
            self._act(f"{target} appended {data.decode(errors='replace')!r} at index {entry.index}")
        return entry

    # -- reading ----------------------------------------------------------------------
    def leader(self) -> str | None:
        """The live leader of the highest term, or None."""
        return self.capture().leader

    def term_of(self, name: str) -> int | None:
        core = self.nodes[name].node
        return None if core is None else core.current_term

    def describe(self) -> str:
        return format_frame(self.capture())
