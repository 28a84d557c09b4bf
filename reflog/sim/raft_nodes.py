"""A Raft core on a simulated node, with its term, vote and log in real files.

After each event the adapter does what the core's Ready says, in the order the
paper requires: persist (fsync) first, then send, then apply committed entries.
A crash forgets everything but the files; a restart reloads them.

The state machine here is the list of applied entries itself, so the scenario
oracles can compare every node's history; with ``snapshot_every`` set, the node
snapshots that list every so many applied entries and the log is compacted.
"""

from __future__ import annotations

import json
from pathlib import Path

from reflog.raft.core import RaftConfig, RaftNode, Ready, Role
from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RequestVote,
    RequestVoteResponse,
)
from reflog.raft.storage import FileRaftStorage, persist_ready
from reflog.sim.events import Scheduled
from reflog.sim.node import NodeContext

__all__ = ["RaftSimNode"]

RAFT_MESSAGES = (
    RequestVote,
    RequestVoteResponse,
    AppendEntries,
    AppendEntriesResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
)


def encode_applied(entries: list[Entry]) -> bytes:
    return json.dumps([[e.term, e.index, e.data.hex()] for e in entries]).encode()


def decode_applied(data: bytes) -> list[Entry]:
    return [
        Entry(term=int(t), index=int(i), data=bytes.fromhex(d))
        for t, i, d in json.loads(data or b"[]")
    ]


class RaftSimNode:
    def __init__(
        self,
        name: str,
        peers: list[str],
        config: RaftConfig,
        data_dir: Path,
        snapshot_every: int | None = None,
    ) -> None:
        self.name = name
        self.peers = peers
        self.config = config
        self.snapshot_every = snapshot_every
        self.storage = FileRaftStorage(data_dir / name)
        self.node: RaftNode | None = None
        self.applied: list[Entry] = []  # the state machine: applied entries, in order
        self.snapshots_installed = 0
        self._ctx: NodeContext | None = None
        self._timer: Scheduled | None = None

    def start(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        state = self.storage.load()
        self.applied = decode_applied(state.snapshot.data) if state.snapshot else []
        self.node = RaftNode(self.name, self.peers, self.config, state, ctx.rng, ctx.now_ms)
        self._arm(ctx)

    def crash(self) -> None:
        self.node = None
        self._ctx = None

    def on_message(self, ctx: NodeContext, src: str, payload: object) -> None:
        if self.node is not None and isinstance(payload, RAFT_MESSAGES):
            self._do(ctx, self.node.step(ctx.now_ms, src, payload))

    def on_timer(self, ctx: NodeContext, token: object) -> None:
        if self.node is not None:
            self._do(ctx, self.node.tick(ctx.now_ms))

    def propose(self, data: bytes) -> Entry | None:
        """Propose on this node; None if it is down or not the leader."""
        if self.node is None or self._ctx is None:
            return None
        entry, ready = self.node.propose(self._ctx.now_ms, data)
        self._do(self._ctx, ready)
        return entry

    @property
    def role(self) -> Role | None:
        return None if self.node is None else self.node.role

    def _do(self, ctx: NodeContext, ready: Ready) -> None:
        persist_ready(self.storage, ready)
        for to, message in ready.messages:
            ctx.send(to, message)
        if ready.install is not None:
            self.applied = decode_applied(ready.install.data)
            self.snapshots_installed += 1
            ctx.note("installed snapshot", index=ready.install.last_index)
        for entry in ready.committed:
            self.applied.append(entry)
            ctx.note("applied", index=entry.index, term=entry.term)
        self._maybe_snapshot(ready)
        self._arm(ctx)

    def _maybe_snapshot(self, ready: Ready) -> None:
        node = self.node
        if node is None or self.snapshot_every is None or not ready.committed:
            return
        if node.applied_index - node.snapshot.last_index >= self.snapshot_every:
            snap = node.compact(node.applied_index, encode_applied(self.applied))
            assert snap.snapshot is not None and not snap.messages
            self.storage.save_snapshot(snap.snapshot)

    def _arm(self, ctx: NodeContext) -> None:
        assert self.node is not None
        if self._timer is not None:
            ctx.cancel_timer(self._timer)
        self._timer = ctx.set_timer(self.node.next_deadline_ms(), "tick")
