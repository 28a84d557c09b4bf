"""What Raft must keep across crashes (Figure 2: currentTerm, votedFor, log[]; §7: the snapshot).

The core never writes files; it returns what must be made durable in its
:class:`~reflog.raft.core.Ready`, and the runtime hands that to a
:class:`RaftStorage` *before* sending the messages of the same Ready — the
paper requires the state to be on stable storage before a node answers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reflog.raft.messages import Entry, Snapshot

if TYPE_CHECKING:
    from reflog.raft.core import Ready

__all__ = [
    "FileRaftStorage",
    "MemoryRaftStorage",
    "PersistentState",
    "RaftStorage",
    "persist_ready",
]


@dataclass
class PersistentState:
    current_term: int = 0
    voted_for: str | None = None
    log: list[Entry] = field(default_factory=list)  # the entries after the snapshot
    snapshot: Snapshot | None = None


class RaftStorage(Protocol):
    def load(self) -> PersistentState: ...

    def save_hard_state(self, current_term: int, voted_for: str | None) -> None: ...

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` and drop the entries it covers (index <= its last index)."""
        ...

    def append(self, entries: list[Entry]) -> None: ...

    def truncate_from(self, index: int) -> None:
        """Drop entries with index >= ``index``."""
        ...


class MemoryRaftStorage:
    """For unit tests of the core only: nothing survives the process."""

    def __init__(self) -> None:
        self.state = PersistentState()

    def load(self) -> PersistentState:
        s = self.state
        return PersistentState(s.current_term, s.voted_for, list(s.log), s.snapshot)

    def save_hard_state(self, current_term: int, voted_for: str | None) -> None:
        self.state.current_term, self.state.voted_for = current_term, voted_for

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self.state.snapshot = snapshot
        self.state.log = [e for e in self.state.log if e.index > snapshot.last_index]

    def append(self, entries: list[Entry]) -> None:
        self.state.log.extend(entries)

    def truncate_from(self, index: int) -> None:
        self.state.log = [e for e in self.state.log if e.index < index]


def _entry_line(e: Entry) -> str:
    return json.dumps({"term": e.term, "index": e.index, "data": e.data.hex()}) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file, fsync it, rename it over ``path``: old or new, never half."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself must survive a power cut
    finally:
        os.close(directory)


class FileRaftStorage:
    """Term and vote in a small JSON file, the snapshot in another, the log as JSON lines.

    Everything is fsynced before returning, as the paper requires before a reply;
    files that are rewritten are replaced atomically. Data bytes are hex-encoded:
    nothing read back is ever evaluated or unpickled.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._state_path = directory / "raft-state.json"
        self._snapshot_path = directory / "raft-snapshot.json"
        self._log_path = directory / "raft-log.jsonl"

    def load(self) -> PersistentState:
        state = PersistentState()
        if self._state_path.exists():
            hard = json.loads(self._state_path.read_text())
            state.current_term, state.voted_for = int(hard["current_term"]), hard["voted_for"]
        if self._snapshot_path.exists():
            snap = json.loads(self._snapshot_path.read_text())
            state.snapshot = Snapshot(
                last_index=int(snap["last_index"]),
                last_term=int(snap["last_term"]),
                data=bytes.fromhex(snap["data"]),
            )
        first = state.snapshot.last_index + 1 if state.snapshot else 1
        if self._log_path.exists():
            for line in self._log_path.read_text().splitlines():
                try:
                    row = json.loads(line)
                    entry = Entry(
                        term=int(row["term"]),
                        index=int(row["index"]),
                        data=bytes.fromhex(row["data"]),
                    )
                except (ValueError, KeyError, TypeError):
                    break  # a torn last line after a crash: everything before it stands
                if entry.index < first:
                    continue  # covered by the snapshot (a crash before the log was rewritten)
                if entry.index != first + len(state.log):
                    break
                state.log.append(entry)
        return state

    def save_hard_state(self, current_term: int, voted_for: str | None) -> None:
        text = json.dumps({"current_term": current_term, "voted_for": voted_for})
        _write_atomically(self._state_path, text)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        text = json.dumps(
            {
                "last_index": snapshot.last_index,
                "last_term": snapshot.last_term,
                "data": snapshot.data.hex(),
            }
        )
        _write_atomically(self._snapshot_path, text)
        # The snapshot is durable first, so a crash in between leaves entries it covers,
        # which load() skips.
        kept = [e for e in self.load().log if e.index > snapshot.last_index]
        _write_atomically(self._log_path, "".join(_entry_line(e) for e in kept))

    def append(self, entries: list[Entry]) -> None:
        with open(self._log_path, "a") as f:
            f.write("".join(_entry_line(e) for e in entries))
            f.flush()
            os.fsync(f.fileno())

    def truncate_from(self, index: int) -> None:
        kept = [e for e in self.load().log if e.index < index]
        _write_atomically(self._log_path, "".join(_entry_line(e) for e in kept))


def persist_ready(storage: RaftStorage, ready: Ready) -> None:
    """Make durable what a Ready says, in the order that keeps the files consistent:
    term and vote, then the snapshot (which drops the entries it covers), then the log."""
    if ready.hard_state is not None:
        storage.save_hard_state(*ready.hard_state)
    if ready.snapshot is not None:
        storage.save_snapshot(ready.snapshot)
    if ready.truncate_from is not None:
        storage.truncate_from(ready.truncate_from)
    if ready.append:
        storage.append(ready.append)
