"""kafka-python's transaction admin calls (KIP-664, what ``kafka-transactions.sh`` does)
against a 3-broker `reflog cluster up`, while real transactional producers write.

``describe_producers`` shows the producer id with the last sequence it wrote, from the
leader or from a follower named by id; ``list_transactions`` and ``describe_transactions``
show an open transaction as Ongoing with its partitions, and CompleteCommit once it is
committed; ``abort_transaction`` ends a hanging transaction (WriteTxnMarkers to the
partition's leader), after which a ``read_committed`` consumer reads past it. Errors are
Kafka's. A missing client fails these tests (their imports fail), it does not skip them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import AbortTransactionSpec, KafkaAdminClient, NewTopic, TransactionState
from kafka.errors import (
    KafkaError,
    NotLeaderForPartitionError,
    TransactionalIdNotFoundError,
    UnknownTopicOrPartitionError,
)
from kafka.structs import TopicPartition

from tests.cluster_process import ClusterProcess, running_cluster, wait_for

from .test_admin_clients import FAST

pytestmark = pytest.mark.clients

_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("txn-admin-cluster")
    with running_cluster(data_dir, 3, 1, *FAST) as c:
        wait_for(lambda: c.active_controller() is not None, 30, "an active controller")
        yield c


@pytest.fixture
def admin(cluster: ClusterProcess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    wait_for(lambda: len(client.describe_cluster()["brokers"]) == 3, 30, "3 live brokers")
    yield client
    client.close()


def new_topic(admin: KafkaAdminClient, replicas: int) -> str:
    name = f"txn-admin-{next(_names)}"
    admin.create_topics([NewTopic(name, 1, replicas)])
    wait_for(lambda: leader(admin, name) >= 0, 20, f"a leader for {name}")
    return name


def leader(admin: KafkaAdminClient, topic: str) -> int:
    for t in admin.describe_topics([topic]):
        for p in t["partitions"]:
            if p["partition_index"] == 0:
                return int(p["leader_id"])
    return -1


def replicas(admin: KafkaAdminClient, topic: str) -> list[int]:
    [t] = admin.describe_topics([topic])
    [p] = t["partitions"]
    return list(p["replica_nodes"])


def transactional_producer(cluster: ClusterProcess, transactional_id: str) -> KafkaProducer:
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, transactional_id=transactional_id)
    producer.init_transactions()
    return producer


def listed(admin: KafkaAdminClient, transactional_id: str) -> list[tuple[int, str]]:
    """(producer id, state) of ``transactional_id`` in every broker's ListTransactions."""
    return [
        (t.producer_id, t.state.value)
        for listings in admin.list_transactions().values()
        for t in listings
        if t.transactional_id == transactional_id
    ]


def test_describe_producers_shows_the_last_sequence_each_producer_wrote_on_leader_and_follower(
    cluster: ClusterProcess, admin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, replicas=3)
    tp = TopicPartition(topic, 0)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    for i in range(7):
        producer.send(topic, value=b"v%d" % i, partition=0)
    producer.flush()
    producer.close()

    [state] = admin.describe_producers([tp])[tp].active_producers
    assert state.producer_epoch == 0
    assert state.last_sequence == 6  # seven records, sequences 0..6
    assert state.current_transaction_start_offset == -1  # idempotent: no transaction
    assert state.coordinator_epoch == -1  # no marker ever
    assert abs(state.last_timestamp - time.time() * 1000) < 60_000
    # A follower holds the same table: it replays the leader's batches.
    follower = next(b for b in replicas(admin, topic) if b != leader(admin, topic))
    on_follower = admin.describe_producers([tp], broker_id=follower)[tp].active_producers
    assert on_follower == [state]


def test_describe_producers_answers_kafkas_errors_for_a_non_replica_and_an_unknown_partition(
    admin: KafkaAdminClient,
) -> None:
    topic = new_topic(admin, replicas=1)
    [only] = replicas(admin, topic)
    brokers = [b["broker_id"] for b in admin.describe_cluster()["brokers"]]
    other = next(b for b in brokers if b != only)

    def refusal(tp: TopicPartition, broker: int) -> type[KafkaError] | None:
        try:
            admin.describe_producers([tp], broker_id=broker)
        except KafkaError as error:
            return type(error)
        return None

    # Until its metadata has the new topic, the other broker does not know the partition.
    tp = TopicPartition(topic, 0)
    wait_for(
        lambda: refusal(tp, other) is not UnknownTopicOrPartitionError,
        20,
        f"broker {other} to learn of {topic}",
    )
    assert refusal(tp, other) is NotLeaderForPartitionError  # NOT_LEADER_OR_FOLLOWER (6)
    assert refusal(TopicPartition(topic, 5), only) is UnknownTopicOrPartitionError


def test_an_open_transaction_is_listed_and_described_as_ongoing_then_as_complete_commit(
    cluster: ClusterProcess, admin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, replicas=3)
    producer = transactional_producer(cluster, "admin-ongoing")
    producer.begin_transaction()
    for i in range(3):
        producer.send(topic, value=b"t%d" % i, partition=0)
    producer.flush()

    [(producer_id, state)] = listed(admin, "admin-ongoing")
    assert state == "Ongoing"
    description = admin.describe_transactions(["admin-ongoing"])["admin-ongoing"]
    assert description.state is TransactionState.ONGOING
    assert description.producer_id == producer_id
    assert description.producer_epoch == 0
    assert description.transaction_timeout_ms == 60_000  # kafka-python's default
    assert description.topic_partitions == {TopicPartition(topic, 0)}
    assert abs(description.transaction_start_time_ms - time.time() * 1000) < 60_000
    # The state filter keeps it; another state or another producer id does not.
    assert any(
        t.transactional_id == "admin-ongoing"
        for ts in admin.list_transactions(state_filters=["Ongoing"]).values()
        for t in ts
    )
    for kwargs in ({"state_filters": ["CompleteCommit"]}, {"producer_id_filters": [-5]}):
        everywhere = admin.list_transactions(**kwargs).values()
        assert all(t.transactional_id != "admin-ongoing" for ts in everywhere for t in ts)
    # kafka-python's find_hanging_transactions (list, then describe) counts a transaction
    # older than the timeout plus 5 minutes: with a timeout of minus 5 minutes, this one.
    [suspect] = [
        h
        for h in admin.find_hanging_transactions(max_transaction_timeout_ms=-5 * 60 * 1000)
        if h["transactional_id"] == "admin-ongoing"
    ]
    assert (suspect["producer_id"], suspect["state"]) == (producer_id, "Ongoing")
    assert suspect["topic_partitions"] == [TopicPartition(topic, 0)]
    assert admin.find_hanging_transactions() == []  # none is 20 minutes old
    # The partition's producer table shows where the open transaction starts.
    tp = TopicPartition(topic, 0)
    [open_here] = admin.describe_producers([tp])[tp].active_producers
    assert (open_here.producer_id, open_here.current_transaction_start_offset) == (producer_id, 0)

    producer.commit_transaction()
    wait_for(
        lambda: listed(admin, "admin-ongoing") == [(producer_id, "CompleteCommit")],
        20,
        "CompleteCommit in ListTransactions",
    )
    done = admin.describe_transactions(["admin-ongoing"])["admin-ongoing"]
    assert done.state is TransactionState.COMPLETE_COMMIT
    assert done.topic_partitions == set()  # a complete transaction has no partitions left
    [closed] = admin.describe_producers([tp])[tp].active_producers
    assert closed.current_transaction_start_offset == -1
    assert closed.coordinator_epoch >= 0  # the coordinator's marker carried its epoch
    producer.close()


def test_describe_transactions_of_an_unknown_id_is_transactional_id_not_found(
    admin: KafkaAdminClient,
) -> None:
    with pytest.raises(TransactionalIdNotFoundError):
        admin.describe_transactions(["never-used-here"])


def read_committed(cluster: ClusterProcess, topic: str, expect: int) -> list[bytes]:
    """What a read_committed kafka-python consumer reads of partition 0, until ``expect``
    values arrive or 20 s pass."""
    consumer = KafkaConsumer(
        bootstrap_servers=cluster.bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    consumer.assign([TopicPartition(topic, 0)])
    got: list[bytes] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(got) < expect:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(r.value for r in records)
    consumer.close()
    return got


def test_abort_transaction_ends_a_hanging_transaction_and_read_committed_reads_past_it(
    cluster: ClusterProcess, admin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, replicas=3)
    tp = TopicPartition(topic, 0)
    hanging = transactional_producer(cluster, "admin-hanging")
    hanging.begin_transaction()
    hanging.send(topic, value=b"never-committed", partition=0)
    hanging.flush()  # and then the producer says nothing more: the transaction hangs
    after = KafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    for i in range(3):
        after.send(topic, value=b"after-%d" % i, partition=0)
    after.flush()
    after.close()

    # Found as kafka-transactions.sh finds it: the open transaction's start offset.
    [stuck] = [
        p
        for p in admin.describe_producers([tp])[tp].active_producers
        if p.current_transaction_start_offset >= 0
    ]
    assert stuck.current_transaction_start_offset == 0
    # As the Java tool: a coordinator epoch of -1 (no marker yet) is sent as 0.
    admin.abort_transaction(
        AbortTransactionSpec(
            tp, stuck.producer_id, stuck.producer_epoch, max(stuck.coordinator_epoch, 0)
        )
    )

    assert read_committed(cluster, topic, 3) == [b"after-0", b"after-1", b"after-2"]
    [aborted] = [
        p
        for p in admin.describe_producers([tp])[tp].active_producers
        if p.producer_id == stuck.producer_id
    ]
    assert aborted.current_transaction_start_offset == -1
    hanging.close(timeout=1)
