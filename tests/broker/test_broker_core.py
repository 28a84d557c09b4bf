"""The broker core answers Kafka requests with Kafka's results and error codes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.records import build_batch, iter_batches
from reflog.records.file_slice import FileSlice
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)

from .conftest import Client, LoneBroker


def produce(topic: str, partition: int, records: bytes, acks: int = 1) -> ProduceRequest:
    return ProduceRequest(
        transactional_id=None,
        acks=acks,
        timeout_ms=1000,
        topic_data=[
            TopicProduceData(
                name=topic, partition_data=[PartitionProduceData(index=partition, records=records)]
            )
        ],
    )


def fetch(
    topic: str, partition: int, offset: int, max_wait_ms: int = 0, min_bytes: int = 1
) -> FetchRequest:
    return FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=min_bytes,
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[
                    FetchPartition(
                        partition=partition, fetch_offset=offset, partition_max_bytes=1 << 20
                    )
                ],
            )
        ],
    )


def create(
    client: Client, name: str, partitions: int = 1, configs: dict[str, str] | None = None
) -> None:
    topic = CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=1,
        configs=[CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
    )
    [r] = client.send(CreateTopicsRequest(topics=[topic], timeout_ms=1000))
    assert isinstance(r.response, CreateTopicsResponse)
    assert r.response.topics[0].error_code == ErrorCode.NONE


def batch(*values: bytes) -> bytes:
    return build_batch([(None, v, 1000 + i) for i, v in enumerate(values)])


def fetched_values(response: FetchResponse) -> list[bytes | None]:
    records = response.responses[0].partitions[0].records
    assert isinstance(records, FileSlice)
    return [r.value for b in iter_batches(records.read()) for r in b.records()]


def test_metadata_auto_creates_an_unknown_topic_with_num_partitions(client: Client) -> None:
    ask = MetadataRequest(topics=[MetadataRequestTopic(name="orders")])
    [first] = client.send(ask)
    assert isinstance(first.response, MetadataResponse)
    # As in Kafka: not there yet, the controller is creating it; the client asks again.
    assert first.response.topics[0].error_code == ErrorCode.LEADER_NOT_AVAILABLE
    [again] = client.send(ask)
    assert isinstance(again.response, MetadataResponse)
    [topic] = again.response.topics
    assert topic.error_code == ErrorCode.NONE
    assert [p.partition_index for p in topic.partitions] == [0, 1]
    assert all(p.leader_id == 0 and p.isr_nodes == [0] for p in topic.partitions)
    assert [b.node_id for b in again.response.brokers] == [0]


def test_metadata_does_not_create_when_auto_creation_is_disabled(tmp_path: Path) -> None:
    lone = LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path, auto_create_topics_enable=False))
    [r] = Client(lone).send(MetadataRequest(topics=[MetadataRequestTopic(name="orders")]))
    assert isinstance(r.response, MetadataResponse)
    assert r.response.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_metadata_v12_names_each_topic_by_id_and_answers_a_topic_asked_for_by_id(
    client: Client,
) -> None:
    create(client, "orders")
    [by_name] = client.send(MetadataRequest(topics=[MetadataRequestTopic(name="orders")]))
    assert isinstance(by_name.response, MetadataResponse)
    [topic] = by_name.response.topics
    assert (
        topic.topic_id == client.lone.controller.image.topics["orders"].topic_id != uuid.UUID(int=0)
    )
    ask = MetadataRequest(
        topics=[
            MetadataRequestTopic(name=None, topic_id=topic.topic_id),
            MetadataRequestTopic(name=None, topic_id=uuid.UUID(int=42)),
        ]
    )
    [by_id] = client.send(ask, version=12)
    assert isinstance(by_id.response, MetadataResponse)
    known, unknown = by_id.response.topics
    assert (known.error_code, known.name, known.topic_id) == (0, "orders", topic.topic_id)
    assert [p.leader_id for p in known.partitions] == [0]
    # An unknown id is not auto-created: no name to create it under.
    assert (unknown.error_code, unknown.name) == (ErrorCode.UNKNOWN_TOPIC_ID, None)
    # Before v12, Kafka takes no ids.
    [v11] = client.send(ask, version=11)
    assert isinstance(v11.response, MetadataResponse)
    assert [t.error_code for t in v11.response.topics] == [ErrorCode.INVALID_REQUEST] * 2


def test_create_topics_v7_answers_what_it_made_and_the_new_topics_id(client: Client) -> None:
    topics = [
        CreatableTopic(name="made", num_partitions=3, replication_factor=1),
        CreatableTopic(name="bad", num_partitions=1, replication_factor=2),
    ]
    [r] = client.send(CreateTopicsRequest(topics=topics), version=7)
    assert isinstance(r.response, CreateTopicsResponse)
    made, bad = r.response.topics
    topic_id = client.lone.controller.image.topics["made"].topic_id
    assert (made.error_code, made.topic_id, made.num_partitions, made.replication_factor) == (
        ErrorCode.NONE,
        topic_id,
        3,
        1,
    )
    assert topic_id != uuid.UUID(int=0)
    assert (bad.error_code, bad.topic_id, bad.num_partitions, bad.replication_factor) == (
        ErrorCode.INVALID_REPLICATION_FACTOR,
        uuid.UUID(int=0),
        -1,
        -1,
    )


def test_produce_assigns_consecutive_offsets_and_fetch_returns_them(client: Client) -> None:
    create(client, "t")
    [a] = client.send(produce("t", 0, batch(b"a", b"b")))
    [b] = client.send(produce("t", 0, batch(b"c")))
    assert isinstance(a.response, ProduceResponse) and isinstance(b.response, ProduceResponse)
    assert a.response.responses[0].partition_responses[0].base_offset == 0
    assert b.response.responses[0].partition_responses[0].base_offset == 2
    [f] = client.send(fetch("t", 0, 0))
    assert isinstance(f.response, FetchResponse)
    assert fetched_values(f.response) == [b"a", b"b", b"c"]
    assert f.response.responses[0].partitions[0].high_watermark == 3


def test_a_broker_without_zero_copy_answers_a_fetch_with_the_record_bytes(
    lone: LoneBroker, client: Client
) -> None:
    # As the simulation runs its brokers (it has no socket to sendfile a slice to): the
    # records are read as the answer is built, and the answer holds them as bytes.
    lone.broker.zero_copy = False
    create(client, "t")
    client.send(produce("t", 0, batch(b"a", b"b")))
    [f] = client.send(fetch("t", 0, 0))
    assert isinstance(f.response, FetchResponse)
    records = f.response.responses[0].partitions[0].records
    assert isinstance(records, bytes)
    assert [r.value for b in iter_batches(records) for r in b.records()] == [b"a", b"b"]


def test_produce_to_an_unknown_topic_is_unknown_topic_or_partition(client: Client) -> None:
    [r] = client.send(produce("nope", 0, batch(b"x")))
    assert isinstance(r.response, ProduceResponse)
    assert (
        r.response.responses[0].partition_responses[0].error_code
        == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    )


def test_a_batch_with_a_bad_crc_is_corrupt_message_and_not_stored(
    client: Client, broker: Broker
) -> None:
    create(client, "t")
    damaged = bytearray(batch(b"payload"))
    damaged[-2] ^= 0xFF
    [r] = client.send(produce("t", 0, bytes(damaged)))
    assert isinstance(r.response, ProduceResponse)
    assert r.response.responses[0].partition_responses[0].error_code == ErrorCode.CORRUPT_MESSAGE
    assert broker.high_watermark(("t", 0)) == 0  # type: ignore[arg-type]


def test_a_batch_over_message_max_bytes_is_message_too_large(tmp_path: Path) -> None:
    client = Client(LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path, message_max_bytes=100)))
    create(client, "t")
    [r] = client.send(produce("t", 0, batch(b"x" * 200)))
    assert isinstance(r.response, ProduceResponse)
    assert r.response.responses[0].partition_responses[0].error_code == ErrorCode.MESSAGE_TOO_LARGE


def test_a_batch_larger_than_the_topics_segment_bytes_is_record_list_too_large_and_not_stored(
    client: Client, broker: Broker
) -> None:
    create(client, "t", configs={"segment.bytes": "1000"})
    client.send(produce("t", 0, batch(b"x" * 200)))  # fits: offset 0
    [r] = client.send(produce("t", 0, batch(*[b"y" * 200] * 5)))  # ~1100 bytes
    assert isinstance(r.response, ProduceResponse)
    answer = r.response.responses[0].partition_responses[0]
    assert (answer.error_code, answer.base_offset) == (ErrorCode.RECORD_LIST_TOO_LARGE, -1)
    log = broker.logs.get(TopicPartition("t", 0))
    assert log is not None and log.log_end_offset == 1  # only the batch that fitted
    assert len(log.segments) == 1
    [f] = client.send(fetch("t", 0, 0))
    assert isinstance(f.response, FetchResponse)
    assert fetched_values(f.response) == [b"x" * 200]


def test_acks_zero_completes_without_a_response_body(client: Client) -> None:
    create(client, "t")
    [r] = client.send(produce("t", 0, batch(b"x"), acks=0))
    assert r.response is None
    [f] = client.send(fetch("t", 0, 0))
    assert isinstance(f.response, FetchResponse)
    assert fetched_values(f.response) == [b"x"]


def test_fetch_past_the_log_end_is_offset_out_of_range(client: Client) -> None:
    create(client, "t")
    client.send(produce("t", 0, batch(b"x")))
    [f] = client.send(fetch("t", 0, 5))
    assert isinstance(f.response, FetchResponse)
    assert f.response.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_long_poll_fetch_waits_and_an_append_wakes_it(lone: LoneBroker, broker: Broker) -> None:
    consumer, producer = Client(lone, conn=1), Client(lone, conn=2)
    create(producer, "t")
    assert consumer.send(fetch("t", 0, 0, max_wait_ms=500), now_ms=100) == []
    assert broker.next_deadline_ms() == 600
    actions = producer.send(produce("t", 0, batch(b"wake")), now_ms=200)
    woken = [a for a in actions if a.conn == 1]
    assert len(woken) == 1
    assert isinstance(woken[0].response, FetchResponse)
    assert fetched_values(woken[0].response) == [b"wake"]
    assert len(broker.purgatory) == 0  # nothing waits any more


def test_long_poll_fetch_completes_empty_at_its_deadline(lone: LoneBroker, broker: Broker) -> None:
    consumer = Client(lone)
    create(consumer, "t")
    assert consumer.send(fetch("t", 0, 0, max_wait_ms=500), now_ms=100) == []
    assert broker.tick(599) == []
    [r] = broker.tick(600)
    assert isinstance(r.response, FetchResponse)
    assert r.response.responses[0].partitions[0].records == b""


def test_a_fetch_waits_until_min_bytes_are_ready_not_just_any_record(
    lone: LoneBroker, broker: Broker
) -> None:
    """Fetch's ``min_bytes`` (``fetch.min.bytes``): the broker answers once that many bytes
    can be read, or at ``max_wait_ms``; one small record is not enough, neither when the
    fetch arrives nor when an append wakes it."""
    consumer, producer = Client(lone, conn=1), Client(lone, conn=2)
    create(producer, "t")
    one_batch = len(batch(b"a"))
    producer.send(produce("t", 0, batch(b"a")), now_ms=50)
    wanted = 3 * one_batch  # three batches' worth
    assert consumer.send(fetch("t", 0, 0, max_wait_ms=500, min_bytes=wanted), now_ms=100) == []
    assert len(broker.purgatory) == 1  # one batch is ready: short of min_bytes, it waits
    actions = producer.send(produce("t", 0, batch(b"b")), now_ms=200)
    assert [a for a in actions if a.conn == 1] == []  # two batches: still short
    actions = producer.send(produce("t", 0, batch(b"c")), now_ms=300)
    [woken] = [a for a in actions if a.conn == 1]
    assert isinstance(woken.response, FetchResponse)
    assert fetched_values(woken.response) == [b"a", b"b", b"c"]
    assert len(broker.purgatory) == 0


def test_a_fetch_short_of_min_bytes_gets_what_there_is_at_max_wait(
    lone: LoneBroker, broker: Broker
) -> None:
    consumer, producer = Client(lone, conn=1), Client(lone, conn=2)
    create(producer, "t")
    producer.send(produce("t", 0, batch(b"a")), now_ms=50)
    assert consumer.send(fetch("t", 0, 0, max_wait_ms=500, min_bytes=1 << 16), now_ms=100) == []
    assert broker.tick(599) == []
    [r] = broker.tick(600)
    assert isinstance(r.response, FetchResponse)
    assert fetched_values(r.response) == [b"a"]


def test_list_offsets_earliest_latest_and_by_timestamp(client: Client) -> None:
    create(client, "t")
    client.send(
        produce("t", 0, build_batch([(None, b"a", 100), (None, b"b", 200), (None, b"c", 300)]))
    )

    def offset_for(ts: int) -> int:
        request = ListOffsetsRequest(
            replica_id=-1,
            topics=[
                ListOffsetsTopic(
                    name="t", partitions=[ListOffsetsPartition(partition_index=0, timestamp=ts)]
                )
            ],
        )
        [r] = client.send(request)
        assert isinstance(r.response, ListOffsetsResponse)
        return r.response.topics[0].partitions[0].offset

    assert offset_for(-2) == 0
    assert offset_for(-1) == 3
    assert offset_for(150) == 1
    assert offset_for(1000) == -1


def test_create_topics_refuses_duplicates_bad_partitions_and_replication(client: Client) -> None:
    create(client, "t")
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(name="t", num_partitions=1, replication_factor=1),
            CreatableTopic(name="zero", num_partitions=0, replication_factor=1),
            CreatableTopic(name="rf3", num_partitions=1, replication_factor=3),
            CreatableTopic(name="bad/name", num_partitions=1, replication_factor=1),
        ],
        timeout_ms=1000,
    )
    [r] = client.send(request)
    assert isinstance(r.response, CreateTopicsResponse)
    assert [t.error_code for t in r.response.topics] == [
        ErrorCode.TOPIC_ALREADY_EXISTS,
        ErrorCode.INVALID_PARTITIONS,
        ErrorCode.INVALID_REPLICATION_FACTOR,
        ErrorCode.INVALID_TOPIC_EXCEPTION,
    ]


def test_a_restarted_broker_serves_what_it_had(tmp_path: Path) -> None:
    lone = LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path))
    create(Client(lone), "t", partitions=3)
    Client(lone).send(produce("t", 2, batch(b"kept")))
    second = lone.restart()
    assert sorted(second.image.topics["t"].partitions) == [0, 1, 2]
    [f] = Client(lone).send(fetch("t", 2, 0))
    assert isinstance(f.response, FetchResponse)
    assert fetched_values(f.response) == [b"kept"]


def test_topic_configs_apply_to_the_log_and_survive_a_restart(tmp_path: Path) -> None:
    lone = LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path))
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(
                name="small",
                num_partitions=1,
                replication_factor=1,
                configs=[CreatableTopicConfig(name="segment.bytes", value="1000")],
            )
        ]
    )
    [r] = Client(lone).send(request)
    assert isinstance(r.response, CreateTopicsResponse)
    assert r.response.topics[0].error_code == ErrorCode.NONE
    for _ in range(10):
        Client(lone).send(produce("small", 0, batch(b"x" * 200)))
    log = lone.broker.logs.get(TopicPartition("small", 0))
    assert log is not None and len(log.segments) > 3
    again = lone.restart().logs.get(TopicPartition("small", 0))
    assert again is not None and again.config.segment_bytes == 1000


def test_an_unknown_topic_config_is_invalid_config(client: Client) -> None:
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(
                name="t",
                num_partitions=1,
                replication_factor=1,
                configs=[CreatableTopicConfig(name="retention.forever", value="yes")],
            )
        ]
    )
    [r] = client.send(request)
    assert isinstance(r.response, CreateTopicsResponse)
    assert r.response.topics[0].error_code == ErrorCode.INVALID_CONFIG


def test_retention_runs_on_the_broker_tick_and_fetch_below_log_start_is_out_of_range(
    tmp_path: Path,
) -> None:
    lone = LoneBroker(
        BrokerConfig(node_id=0, log_dir=tmp_path, log_retention_check_interval_ms=1_000)
    )
    broker, client = lone.broker, Client(lone)
    create(client, "t", 1, {"segment.bytes": "1000", "retention.ms": "60000"})
    for i in range(10):
        client.send(
            produce("t", 0, build_batch([(None, b"x" * 200, i * 10_000)])), now_ms=i * 10_000
        )
    assert broker.next_deadline_ms() <= 1_000
    broker.tick(200_000)
    log = broker.logs.get(TopicPartition("t", 0))
    assert log is not None and log.log_start_offset > 0
    [f] = client.send(fetch("t", 0, 0), now_ms=200_000)
    assert isinstance(f.response, FetchResponse)
    assert f.response.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
    assert f.response.responses[0].partitions[0].log_start_offset == log.log_start_offset


def test_a_compacted_topic_refuses_records_without_a_key(tmp_path: Path) -> None:
    client = Client(LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path)))
    create(client, "state", 1, {"cleanup.policy": "compact"})
    [r] = client.send(produce("state", 0, batch(b"no key")))
    assert isinstance(r.response, ProduceResponse)
    assert r.response.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_RECORD


def test_the_broker_cleans_compacted_topics_on_its_tick(tmp_path: Path) -> None:
    lone = LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path, log_cleaner_backoff_ms=1_000))
    broker, client = lone.broker, Client(lone)
    create(client, "state", 1, {"cleanup.policy": "compact", "segment.bytes": "1000"})
    for i in range(60):
        client.send(produce("state", 0, build_batch([(b"key-%d" % (i % 3), b"v" * 50, i)])))
    log = broker.logs.get(TopicPartition("state", 0))
    assert log is not None
    size_before = log.size_in_bytes
    assert broker.next_deadline_ms() <= 1_000
    broker.tick(1_000)
    assert log.size_in_bytes < size_before
    assert log.log_end_offset == 60 and log.log_start_offset == 0


def test_a_parked_fetch_is_read_only_when_its_offsets_say_a_read_could_answer_it(
    lone: LoneBroker, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer, producer = Client(lone, conn=1), Client(lone, conn=2)
    create(producer, "t", partitions=2)
    producer.send(produce("t", 0, batch(b"a")))
    reads: list[FetchRequest] = []
    real_read = broker._read_fetch

    def counting(request: FetchRequest) -> object:
        reads.append(request)
        return real_read(request)

    monkeypatch.setattr(broker, "_read_fetch", counting)
    # At the log end: nothing to read, so it parks without a read.
    assert consumer.send(fetch("t", 0, 1, max_wait_ms=500), now_ms=100) == []
    assert reads == []
    # An append to another partition is no reason to read it either (the fetch does not
    # watch it), one to its own partition is.
    producer.send(produce("t", 1, batch(b"other")), now_ms=110)
    assert reads == []
    actions = producer.send(produce("t", 0, batch(b"b")), now_ms=120)
    assert len(reads) == 1
    [woken] = [a for a in actions if a.conn == 1]
    assert isinstance(woken.response, FetchResponse)
    assert fetched_values(woken.response) == [b"b"]
    # Out of range or unknown: read at once, to answer the error.
    [beyond] = consumer.send(fetch("t", 0, 99, max_wait_ms=500), now_ms=130)
    assert isinstance(beyond.response, FetchResponse)
    assert beyond.response.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
