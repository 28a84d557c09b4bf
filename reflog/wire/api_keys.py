"""Every API reflog speaks, by the number that opens each request on the wire.

The first field of a request header is its API key, an INT16. Kafka's own keys keep
Kafka's numbers and names (Kafka's ``ApiKeys`` enum: ``PRODUCE(0)``, ``FETCH(1)``, ...),
so a packet capture of reflog reads like one of Kafka.

The controller quorum's messages are reflog's own, numbered from 10000 (Kafka's
``ApiKeys`` stop below 100): Kafka has Vote (52), BrokerRegistration (62),
BrokerHeartbeat (63) and AlterPartition (56), but reflog's messages of those names
carry other fields, and a Kafka tool that mistook one for the other would misread it.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ApiKey"]


class ApiKey(IntEnum):
    # Kafka's, with Kafka's numbers.
    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    DESCRIBE_GROUPS = 15
    LIST_GROUPS = 16
    API_VERSIONS = 18
    CREATE_TOPICS = 19
    OFFSET_FOR_LEADER_EPOCH = 23
    INIT_PRODUCER_ID = 22
    # The admin APIs (kafka-topics, kafka-configs, kafka-reassign-partitions, ...).
    DELETE_TOPICS = 20
    DELETE_RECORDS = 21
    DESCRIBE_CONFIGS = 32
    ALTER_CONFIGS = 33
    CREATE_PARTITIONS = 37
    ELECT_LEADERS = 43
    INCREMENTAL_ALTER_CONFIGS = 44
    ALTER_PARTITION_REASSIGNMENTS = 45
    LIST_PARTITION_REASSIGNMENTS = 46
    DESCRIBE_CLUSTER = 60
    ADD_PARTITIONS_TO_TXN = 24
    ADD_OFFSETS_TO_TXN = 25
    END_TXN = 26
    WRITE_TXN_MARKERS = 27
    TXN_OFFSET_COMMIT = 28
    # The transaction admin APIs (kafka-transactions, KIP-664).
    DESCRIBE_PRODUCERS = 61
    DESCRIBE_TRANSACTIONS = 65
    LIST_TRANSACTIONS = 66
    # reflog's Raft messages between controllers (one-way: each answer is a message too).
    RAFT_VOTE = 10000
    RAFT_VOTE_RESPONSE = 10001
    RAFT_APPEND_ENTRIES = 10002
    RAFT_APPEND_ENTRIES_RESPONSE = 10003
    RAFT_INSTALL_SNAPSHOT = 10004
    RAFT_INSTALL_SNAPSHOT_RESPONSE = 10005
    # reflog's requests from brokers (and tools) to the controllers.
    BROKER_REGISTRATION = 10010
    BROKER_HEARTBEAT = 10011
    ALTER_PARTITION = 10012
    ALLOCATE_PRODUCER_IDS = 10013
    QUORUM_STATE = 10020
