"""Every admin API with confluent-kafka's AdminClient and kafka-python's KafkaAdminClient
against a 3-broker `reflog cluster up`.

One cluster serves the whole module (each test uses its own topics). Bad input is
answered with Kafka's error code and Kafka's message: an unknown config name, an invalid
value, a replication factor above the broker count, a reassignment naming a broker that
does not exist, a decrease of the partition count. A missing client fails these tests
(their imports fail), it does not skip them.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection
from confluent_kafka import ElectionType as ConfluentElectionType
from confluent_kafka import TopicPartition as ConfluentTP
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)
from kafka.admin import ConfigResource as KafkaConfigResource
from kafka.admin import ConfigResourceType, KafkaAdminClient
from kafka.admin import NewPartitions as KafkaNewPartitions
from kafka.admin import NewTopic as KafkaNewTopic
from kafka.errors import InvalidPartitionsError, UnknownTopicIdError, UnknownTopicOrPartitionError
from kafka.structs import TopicPartition as KafkaTP

from tests.cluster_process import ClusterProcess, running_cluster, wait_for

FAST = (
    "--broker-session-timeout-ms", "2000",
    "--broker-heartbeat-interval-ms", "200",
    "--election-timeout-ms", "300",
)  # fmt: skip
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("admin-cluster")
    with running_cluster(data_dir, 3, 1, *FAST) as c:
        wait_for(lambda: c.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        yield c


@pytest.fixture
def admin(cluster: ClusterProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap})


@pytest.fixture
def kadmin(cluster: ClusterProcess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    yield client
    client.close()


def new_topic(admin: AdminClient, partitions: int = 1, replication: int = 3, **config: str) -> str:
    name = f"admin-{next(_names)}"
    admin.create_topics([NewTopic(name, partitions, replication, config=config)])[name].result(15)
    wait_for(lambda: leaders(admin, name).keys() == set(range(partitions)), 15, "leaders")
    return name


def leaders(admin: AdminClient, topic: str) -> dict[int, int]:
    described = admin.list_topics(topic, timeout=5).topics.get(topic)
    if described is None or described.error is not None:
        return {}
    return {p: m.leader for p, m in described.partitions.items() if m.leader >= 0}


def replicas(admin: AdminClient, topic: str) -> dict[int, tuple[list[int], list[int]]]:
    described = admin.list_topics(topic, timeout=5).topics[topic]
    return {p: (list(m.replicas), list(m.isrs)) for p, m in described.partitions.items()}


def topic_config(admin: AdminClient, topic: str) -> dict[str, Any]:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs: dict[str, Any] = admin.describe_configs([resource])[resource].result(15)
    return configs


def kafka_error(future: Any) -> Any:
    """The KafkaError a confluent-kafka future failed with."""
    with pytest.raises(KafkaException) as raised:
        future.result(15)
    return raised.value.args[0]


def watermarks(cluster: ClusterProcess, topic: str, partition: int = 0) -> tuple[int, int]:
    """The partition's (log start, high watermark), once its leader answers for it (a broker
    applies a new topic a moment after the controller commits it)."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "g"})
    found: list[tuple[int, int]] = []

    def ask() -> bool:
        try:
            found.append(consumer.get_watermark_offsets(ConfluentTP(topic, partition), timeout=5))
        except KafkaException:
            return False
        return True

    try:
        wait_for(ask, 15, f"the watermarks of {topic}-{partition}")
    finally:
        consumer.close()
    return found[-1]


def partition_dirs(cluster: ClusterProcess, topic: str) -> list[Path]:
    # One level down (broker-N/topic-P): a recursive glob would walk into a partition
    # directory a broker is deleting at that moment, and fail.
    return sorted(cluster.data_dir.glob(f"*/{topic}-[0-9]*"))


def produce(cluster: ClusterProcess, topic: str, count: int, partition: int = 0) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(count):
        producer.produce(topic, f"v{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


# -- configs ------------------------------------------------------------------------------
def test_confluent_describes_a_topics_configs_with_their_sources(admin: AdminClient) -> None:
    topic = new_topic(admin, **{"retention.ms": "60000"})
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(15)
    assert configs["retention.ms"].value == "60000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["min.insync.replicas"].value == "1"
    assert configs["min.insync.replicas"].source == ConfigSource.DEFAULT_CONFIG.value


def test_confluent_incremental_alter_takes_effect_live_and_refuses_unknown_names_and_bad_values(
    cluster: ClusterProcess, admin: AdminClient
) -> None:
    topic = new_topic(admin)
    setting = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("min.insync.replicas", "3", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([setting])[setting].result(15)
    # Committed; each broker applies it when the metadata reaches it, as in Kafka.
    wait_for(lambda: topic_config(admin, topic)["min.insync.replicas"].value == "3", 15, "3")
    # Every broker's copy of the partition applies it from now on.
    wait_for(
        lambda: (
            all(
                "min.insync.replicas=3" in (d / "topic.properties").read_text()
                for d in partition_dirs(cluster, topic)
            )
            and len(partition_dirs(cluster, topic)) == 3
        ),
        15,
        "the config on every replica's disk",
    )

    unknown = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("no.such.config", "1", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    error = kafka_error(admin.incremental_alter_configs([unknown])[unknown])
    assert error.code() == 40  # INVALID_CONFIG
    assert error.str() == "Unknown topic config name: no.such.config"

    bad = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    error = kafka_error(admin.incremental_alter_configs([bad])[bad])
    assert error.code() == 40
    assert error.str() == (
        "Invalid value soon for configuration retention.ms: Not a number of type LONG"
    )


def test_confluent_alter_configs_replaces_the_overrides(admin: AdminClient) -> None:
    topic = new_topic(admin, **{"retention.ms": "60000"})
    replace = ConfigResource(ResourceType.TOPIC, topic, set_config={"cleanup.policy": "compact"})
    admin.alter_configs([replace])[replace].result(15)
    wait_for(lambda: topic_config(admin, topic)["cleanup.policy"].value == "compact", 15, "it")
    configs = topic_config(admin, topic)
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value  # gone

    bad = ConfigResource(ResourceType.TOPIC, topic, set_config={"min.insync.replicas": "0"})
    error = kafka_error(admin.alter_configs([bad])[bad])
    assert error.code() == 40
    assert error.str() == (
        "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"
    )


def test_confluent_sets_a_dynamic_broker_config_that_the_brokers_logs_follow(
    cluster: ClusterProcess, admin: AdminClient
) -> None:
    topic = new_topic(admin)

    def set_retention(value: str | None) -> None:
        op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
        resource = ConfigResource(
            ResourceType.BROKER,
            "1",
            incremental_configs=[ConfigEntry("log.retention.ms", value, incremental_operation=op)],
        )
        admin.incremental_alter_configs([resource])[resource].result(15)

    def broker_config() -> Any:
        resource = ConfigResource(ResourceType.BROKER, "1")
        return admin.describe_configs([resource])[resource].result(15)["log.retention.ms"]

    set_retention("123456")
    try:
        wait_for(lambda: broker_config().value == "123456", 15, "broker 1's retention")
        assert broker_config().source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
        on_broker_1 = cluster.data_dir / "broker-1"
        wait_for(
            lambda: (
                "retention.ms=123456"
                in next(on_broker_1.glob(f"**/{topic}-0/topic.properties")).read_text()
            ),
            15,
            "broker 1's copy following it",
        )
    finally:
        set_retention(None)
    wait_for(lambda: broker_config().source == ConfigSource.DEFAULT_CONFIG.value, 15, "reset")


def test_kafka_python_describes_and_alters_topic_configs(kadmin: KafkaAdminClient) -> None:
    name = f"admin-{next(_names)}"
    kadmin.create_topics([KafkaNewTopic(name, 1, 3)])

    def retention() -> dict[str, Any]:
        resource = KafkaConfigResource(ConfigResourceType.TOPIC, name)
        try:
            described = kadmin.describe_configs([resource], config_filter="all")
        except UnknownTopicOrPartitionError:
            return {}  # the broker asked has not applied the new topic yet
        return dict(described["topic"][name].get("retention.ms", {}))

    # kafka-python checks the names against a DescribeConfigs first: wait for the topic.
    wait_for(lambda: bool(retention()), 15, "the topic described")
    resource = KafkaConfigResource(ConfigResourceType.TOPIC, name, {"retention.ms": "5000"})
    kadmin.alter_configs([resource])
    wait_for(lambda: retention().get("value") == "5000", 15, "retention.ms 5000")
    assert retention()["config_source"] == "DYNAMIC_TOPIC_CONFIG"


# -- topics and partitions ----------------------------------------------------------------
def test_a_replication_factor_above_the_broker_count_is_refused(admin: AdminClient) -> None:
    error = kafka_error(admin.create_topics([NewTopic("too-wide", 1, 4)])["too-wide"])
    assert error.code() == 38  # INVALID_REPLICATION_FACTOR
    assert error.str() == (
        "Unable to replicate the partition 4 time(s): The target replication factor of 4 "
        "cannot be reached because only 3 broker(s) are registered."
    )


def test_deleting_a_topic_removes_its_partitions_from_every_broker_and_it_can_be_created_again(
    cluster: ClusterProcess, admin: AdminClient
) -> None:
    topic = new_topic(admin, partitions=2)
    produce(cluster, topic, 5)
    wait_for(lambda: len(partition_dirs(cluster, topic)) == 6, 15, "6 replicas on disk")
    admin.delete_topics([topic])[topic].result(15)
    wait_for(lambda: not partition_dirs(cluster, topic), 15, "the partitions gone from disk")
    assert topic not in admin.list_topics(timeout=5).topics
    admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(15)
    wait_for(lambda: leaders(admin, topic).keys() == {0}, 15, "the new topic's leader")
    assert watermarks(cluster, topic) == (0, 0)  # nothing of the old topic came back


def confluent_topic_id(admin: AdminClient, topic: str) -> uuid.UUID:
    """The id confluent-kafka's describe_topics (Metadata v10+) shows for ``topic``."""
    described = admin.describe_topics(TopicCollection([topic]))[topic].result(15)
    bits = described.topic_id
    msb, lsb = bits.get_most_significant_bits(), bits.get_least_significant_bits()
    return uuid.UUID(int=(msb % 2**64) << 64 | lsb % 2**64)


def test_both_clients_see_a_topics_id_and_kafka_python_deletes_a_topic_by_it(
    cluster: ClusterProcess, admin: AdminClient, kadmin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, partitions=2)
    topic_id = confluent_topic_id(admin, topic)
    assert topic_id != uuid.UUID(int=0)

    # kafka-python may ask a broker that has not applied the new topic yet (an error, no id).
    def kafka_python_shows_it(asked: str | uuid.UUID) -> bool:
        [found] = kadmin.describe_topics([asked])
        shown = (found["name"], found["topic_id"], len(found["partitions"]))
        return shown == (topic, str(topic_id), 2)  # kafka-python shows ids as strings

    wait_for(lambda: kafka_python_shows_it(topic), 15, "kafka-python to show the id")
    wait_for(lambda: kafka_python_shows_it(topic_id), 15, "it by id")  # v12: by id alone
    # The id on disk, in each replica's partition.metadata, is the same id.
    for meta in cluster.data_dir.glob(f"*/{topic}-0/partition.metadata"):
        encoded = meta.read_text().split("topic_id: ")[1].strip()
        assert uuid.UUID(bytes=base64.urlsafe_b64decode(encoded + "==")) == topic_id

    deleted = kadmin.delete_topics([topic_id])  # DeleteTopics v6: by id
    assert [(t["name"], uuid.UUID(t["topic_id"]), t["error_code"]) for t in deleted["topics"]] == [
        (topic, topic_id, 0)
    ]
    wait_for(lambda: not partition_dirs(cluster, topic), 15, "the partitions gone from disk")
    with pytest.raises(UnknownTopicIdError):
        kadmin.delete_topics([topic_id])
    # Created again under the same name, it is a new topic with a new id.
    admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(15)
    wait_for(lambda: leaders(admin, topic).keys() == {0}, 15, "the new topic's leader")
    assert confluent_topic_id(admin, topic) not in (topic_id, uuid.UUID(int=0))


def test_kafka_python_deleting_an_unknown_topic_is_unknown_topic_or_partition(
    kadmin: KafkaAdminClient,
) -> None:
    with pytest.raises(UnknownTopicOrPartitionError, match="does not host this topic-partition"):
        kadmin.delete_topics(["never-created"])


def test_confluent_adds_partitions_and_a_decrease_is_invalid_partitions(
    admin: AdminClient,
) -> None:
    topic = new_topic(admin, partitions=2)
    admin.create_partitions([NewPartitions(topic, 4)])[topic].result(15)
    wait_for(lambda: leaders(admin, topic).keys() == {0, 1, 2, 3}, 15, "4 partitions led")
    assert all(len(r) == 3 for r, _ in replicas(admin, topic).values())
    error = kafka_error(admin.create_partitions([NewPartitions(topic, 3)])[topic])
    assert error.code() == 37  # INVALID_PARTITIONS
    assert error.str() == "Topic currently has 4 partitions, which is higher than the requested 3."


def test_kafka_python_adds_partitions_and_a_decrease_is_invalid_partitions(
    admin: AdminClient, kadmin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, partitions=1)
    kadmin.create_partitions({topic: KafkaNewPartitions(3)})
    wait_for(lambda: leaders(admin, topic).keys() == {0, 1, 2}, 15, "3 partitions led")
    with pytest.raises(InvalidPartitionsError, match="higher than the requested 2"):
        kadmin.create_partitions({topic: KafkaNewPartitions(2)})


def test_both_clients_describe_the_cluster(
    cluster: ClusterProcess, admin: AdminClient, kadmin: KafkaAdminClient
) -> None:
    described = admin.describe_cluster().result(15)
    assert sorted(n.id for n in described.nodes) == [1, 2, 3]
    assert described.cluster_id
    theirs = kadmin.describe_cluster()
    assert sorted(b["broker_id"] for b in theirs["brokers"]) == [1, 2, 3]
    assert theirs["cluster_id"] == described.cluster_id


# -- records and leaders ------------------------------------------------------------------
def test_delete_records_moves_the_log_start_offset_on_every_replica(
    cluster: ClusterProcess, admin: AdminClient, kadmin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, partitions=2)
    produce(cluster, topic, 10, partition=0)
    produce(cluster, topic, 10, partition=1)
    deleted = admin.delete_records([ConfluentTP(topic, 0, 4)])
    (future,) = deleted.values()
    assert future.result(15).low_watermark == 4
    theirs = kadmin.delete_records({KafkaTP(topic, 1): 7})
    assert theirs[KafkaTP(topic, 1)]["low_watermark"] == 7
    assert watermarks(cluster, topic) == (4, 10)

    # The followers copy the new log start from their next fetch, and keep it on disk.
    def log_starts() -> set[str]:
        return {
            (d / "log-start-offset").read_text().strip()
            for d in partition_dirs(cluster, topic)
            if d.name.endswith("-0") and (d / "log-start-offset").exists()
        }

    produce(cluster, topic, 1, partition=0)  # a fetch to carry it
    wait_for(lambda: log_starts() == {"4"} and len(partition_dirs(cluster, topic)) == 6, 15,
             "every replica of partition 0 starting at 4")  # fmt: skip

    error = admin.delete_records([ConfluentTP(topic, 0, 999)])
    (future,) = error.values()
    assert kafka_error(future).code() == 1  # OFFSET_OUT_OF_RANGE


def test_preferred_election_moves_leadership_back_after_a_broker_returns(
    cluster: ClusterProcess, admin: AdminClient, kadmin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, partitions=3)
    first = replicas(admin, topic)
    preferred = {p: r[0] for p, (r, _) in first.items()}
    assert leaders(admin, topic) == preferred
    results = admin.elect_leaders(ConfluentElectionType.PREFERRED, [ConfluentTP(topic, 0)])
    outcome = results.result(15)
    (error,) = outcome.values()
    assert error is not None and error.code() == 84  # ELECTION_NOT_NEEDED

    victim = preferred[0]
    cluster.kill(f"broker-{victim}")
    wait_for(lambda: leaders(admin, topic).get(0, victim) != victim, 30, "a new leader")
    cluster.restart(f"broker-{victim}")
    wait_for(lambda: victim in replicas(admin, topic)[0][1], 60, "the old leader back in sync")
    assert leaders(admin, topic)[0] != victim
    outcome = admin.elect_leaders(
        ConfluentElectionType.PREFERRED, [ConfluentTP(topic, p) for p in range(3)]
    ).result(15)
    assert all(e is None or e.code() == 84 for e in outcome.values())
    wait_for(lambda: leaders(admin, topic) == preferred, 15, "the preferred leaders back")
    # kafka-python asks the same: every partition already has its preferred leader.
    theirs = kadmin.elect_leaders(0, {topic: [0]}, raise_errors=False)
    assert [r.error_code for t in theirs.replica_election_results for r in t.partition_result] == [
        84
    ]


# -- reassignments ------------------------------------------------------------------------
def test_kafka_python_reassigns_a_partition_under_writes_and_refuses_a_missing_broker(
    cluster: ClusterProcess, admin: AdminClient, kadmin: KafkaAdminClient
) -> None:
    topic = new_topic(admin, partitions=1, replication=2)
    produce(cluster, topic, 50)
    ((old, _),) = replicas(admin, topic).values()
    (newcomer,) = {1, 2, 3} - set(old)
    target = [newcomer, old[1]]
    answer = kadmin.alter_partition_reassignments({KafkaTP(topic, 0): target})
    assert answer == {KafkaTP(topic, 0): None}
    produce(cluster, topic, 50)
    wait_for(lambda: replicas(admin, topic)[0][0] == target, 30, "the reassignment done")
    wait_for(lambda: leaders(admin, topic)[0] == newcomer, 15, "the new preferred leader")
    wait_for(lambda: kadmin.list_partition_reassignments() == {}, 15, "none listed as ongoing")
    wait_for(lambda: len(partition_dirs(cluster, topic)) == 2, 15, "the old replica deleted")
    on_disk = {d.parent.name for d in partition_dirs(cluster, topic)}
    assert len(on_disk) == 2
    # The moved replica holds every acknowledged record.
    assert watermarks(cluster, topic) == (0, 100)

    refused = kadmin.alter_partition_reassignments({KafkaTP(topic, 0): [newcomer, 9]})
    error = refused[KafkaTP(topic, 0)]
    assert error is not None and error.errno == 39  # INVALID_REPLICA_ASSIGNMENT
    assert replicas(admin, topic)[0][0] == target
