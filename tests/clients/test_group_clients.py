"""Real Kafka clients in consumer groups against a `reflog broker`.

Three members of one group split a topic's six partitions without overlap, read every
record once and commit; after one member leaves (or, for kcat, is killed with SIGKILL),
the two left take its partitions over from the committed offsets: the next records are
read once, and none of the first ones again. A missing client is a failure here, never a
skip: these tests are the proof that consumer groups work with the clients people use.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reflog.groups.placement import OFFSETS_TOPIC
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
)
from tests.broker_process import BrokerProcess, running_broker
from tests.cluster_process import wait_for
from tests.net.wire_client import WireClient

from .group_members import (
    KcatMember,
    Member,
    aiokafka_member,
    confluent_member,
    kafka_python_member,
)

pytestmark = pytest.mark.clients

PARTITIONS = 6
PER_PHASE = 60
TIMEOUT = 60.0


def need(available: bool, what: str) -> None:
    if not available:
        pytest.fail(f"{what} is not installed: consumer groups must be tested with it")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("broker")
    with running_broker(
        data_dir,
        "--num-partitions",
        str(PARTITIONS),
        "--offsets-topic-num-partitions",
        "5",
        # Three members join one by one: do not wait 3 s for more after the first.
        "--group-initial-rebalance-delay-ms",
        "0",
    ) as b:
        yield b


def produce(bootstrap: str, topic: str, prefix: str) -> set[bytes]:
    import confluent_kafka

    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    values = {b"%s-%d" % (prefix.encode(), i) for i in range(PER_PHASE)}
    for i, value in enumerate(sorted(values)):
        producer.produce(topic, value=value, partition=i % PARTITIONS)
    assert producer.flush(20) == 0
    return values


def committed(bootstrap: str, group: str, topic: str) -> list[int]:
    """The group's committed offsets, asked of its coordinator (the only broker)."""
    client = WireClient(bootstrap)
    try:
        found = client.call(FindCoordinatorRequest(key=group))
        assert isinstance(found, FindCoordinatorResponse)
        request = OffsetFetchRequest(
            group_id=group,
            topics=[OffsetFetchRequestTopic(name=topic, partition_indexes=list(range(PARTITIONS)))],
        )
        response = client.call(request)
        assert isinstance(response, OffsetFetchResponse)
        assert response.error_code == ErrorCode.NONE
        return [p.committed_offset for p in response.topics[0].partitions]
    finally:
        client.close()


def split_without_overlap(members: list[Member]) -> bool:
    owned = [m.snapshot()[1] for m in members]
    every = [p for o in owned for p in o]
    return all(owned) and sorted(every) == list(range(PARTITIONS))


def wait_split(members: list[Member], what: str) -> None:
    try:
        wait_for(lambda: split_without_overlap(members), TIMEOUT, what)
    except AssertionError as exc:
        owned = {m.name: sorted(m.snapshot()[1]) for m in members}
        failures = {m.name: repr(m.failure) for m in members if m.failure is not None}
        raise AssertionError(f"{exc}; owned: {owned}; failures: {failures}") from exc


def values_read(members: list[Member]) -> list[bytes]:
    return [value for m in members for _, _, value in m.snapshot()[0]]


def check_failures(members: list[Member]) -> None:
    for m in members:
        assert m.failure is None, f"{m.name} failed: {m.failure!r}"


def run_group(
    broker: BrokerProcess,
    topic: str,
    start: Callable[[str], Member],
    *,
    kill: bool = False,
) -> None:
    group = f"{topic}-group"
    broker.create_topic(topic)
    members = [start(f"{topic}-{i}") for i in range(3)]
    try:
        wait_split(members, "three members to split")
        check_failures(members)

        first = produce(broker.bootstrap, topic, "a")
        wait_for(lambda: len(values_read(members)) >= PER_PHASE, TIMEOUT, "every record read")
        read = values_read(members)
        assert sorted(read) == sorted(first), "each record read exactly once"
        for m in members:
            records, owned = m.snapshot()
            assert {p for p, _, _ in records} <= owned, f"{m.name} read outside its partitions"
        each = PER_PHASE // PARTITIONS
        wait_for(
            lambda: committed(broker.bootstrap, group, topic) == [each] * PARTITIONS,
            TIMEOUT,
            "every offset committed",
        )

        gone, left = members[0], members[1:]
        if kill:
            gone.kill()
        else:
            gone.leave()
        wait_split(left, "the two left to take over")
        check_failures(left)

        second = produce(broker.bootstrap, topic, "b")
        wait_for(
            lambda: second <= set(values_read(left)),
            TIMEOUT,
            "the new records read by the two left",
        )
        after = [v for v in values_read(left) if v.startswith(b"b-")]
        assert sorted(after) == sorted(second), "each new record read exactly once"
        assert sorted(v for v in values_read(members) if v.startswith(b"a-")) == sorted(first), (
            "no old record read again: the two left started from the committed offsets"
        )
        wait_for(
            lambda: committed(broker.bootstrap, group, topic) == [2 * each] * PARTITIONS,
            TIMEOUT,
            "the new offsets committed",
        )
    finally:
        for m in members:
            with contextlib.suppress(Exception):  # a member killed on purpose, or gone
                m.leave()
    check_failures(members)


def test_confluent_kafka_members_with_the_range_assignor(broker: BrokerProcess) -> None:
    need(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    run_group(
        broker,
        "ck-range",
        lambda name: confluent_member(
            name, broker.bootstrap, "ck-range-group", "ck-range", "range"
        ),
    )


def test_confluent_kafka_members_with_cooperative_sticky(broker: BrokerProcess) -> None:
    need(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    run_group(
        broker,
        "ck-coop",
        lambda name: confluent_member(
            name, broker.bootstrap, "ck-coop-group", "ck-coop", "cooperative-sticky"
        ),
    )


def test_kafka_python_members(broker: BrokerProcess) -> None:
    need(importlib.util.find_spec("kafka") is not None, "kafka-python")
    run_group(
        broker, "kp", lambda name: kafka_python_member(name, broker.bootstrap, "kp-group", "kp")
    )


def test_aiokafka_members(broker: BrokerProcess) -> None:
    need(importlib.util.find_spec("aiokafka") is not None, "aiokafka")
    run_group(
        broker, "aio", lambda name: aiokafka_member(name, broker.bootstrap, "aio-group", "aio")
    )


def test_kcat_members_and_one_killed(broker: BrokerProcess) -> None:
    need(shutil.which("kcat") is not None, "kcat (Debian package kcat)")
    run_group(
        broker,
        "kc",
        lambda name: KcatMember(name, broker.bootstrap, "kc-group", "kc"),
        kill=True,
    )


def test_the_offsets_topic_is_internal_and_compacted(broker: BrokerProcess) -> None:
    from reflog.wire.messages.metadata import (
        MetadataRequest,
        MetadataRequestTopic,
        MetadataResponse,
    )

    client = WireClient(broker.bootstrap)
    try:
        client.call(FindCoordinatorRequest(key="any"))
        response = client.call(MetadataRequest(topics=[MetadataRequestTopic(name=OFFSETS_TOPIC)]))
        assert isinstance(response, MetadataResponse)
        [topic] = response.topics
        assert topic.is_internal and len(topic.partitions) == 5
    finally:
        client.close()


def test_librdkafka_sends_lz4_batches_compressed_to_a_broker_with_find_coordinator(
    broker: BrokerProcess,
) -> None:
    # librdkafka enables LZ4 only for a broker that advertises FindCoordinator; without it
    # the batches went out uncompressed ("Broker does not support compression type lz4").
    need(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    import confluent_kafka

    from reflog.records.batch import iter_batches

    broker.create_topic("lz4")
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": broker.bootstrap, "compression.type": "lz4", "linger.ms": 50}
    )
    for i in range(100):
        producer.produce("lz4", value=b"compressible " * 20 + b"%d" % i, partition=0)
    assert producer.flush(20) == 0
    log_file = broker.data_dir / "lz4-0" / f"{0:020d}.log"
    batches = list(iter_batches(log_file.read_bytes()))
    assert batches and sum(b.record_count for b in batches) == 100
    lz4 = 3  # the codec in attribute bits 0-2
    assert {b.compression for b in batches} == {lz4}


def test_admin_clients_list_and_describe_groups_and_their_offsets(broker: BrokerProcess) -> None:
    need(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    need(importlib.util.find_spec("kafka") is not None, "kafka-python")
    from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient
    from kafka import KafkaAdminClient

    broker.create_topic("adm")
    member = confluent_member("adm-0", broker.bootstrap, "adm-group", "adm", "range")
    try:
        wait_for(lambda: member.snapshot()[1] == set(range(PARTITIONS)), TIMEOUT, "assigned")
        produce(broker.bootstrap, "adm", "a")
        each = PER_PHASE // PARTITIONS
        wait_for(
            lambda: committed(broker.bootstrap, "adm-group", "adm") == [each] * PARTITIONS,
            TIMEOUT,
            "every offset committed",
        )
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        listed = admin.list_consumer_groups().result(timeout=10)
        assert "adm-group" in {g.group_id for g in listed.valid}
        described = admin.describe_consumer_groups(["adm-group"])["adm-group"].result(timeout=10)
        assert described.state == ConsumerGroupState.STABLE
        assert described.partition_assignor == "range"
        [m] = described.members
        assert sorted(tp.partition for tp in m.assignment.topic_partitions) == list(
            range(PARTITIONS)
        )
        offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("adm-group")])
        result = offsets["adm-group"].result(timeout=10)
        assert sorted((tp.partition, tp.offset) for tp in result.topic_partitions) == [
            (p, each) for p in range(PARTITIONS)
        ]

        kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        try:
            assert {"group_id": "adm-group", "protocol_type": "consumer"} in kp.list_groups()
            state = kp.describe_groups(["adm-group"])["adm-group"]["group_state"]
            assert state == "Stable"
            kp_offsets = kp.list_group_offsets("adm-group")["adm-group"]
            assert sorted((tp.partition, o.offset) for tp, o in kp_offsets.items()) == [
                (p, each) for p in range(PARTITIONS)
            ]
        finally:
            kp.close()
    finally:
        member.leave()
    check_failures([member])


def test_a_static_member_restarted_within_its_session_keeps_its_partitions_without_a_rebalance(
    broker: BrokerProcess,
) -> None:
    need(importlib.util.find_spec("confluent_kafka") is not None, "confluent-kafka")
    broker.create_topic("st")

    def start(name: str, instance: str) -> Member:
        return confluent_member(name, broker.bootstrap, "st-group", "st", "range", instance)

    stays, restarts = start("st-a", "instance-a"), start("st-b", "instance-b")
    members = [stays, restarts]
    try:
        wait_split(members, "two static members to split")
        kept, before = restarts.snapshot()[1], stays.rebalances
        restarts.leave()  # a static member's close sends no LeaveGroup: its place waits
        again = start("st-b-again", "instance-b")
        members.append(again)
        wait_for(lambda: again.snapshot()[1] == kept, TIMEOUT, "the same partitions back")
        assert stays.rebalances == before, "the other member saw no rebalance"
        produce(broker.bootstrap, "st", "a")
        wait_for(lambda: len(values_read([stays, again])) >= PER_PHASE, TIMEOUT, "all read")
        assert stays.rebalances == before
    finally:
        for m in members:
            m.leave()
    check_failures(members)
