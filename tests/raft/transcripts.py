"""Raft transcripts: scripted scenarios and what the Raft core did, read next to the paper.

In the style of etcd's datadriven tests. A transcript (``testdata/*.txt``) is a list of
commands, each followed by ``----`` and what the cluster printed, then a blank line:

    campaign n1
    ----
    n1: Follower -> PreCandidate, term 0
    n1->n2 PreVote term=1 last_log_index=0 last_log_term=0

Lines starting with ``#`` are comments. The runner replays the commands on fresh
:class:`~reflog.raft.core.RaftNode` cores (no simulation: one clock, one queue of messages in
flight, one :class:`~reflog.raft.storage.MemoryRaftStorage` per node) and compares what they
print with the file. After a deliberate change of behaviour, rewrite the expected outputs:

    REFLOG_REWRITE=1 .venv/bin/python -m pytest tests/raft/test_transcripts.py
    .venv/bin/python -m tests.raft.transcripts --rewrite tests/raft/testdata/*.txt

and read the diff with the paper open.

Commands (``[...]`` optional):

    cluster n1 n2 n3 [pre_vote=false] [check_quorum=false] [max_entries_per_append=N]
    campaign n1             n1's election timer fires now (etcd's Campaign)
    tick MS [n1 n2 ...]     the clock moves MS on; every live node (or those named) ticks
    wait MS                 the clock moves MS on; no node ticks (leases run out)
    run MS                  MS of time in 10 ms steps, every node ticking and every message
                            delivered at each step; prints only the changes
    deliver [from=n1] [to=n2]   deliver the messages in flight now (their answers wait)
    stabilize [brief]       deliver until no message is in flight (brief: print only the
                            changes of role, term, vote, log and commit, not the messages)
    drop [from=n1] [to=n2]  lose the messages in flight now
    cut n1 n2 / isolate n1 / heal   links that lose every message, until healed
    propose n1 x            a client asks n1 to append "x"
    compact n1 INDEX        n1's application snapshots its state up to INDEX (§7)
    crash n1 / restart n1   a power cut (what n1 sent stays in flight, what is sent to it is
                            lost); a restart from what n1 persisted
    status                  each node's role, term, vote, commit index and log

How things print: an entry is ``index@tTERM``, with ``="data"`` when it has data (the empty
entry a new leader appends has none); messages print Figure 2's field names.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reflog.raft.core import RaftConfig, RaftNode, Ready, Role
from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    InstallSnapshot,
    InstallSnapshotResponse,
    RaftMessage,
    RequestVote,
    RequestVoteResponse,
)
from reflog.raft.storage import MemoryRaftStorage, persist_ready

ELECTION_TIMEOUT_MS = 100
HEARTBEAT_INTERVAL_MS = 30
RUN_STEP_MS = 10
SEPARATOR = "----"


# -- how things print --------------------------------------------------------------------
def entry_text(entry: Entry) -> str:
    data = f'="{entry.data.decode(errors="replace")}"' if entry.data else ""
    return f"{entry.index}@t{entry.term}{data}"


def message_text(msg: RaftMessage) -> str:
    match msg:
        case RequestVote():
            name = "PreVote" if msg.pre_vote else "RequestVote"
            return (
                f"{name} term={msg.term} last_log_index={msg.last_log_index} "
                f"last_log_term={msg.last_log_term}"
            )
        case RequestVoteResponse():
            name = "PreVoteResponse" if msg.pre_vote else "RequestVoteResponse"
            return f"{name} term={msg.term} vote_granted={msg.vote_granted}"
        case AppendEntries():
            entries = " ".join(entry_text(e) for e in msg.entries)
            return (
                f"AppendEntries term={msg.term} prev_log_index={msg.prev_log_index} "
                f"prev_log_term={msg.prev_log_term} entries=[{entries}] "
                f"leader_commit={msg.leader_commit}"
            )
        case AppendEntriesResponse(success=True):
            return (
                f"AppendEntriesResponse term={msg.term} success=True match_index={msg.match_index}"
            )
        case AppendEntriesResponse():
            return (
                f"AppendEntriesResponse term={msg.term} success=False "
                f"conflict_index={msg.conflict_index}"
            )
        case InstallSnapshot():
            snap = msg.snapshot
            return (
                f"InstallSnapshot term={msg.term} last_included_index={snap.last_index} "
                f"last_included_term={snap.last_term}"
            )
        case InstallSnapshotResponse():
            return f"InstallSnapshotResponse term={msg.term} match_index={msg.match_index}"


@dataclass(frozen=True)
class View:
    """What the transcript reports a change of: role, term, vote and commit index."""

    role: Role
    term: int
    voted_for: str | None
    commit: int

    @staticmethod
    def of(node: RaftNode) -> View:
        return View(node.role, node.current_term, node.voted_for, node.commit_index)


def changes(name: str, before: View, after: View, ready: Ready) -> list[str]:
    """What ``name`` did, in the order a runtime acts on a Ready: persist, send, apply."""
    lines = []
    if before.role != after.role:
        same = before.term == after.term
        term = f"term {after.term}" if same else f"term {before.term} -> {after.term}"
        lines.append(f"{name}: {before.role.value} -> {after.role.value}, {term}")
    elif before.term != after.term:
        lines.append(f"{name}: term {before.term} -> {after.term}")
    voted = (after.voted_for, after.term) != (before.voted_for, before.term)
    if after.voted_for is not None and voted:
        lines.append(f"{name}: votes for {after.voted_for} in term {after.term}")
    if ready.install is not None:
        snap = ready.install
        lines.append(f"{name}: installs the snapshot up to {snap.last_index}@t{snap.last_term}")
    elif ready.snapshot is not None:
        lines.append(f"{name}: snapshot up to {ready.snapshot.last_index}, log compacted")
    if ready.truncate_from is not None:
        lines.append(f"{name}: log truncated from index {ready.truncate_from}")
    if ready.append:
        lines.append(f"{name}: log += {' '.join(entry_text(e) for e in ready.append)}")
    if before.commit != after.commit:
        lines.append(f"{name}: commit {before.commit} -> {after.commit}")
    return lines


# -- the cluster ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InFlight:
    src: str
    dst: str
    msg: RaftMessage

    def text(self) -> str:
        return f"{self.src}->{self.dst} {message_text(self.msg)}"


class Cluster:
    def __init__(self, names: list[str], config: RaftConfig) -> None:
        self.names = names
        self.config = config
        self.now_ms = 0
        self.storage = {name: MemoryRaftStorage() for name in names}
        # One seeded generator per node, kept across restarts: same file, same timeouts.
        self.rng = {name: random.Random(f"transcript {name}") for name in names}
        self.nodes: dict[str, RaftNode | None] = {name: self.boot(name) for name in names}
        self.in_flight: list[InFlight] = []
        self.cut_links: set[frozenset[str]] = set()

    def boot(self, name: str) -> RaftNode:
        state = self.storage[name].load()
        return RaftNode(name, self.names, self.config, state, self.rng[name], self.now_ms)

    def node(self, name: str) -> RaftNode:
        node = self.nodes[name]
        if node is None:
            raise ValueError(f"{name} is down")
        return node

    def act(self, name: str, event: Callable[[RaftNode], Ready]) -> list[str]:
        """Run one event on ``name``'s core; persist and send what its Ready says."""
        node = self.node(name)
        before = View.of(node)
        ready: Ready = event(node)
        persist_ready(self.storage[name], ready)  # first persist, then send (Figure 2)
        sent = [InFlight(name, dst, msg) for dst, msg in ready.messages]
        self.in_flight.extend(sent)
        return changes(name, before, View.of(node), ready) + [m.text() for m in sent]

    def deliver(self, message: InFlight) -> list[str]:
        if frozenset((message.src, message.dst)) in self.cut_links:
            return [f"{message.text()}  -- lost: the link is cut"]
        if self.nodes[message.dst] is None:
            return [f"{message.text()}  -- lost: {message.dst} is down"]
        now = self.now_ms
        reaction = self.act(message.dst, lambda n: n.step(now, message.src, message.msg))
        return [message.text(), *("  " + line for line in reaction)]

    def status(self) -> list[str]:
        return [self.status_of(name) for name in self.names]

    def status_of(self, name: str) -> str:
        node = self.nodes[name]
        if node is None:
            disk = self.storage[name].load()
            log = " ".join(entry_text(e) for e in disk.log)
            return f"{name} down         term={disk.current_term} vote={disk.voted_for} log=[{log}]"
        log = " ".join(entry_text(e) for e in node.log)
        if node.snapshot.last_index:
            log = f"snapshot {node.snapshot.last_index}@t{node.snapshot.last_term} | {log}"
        line = (
            f"{name} {node.role.value:12} term={node.current_term} vote={node.voted_for} "
            f"commit={node.commit_index} log=[{log.strip()}]"
        )
        if node.role == Role.LEADER:
            matches = " ".join(f"{p}:{m}" for p, m in node.match_index.items())
            line += f" match_index=[{matches}]"
        return line


# -- the commands ----------------------------------------------------------------------------
def changes_only(lines: list[str]) -> list[str]:
    """The lines saying what changed on a node (``n1: ...``), without the messages."""
    return [line.strip() for line in lines if line.strip().split(" ")[0].endswith(":")]


def options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split ``n1 n2 from=n3`` into ``[n1, n2]`` and ``{"from": "n3"}``."""
    plain = [w for w in words if "=" not in w]
    keyed = dict(w.split("=", 1) for w in words if "=" in w)
    return plain, keyed


def matching(cluster: Cluster, keyed: dict[str, str]) -> list[InFlight]:
    return [
        m
        for m in cluster.in_flight
        if keyed.get("from", m.src) == m.src and keyed.get("to", m.dst) == m.dst
    ]


class Transcript:
    """Runs commands one by one; each returns the lines it printed."""

    def __init__(self) -> None:
        self.cluster: Cluster | None = None

    def run(self, line: str) -> list[str]:
        command, *words = line.split()
        handler = getattr(self, "do_" + command.replace("-", "_"), None)
        if handler is None:
            raise ValueError(f"unknown command {command!r}")
        if command != "cluster" and self.cluster is None:
            raise ValueError("start with: cluster n1 n2 n3")
        lines: list[str] = handler(words)
        return lines

    @property
    def c(self) -> Cluster:
        assert self.cluster is not None
        return self.cluster

    def do_cluster(self, words: list[str]) -> list[str]:
        names, keyed = options(words)
        config = RaftConfig(
            election_timeout_ms=ELECTION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            pre_vote=keyed.get("pre_vote", "true") == "true",
            check_quorum=keyed.get("check_quorum", "true") == "true",
            max_entries_per_append=int(keyed.get("max_entries_per_append", "64")),
        )
        self.cluster = Cluster(names, config)
        return self.c.status()

    def do_campaign(self, words: list[str]) -> list[str]:
        now = self.c.now_ms
        return self.c.act(words[0], lambda n: n.campaign(now))

    def do_tick(self, words: list[str]) -> list[str]:
        self.c.now_ms += int(words[0])
        now = self.c.now_ms
        names = words[1:] or [n for n in self.c.names if self.c.nodes[n] is not None]
        lines = [f"time {now} ms"]
        for name in names:
            lines += self.c.act(name, lambda n: n.tick(now))
        return lines

    def do_wait(self, words: list[str]) -> list[str]:
        self.c.now_ms += int(words[0])
        return [f"time {self.c.now_ms} ms"]

    def do_deliver(self, words: list[str]) -> list[str]:
        _, keyed = options(words)
        batch = matching(self.c, keyed)
        self.c.in_flight = [m for m in self.c.in_flight if m not in batch]
        lines = []
        for message in batch:
            lines += self.c.deliver(message)
        return lines or ["nothing in flight"]

    def do_stabilize(self, words: list[str]) -> list[str]:
        lines = []
        while self.c.in_flight:
            lines += self.do_deliver([])
        if words == ["brief"]:
            lines = changes_only(lines)
        return lines or ["nothing in flight"]

    def do_run(self, words: list[str]) -> list[str]:
        """Time passes in steps of 10 ms; each step every live node ticks and every message
        is delivered (or lost on a cut link). Prints the changes only, each with its time."""
        lines = []
        for _ in range(int(words[0]) // RUN_STEP_MS):
            self.c.now_ms += RUN_STEP_MS
            now = self.c.now_ms
            step: list[str] = []
            for name in self.c.names:
                if self.c.nodes[name] is not None:
                    step += self.c.act(name, lambda n: n.tick(self.c.now_ms))
            step += self.do_stabilize([])
            lines += [f"{now} ms  {line}" for line in changes_only(step)]
        return lines or [f"time {self.c.now_ms} ms: nothing changed"]

    def do_drop(self, words: list[str]) -> list[str]:
        _, keyed = options(words)
        batch = matching(self.c, keyed)
        self.c.in_flight = [m for m in self.c.in_flight if m not in batch]
        return [f"{m.text()}  -- lost" for m in batch] or ["nothing in flight"]

    def do_cut(self, words: list[str]) -> list[str]:
        a, b = words
        self.c.cut_links.add(frozenset((a, b)))
        return [f"link {a}-{b} cut"]

    def do_isolate(self, words: list[str]) -> list[str]:
        [name] = words
        for other in self.c.names:
            if other != name:
                self.c.cut_links.add(frozenset((name, other)))
        return [f"{name} cut off from everyone"]

    def do_heal(self, words: list[str]) -> list[str]:
        self.c.cut_links.clear()
        return ["every link works again"]

    def do_propose(self, words: list[str]) -> list[str]:
        name, data = words
        now = self.c.now_ms
        accepted: list[Entry | None] = []

        def propose(node: RaftNode) -> Ready:
            entry, ready = node.propose(now, data.encode())
            accepted.append(entry)
            return ready

        lines = self.c.act(name, propose)
        if accepted[0] is None:
            return [f"{name} is not the leader: proposal refused", *lines]
        return lines

    def do_compact(self, words: list[str]) -> list[str]:
        name, index = words[0], int(words[1])
        state = f"state@{index}".encode()
        return self.c.act(name, lambda n: n.compact(index, state))

    def do_crash(self, words: list[str]) -> list[str]:
        [name] = words
        self.c.nodes[name] = None
        return [f"{name} crashed: what it persisted stays"]

    def do_restart(self, words: list[str]) -> list[str]:
        [name] = words
        self.c.nodes[name] = self.c.boot(name)
        return [self.c.status_of(name)]

    def do_status(self, words: list[str]) -> list[str]:
        return [f"time {self.c.now_ms} ms", *self.c.status()]


# -- files -----------------------------------------------------------------------------------
def replay(text: str) -> str:
    """The transcript ``text`` with every command's output replaced by what the cores print."""
    transcript = Transcript()
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.startswith("#"):
            out.append(line)
            continue
        out += [line, SEPARATOR, *transcript.run(line)]
        if i < len(lines) and lines[i] == SEPARATOR:  # skip the old output, up to a blank line
            i += 1
            while i < len(lines) and lines[i].strip():
                i += 1
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    rewrite = "--rewrite" in argv
    differ = 0
    for path in (Path(a) for a in argv if a != "--rewrite"):
        text = path.read_text()
        new = replay(text)
        if new != text:
            differ += 1
            if rewrite:
                path.write_text(new)
            print(f"{path}: {'rewritten' if rewrite else 'differs'}")
    return 1 if differ and not rewrite else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
