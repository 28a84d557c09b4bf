"""A Raft cluster in the simulation, with the lab's oracles checked after every event."""

from __future__ import annotations

from pathlib import Path

from reflog.raft.core import RaftConfig, Role
from reflog.raft.messages import AppendEntries, Entry
from reflog.sim import LinkConfig, Simulation
from reflog.sim.raft_nodes import RaftSimNode
from reflog.sim.trace import MessageDelivered, MessageSent

ELECTION_TIMEOUT = 150


class RaftCluster:
    def __init__(
        self,
        n: int,
        seed: int,
        data_dir: Path,
        *,
        loss: float = 0.0,
        pre_vote: bool = True,
        snapshot_every: int | None = None,
        latency_ms_max: int = 8,
        max_entries_per_append: int = 64,
    ) -> None:
        self.sim = Simulation(
            seed, LinkConfig(latency_ms_min=1, latency_ms_max=latency_ms_max, loss=loss)
        )
        names = [f"n{i}" for i in range(n)]
        config = RaftConfig(
            election_timeout_ms=ELECTION_TIMEOUT,
            heartbeat_interval_ms=40,
            pre_vote=pre_vote,
            max_entries_per_append=max_entries_per_append,
        )
        self.nodes = {
            name: RaftSimNode(name, names, config, data_dir, snapshot_every) for name in names
        }
        for node in self.nodes.values():
            self.sim.add_node(node)
        self.leaders_by_term: dict[int, str] = {}
        self.committed: dict[int, Entry] = {}  # index -> the entry every node must apply there
        self.sim.start()

    # -- oracles, after every event ---------------------------------------------------
    def check(self) -> None:
        for name, node in self.nodes.items():
            core = node.node
            if core is None:
                continue
            if core.role == Role.LEADER:
                other = self.leaders_by_term.setdefault(core.current_term, name)
                assert other == name, f"two leaders in term {core.current_term}: {other}, {name}"
            for i, entry in enumerate(node.applied):
                assert entry.index == i + 1, f"{name} applied index {entry.index} at position {i}"
                known = self.committed.setdefault(entry.index, entry)
                assert known == entry, f"{name} applied {entry} where {known} was committed"

    def run(self, ms: int) -> None:
        end = self.sim.now_ms + ms
        self.until(lambda: False, ms)
        assert self.sim.now_ms == end

    def until(self, condition: object, timeout_ms: int) -> bool:
        assert callable(condition)

        def checked() -> bool:
            self.check()
            return bool(condition())

        return self.sim.run_until(checked, timeout_ms)

    # -- helpers ----------------------------------------------------------------------
    def leader(self) -> str | None:
        up = [n for n, node in self.nodes.items() if node.role == Role.LEADER]
        if len(up) != 1:
            return None
        return up[0]

    def one_leader(self, timeout_ms: int = 10 * ELECTION_TIMEOUT) -> str:
        """Wait until exactly one live node leads, and a majority agrees on its term."""

        def settled() -> bool:
            leader = self.leader()
            if leader is None:
                return False
            term = self.term_of(leader)
            live = [n for n in self.nodes.values() if n.node is not None]
            agreeing = [n for n in live if n.node is not None and n.node.current_term == term]
            return len(agreeing) * 2 > len(self.nodes)

        assert self.until(settled, timeout_ms), "no leader was elected"
        leader = self.leader()
        assert leader is not None
        return leader

    def new_leader(self, excluding: str, timeout_ms: int = 10 * ELECTION_TIMEOUT) -> str:
        """Wait until another node than ``excluding`` leads (the old may still think it does)."""

        def elected() -> bool:
            return any(
                n != excluding and node.role == Role.LEADER for n, node in self.nodes.items()
            )

        assert self.until(elected, timeout_ms), "no new leader was elected"
        return next(
            n for n, node in self.nodes.items() if n != excluding and node.role == Role.LEADER
        )

    def term_of(self, name: str) -> int:
        core = self.nodes[name].node
        assert core is not None
        return core.current_term

    def applied_data(self, name: str) -> list[bytes]:
        return [e.data for e in self.nodes[name].applied if e.data]

    def commit(self, data: bytes, servers: int, timeout_ms: int = 5_000) -> int:
        """Propose ``data`` (retrying on whoever leads) until ``servers`` nodes applied it."""
        deadline = self.sim.now_ms + timeout_ms
        while self.sim.now_ms < deadline:
            leader = self.leader()
            entry = self.nodes[leader].propose(data) if leader else None
            if entry is not None and self.until(
                lambda e=entry: self._applied_on(e) >= servers, 2 * ELECTION_TIMEOUT
            ):
                return entry.index
            if entry is None:
                self.run(50)
        raise AssertionError(f"{data!r} was not committed on {servers} servers")

    def messages_sent(self) -> int:
        return sum(1 for event in self.sim.trace.since(0) if isinstance(event, MessageSent))

    def appends_short_of_the_leaders_commit(self) -> int:
        """AppendEntries delivered to a follower so far behind that the leader had committed
        past the last entry the append carried: where Figure 2's ``min(leaderCommit, index of
        last new entry)`` decides what the follower may apply."""
        return sum(
            1
            for event in self.sim.trace.since(0)
            if isinstance(event, MessageDelivered)
            and isinstance(msg := event.payload, AppendEntries)
            and msg.entries
            and msg.leader_commit > msg.prev_log_index + len(msg.entries)
        )

    def _applied_on(self, entry: Entry) -> int:
        return sum(1 for node in self.nodes.values() if entry in node.applied)

    def isolate(self, name: str) -> None:
        self.sim.partition({name}, set(self.nodes) - {name})

    def heal(self) -> None:
        self.sim.heal()
