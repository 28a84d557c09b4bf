"""reflog's own messages between controllers, and between brokers and controllers.

They travel in Kafka's framing (size prefix, request header, body) with API keys
in a private range (10000 and up) that no Kafka client sends, and are described
with the same declarative schema as Kafka's messages, so they are typed and
versioned like them. Nothing is pickled.

* Raft's RPCs (RequestVote, AppendEntries, InstallSnapshot and their answers) are
  **one-way**: an answer is a message of its own, sent back on the answering
  node's connection, as the Raft core is written (messages in, messages out).
  Each carries its sender's node id. (KRaft's own Vote/Fetch APIs differ: there,
  followers pull from the leader.)
* BrokerRegistration and BrokerHeartbeat are request/response, named after
  Kafka's (KIP-631). reflog simplification: the heartbeat answer also carries the
  metadata log batches the broker lacks, where a KRaft broker fetches them
  separately with Fetch.
* AllocateProducerIds is Kafka's (KIP-730) with Kafka's fields, in reflog's range like
  the other requests from brokers: it goes to the controller listener only, and the
  broker epoch it carries is reflog's (the offset of the broker's registration), checked
  as BrokerHeartbeat's is.
"""

from __future__ import annotations

from typing import ClassVar

from reflog.wire.api_keys import ApiKey
from reflog.wire.schema import (
    BOOL,
    BYTES,
    INT16,
    INT32,
    INT64,
    STRING,
    ArrayOf,
    Request,
    Response,
    Struct,
    WireStruct,
    wire,
)

__all__ = [
    "AllocateProducerIdsRequest",
    "AllocateProducerIdsResponse",
    "AlterPartitionRequest",
    "AlterPartitionResponse",
    "BrokerHeartbeatRequest",
    "BrokerHeartbeatResponse",
    "BrokerRegistrationRequest",
    "BrokerRegistrationResponse",
    "MetadataBatch",
    "NoResponse",
    "QuorumStateRequest",
    "QuorumStateResponse",
    "RaftAppendEntriesRequest",
    "RaftAppendEntriesResponse",
    "RaftEntry",
    "RaftInstallSnapshotRequest",
    "RaftInstallSnapshotResponse",
    "RaftVoteRequest",
    "RaftVoteResponse",
]


class NoResponse(Response):
    """Never sent: the response type of a one-way message."""

    API_KEY: ClassVar[int] = -1
    MAX_VERSION: ClassVar[int] = 0


class RaftVoteRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.RAFT_VOTE
    MAX_VERSION: ClassVar[int] = 0
    sender: int = wire(INT32)
    term: int = wire(INT64)
    candidate_id: int = wire(INT32)
    last_log_index: int = wire(INT64)
    last_log_term: int = wire(INT64)
    pre_vote: bool = wire(BOOL)


class RaftVoteResponse(Request):
    API_KEY: ClassVar[int] = ApiKey.RAFT_VOTE_RESPONSE
    MAX_VERSION: ClassVar[int] = 0
    sender: int = wire(INT32)
    term: int = wire(INT64)
    vote_granted: bool = wire(BOOL)
    pre_vote: bool = wire(BOOL)


class RaftEntry(WireStruct):
    term: int = wire(INT64)
    index: int = wire(INT64)
    data: bytes = wire(BYTES)


class RaftAppendEntriesRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.RAFT_APPEND_ENTRIES
    MAX_VERSION: ClassVar[int] = 0
    sender: int = wire(INT32)
    term: int = wire(INT64)
    leader_id: int = wire(INT32)
    prev_log_index: int = wire(INT64)
    prev_log_term: int = wire(INT64)
    entries: list[RaftEntry] = wire(ArrayOf(Struct(RaftEntry)))
    leader_commit: int = wire(INT64)


class RaftAppendEntriesResponse(Request):
    API_KEY: ClassVar[int] = ApiKey.RAFT_APPEND_ENTRIES_RESPONSE
    MAX_VERSION: ClassVar[int] = 0
    sender: int = wire(INT32)
    term: int = wire(INT64)
    success: bool = wire(BOOL)
    match_index: int = wire(INT64)
    conflict_index: int = wire(INT64)


class RaftInstallSnapshotRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.RAFT_INSTALL_SNAPSHOT
    MAX_VERSION: ClassVar[int] = 0
    sender: int = wire(INT32)
    term: int = wire(INT64)
    leader_id: int = wire(INT32)
    last_index: int = wire(INT64)
    last_term: int = wire(INT64)
    data: bytes = wire(BYTES)


class RaftInstallSnapshotResponse(Request):
    API_KEY: ClassVar[int] = ApiKey.RAFT_INSTALL_SNAPSHOT_RESPONSE
    MAX_VERSION: ClassVar[int] = 0
    sender: int = wire(INT32)
    term: int = wire(INT64)
    match_index: int = wire(INT64)


class BrokerRegistrationRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.BROKER_REGISTRATION
    MAX_VERSION: ClassVar[int] = 0
    broker_id: int = wire(INT32)
    host: str = wire(STRING)
    port: int = wire(INT32)


class BrokerRegistrationResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.BROKER_REGISTRATION
    MAX_VERSION: ClassVar[int] = 0
    error_code: int = wire(INT16)
    broker_epoch: int = wire(INT64, default=-1)
    leader_id: int = wire(INT32, default=-1)  # the active controller, if known


class BrokerHeartbeatRequest(Request):
    API_KEY: ClassVar[int] = ApiKey.BROKER_HEARTBEAT
    MAX_VERSION: ClassVar[int] = 0
    broker_id: int = wire(INT32)
    broker_epoch: int = wire(INT64)
    metadata_offset: int = wire(INT64)  # the last metadata batch this broker applied


class MetadataBatch(WireStruct):
    offset: int = wire(INT64)
    data: bytes = wire(BYTES)  # encoded metadata records (reflog.controller.records)


class BrokerHeartbeatResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.BROKER_HEARTBEAT
    MAX_VERSION: ClassVar[int] = 0
    error_code: int = wire(INT16)
    is_fenced: bool = wire(BOOL, default=True)
    leader_id: int = wire(INT32, default=-1)
    # A snapshot of the metadata when the broker is behind the controller's snapshot.
    snapshot_offset: int = wire(INT64, default=-1)
    snapshot: bytes | None = wire(BYTES, nullable="0+", default=None)
    batches: list[MetadataBatch] = wire(ArrayOf(Struct(MetadataBatch)), default_factory=list)


class QuorumStateRequest(Request):
    """What a controller knows of the quorum (after Kafka's DescribeQuorum, KIP-595)."""

    API_KEY: ClassVar[int] = ApiKey.QUORUM_STATE
    MAX_VERSION: ClassVar[int] = 0


class QuorumStateResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.QUORUM_STATE
    MAX_VERSION: ClassVar[int] = 0
    node_id: int = wire(INT32)
    role: str = wire(STRING)  # Follower, PreCandidate, Candidate, Leader
    current_term: int = wire(INT64)
    leader_id: int = wire(INT32)
    commit_index: int = wire(INT64)
    metadata_offset: int = wire(INT64)  # the last batch applied to this controller's image
    active: bool = wire(BOOL)  # leads and takes writes


class AlterPartitionRequest(Request):
    """A partition leader asks the controller to commit a new ISR (Kafka's AlterPartition,
    KIP-497, in reflog's own shape: one partition per request)."""

    API_KEY: ClassVar[int] = ApiKey.ALTER_PARTITION
    MAX_VERSION: ClassVar[int] = 0
    broker_id: int = wire(INT32)
    broker_epoch: int = wire(INT64)
    topic: str = wire(STRING)
    partition: int = wire(INT32)
    leader_epoch: int = wire(INT32)
    partition_epoch: int = wire(INT32)
    new_isr: list[int] = wire(ArrayOf(INT32))


class AlterPartitionResponse(Response):
    API_KEY: ClassVar[int] = ApiKey.ALTER_PARTITION
    MAX_VERSION: ClassVar[int] = 0
    error_code: int = wire(INT16)
    topic: str = wire(STRING, default="")
    partition: int = wire(INT32, default=-1)
    leader_epoch: int = wire(INT32, default=-1)
    partition_epoch: int = wire(INT32, default=-1)
    isr: list[int] = wire(ArrayOf(INT32), default_factory=list)


class AllocateProducerIdsRequest(Request):
    """A broker asks the active controller for a block of producer ids (KIP-730), which
    it then hands out, one per InitProducerId, without asking again."""

    API_KEY: ClassVar[int] = ApiKey.ALLOCATE_PRODUCER_IDS
    MAX_VERSION: ClassVar[int] = 0
    broker_id: int = wire(INT32)
    broker_epoch: int = wire(INT64)


class AllocateProducerIdsResponse(Response):
    """The block ``[producer_id_start, producer_id_start + producer_id_len)``, committed to
    the metadata log before this answer is sent."""

    API_KEY: ClassVar[int] = ApiKey.ALLOCATE_PRODUCER_IDS
    MAX_VERSION: ClassVar[int] = 0
    error_code: int = wire(INT16)
    producer_id_start: int = wire(INT64, default=-1)
    producer_id_len: int = wire(INT32, default=0)
