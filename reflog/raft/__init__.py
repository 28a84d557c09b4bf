"""Raft as a pure core: elections, replication, persistence, snapshots, PreVote, CheckQuorum."""

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
    Snapshot,
)
from reflog.raft.storage import FileRaftStorage, MemoryRaftStorage, PersistentState, RaftStorage

__all__ = [
    "AppendEntries",
    "AppendEntriesResponse",
    "Entry",
    "FileRaftStorage",
    "InstallSnapshot",
    "InstallSnapshotResponse",
    "MemoryRaftStorage",
    "PersistentState",
    "RaftConfig",
    "RaftMessage",
    "RaftNode",
    "RaftStorage",
    "Ready",
    "RequestVote",
    "RequestVoteResponse",
    "Role",
    "Snapshot",
]
