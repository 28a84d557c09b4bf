"""What Raft must keep across crashes (Figure 2: currentTerm, votedFor, log[]).

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
from typing import Protocol

from reflog.raft.messages import Entry

__all__ = ["FileRaftStorage", "MemoryRaftStorage", "PersistentState", "RaftStorage"]


@dataclass
class PersistentState:
    current_term: int = 0
    voted_for: str | None = None
    log: list[Entry] = field(default_factory=list)


class RaftStorage(Protocol):
    def load(self) -> PersistentState: ...

    def save_hard_state(self, current_term: int, voted_for: str | None) -> None: ...

    def append(self, entries: list[Entry]) -> None: ...

    def truncate_from(self, index: int) -> None:
        """Drop entries with index >= ``index``."""
        ...


class MemoryRaftStorage:
    """For unit tests of the core only: nothing survives the process."""

    def __init__(self) -> None:
        self.state = PersistentState()

    def load(self) -> PersistentState:
        return PersistentState(self.state.current_term, self.state.voted_for, list(self.state.log))

    def save_hard_state(self, current_term: int, voted_for: str | None) -> None:
        self.state.current_term, self.state.voted_for = current_term, voted_for

    def append(self, entries: list[Entry]) -> None:
        self.state.log.extend(entries)

    def truncate_from(self, index: int) -> None:
        del self.state.log[index - 1 :]


class FileRaftStorage:
    """Term and vote in a small JSON file replaced atomically; the log as JSON lines.

    Both are fsynced before returning, as the paper requires before a reply. Data
    bytes are hex-encoded: nothing read back is ever evaluated or unpickled.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._state_path = directory / "raft-state.json"
        self._log_path = directory / "raft-log.jsonl"

    def load(self) -> PersistentState:
        state = PersistentState()
        if self._state_path.exists():
            hard = json.loads(self._state_path.read_text())
            state.current_term, state.voted_for = int(hard["current_term"]), hard["voted_for"]
        if self._log_path.exists():
            for line in self._log_path.read_text().splitlines():
                try:
                    row = json.loads(line)
                    entry = Entry(int(row["term"]), int(row["index"]), bytes.fromhex(row["data"]))
                except (ValueError, KeyError, TypeError):
                    break  # a torn last line after a crash: everything before it stands
                if entry.index != len(state.log) + 1:
                    break
                state.log.append(entry)
        return state

    def save_hard_state(self, current_term: int, voted_for: str | None) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({"current_term": current_term, "voted_for": voted_for}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state_path)

    def append(self, entries: list[Entry]) -> None:
        with open(self._log_path, "a") as f:
            for e in entries:
                f.write(json.dumps({"term": e.term, "index": e.index, "data": e.data.hex()}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def truncate_from(self, index: int) -> None:
        kept = self.load().log[: index - 1]
        tmp = self._log_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            for e in kept:
                f.write(json.dumps({"term": e.term, "index": e.index, "data": e.data.hex()}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._log_path)
