"""Raft, as a pure core: elections, log replication, persistence (with PreVote and CheckQuorum)."""

from reflog.raft.core import RaftConfig, RaftNode, Ready, Role
from reflog.raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    RaftMessage,
    RequestVote,
    RequestVoteResponse,
)
from reflog.raft.storage import FileRaftStorage, MemoryRaftStorage, PersistentState, RaftStorage

__all__ = [
    "AppendEntries",
    "AppendEntriesResponse",
    "Entry",
    "FileRaftStorage",
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
]
