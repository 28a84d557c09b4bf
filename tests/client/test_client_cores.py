"""reflog's producer and consumer cores, run in the simulation against the real broker core."""

from __future__ import annotations

import random
from pathlib import Path
from typing import cast

import pytest

from reflog.client.actions import Connect, Send
from reflog.client.network import ClientNetwork
from reflog.consumer import Consumer, ConsumerConfig, OffsetResetError
from reflog.producer import Producer, ProducerConfig
from reflog.producer.partitioner import partition_for_key
from reflog.records import build_batch, iter_batches
from reflog.sim import Cluster
from reflog.sim.kafka_nodes import SimRequest
from reflog.sim.trace import MessageSent
from reflog.sim.workloads import ProducerWorkload
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.fetch import FetchableTopicResponse, FetchResponse, PartitionData
from reflog.wire.messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
)
from reflog.wire.messages.produce import ProduceRequest

B1 = MetadataResponseBroker(node_id=1, host="b", port=1)
KEYS = [b"alice", b"bob", b"carol", b"dave", b"erin", b"frank"]


def one_broker(
    seed: int,
    data_dir: Path,
    partitions: int,
    configs: dict[str, str] | None = None,
    **settings: object,
) -> Cluster:
    """One broker (and its controller) with topic "t" of ``partitions`` partitions."""
    cluster = Cluster(seed=seed, brokers=1, data_dir=data_dir, **settings)  # type: ignore[arg-type]
    cluster.create_topic("t", partitions, configs=configs)
    return cluster


def batches_on_disk(cluster: Cluster, topic: str, partition: int) -> list[int]:
    """Record count of every batch in the partition's log file."""
    path = cluster.brokers[1].config.log_dir / f"{topic}-{partition}" / "00000000000000000000.log"
    return [b.record_count for b in iter_batches(path.read_bytes())]


def test_keyed_records_land_where_murmur2_puts_them(tmp_path: Path) -> None:
    cluster = one_broker(1, tmp_path, 4)
    producer = cluster.add_producer("p", "t", rate_per_s=300, keys=KEYS)
    consumer = cluster.add_consumer("c", "t", partitions=[0, 1, 2, 3])
    cluster.run_for(1_000)
    assert producer.failed == 0 and producer.acked > 250
    assert cluster.run_until(lambda: len(consumer.records) >= producer.acked, timeout_ms=2_000)
    for record in consumer.records:
        assert record.key is not None
        assert record.partition == partition_for_key(record.key, 4)


def test_linger_ms_puts_many_records_in_one_batch(tmp_path: Path) -> None:
    cluster = one_broker(2, tmp_path, 1)
    cluster.add_producer("p", "t", rate_per_s=1_000, linger_ms=50)
    cluster.run_for(1_000)
    counts = batches_on_disk(cluster, "t", 0)
    assert sum(counts) > 900
    assert sum(counts) / len(counts) > 20  # ~50 records per 50 ms batch, not one each


def test_keyless_records_fill_one_partitions_batch_before_the_partitioner_moves_on(
    tmp_path: Path,
) -> None:
    # KIP-480 as Kafka's producer does it: the record that finds no open batch on the sticky
    # partition moves the partitioner first. Moving after placing it would open a batch of
    # that one record on every partition in turn.
    cluster = one_broker(2, tmp_path, 3)
    cluster.add_producer("p", "t", rate_per_s=1_000, linger_ms=20)
    cluster.run_for(1_000)
    counts = [n for partition in range(3) for n in batches_on_disk(cluster, "t", partition)]
    assert sum(counts) > 900
    assert min(counts) > 5  # ~20 records per 20 ms batch
    assert len(counts) < 60


def test_batch_size_closes_a_batch_before_linger_ms(tmp_path: Path) -> None:
    cluster = one_broker(3, tmp_path, 1)
    cluster.add_producer("p", "t", rate_per_s=1_000, linger_ms=1_000, batch_size=300)
    cluster.run_for(500)
    counts = batches_on_disk(cluster, "t", 0)
    assert counts and max(counts) <= 10  # ~30 bytes a record: about 10 fit in 300


def test_a_full_batch_goes_at_once_when_the_next_record_moves_the_partitioner_on(
    tmp_path: Path,
) -> None:
    # The record that does not fit goes to another partition (KIP-480); the full batch it
    # leaves behind is sent all the same, not after linger.ms.
    cluster = one_broker(3, tmp_path, 3)
    cluster.add_producer("p", "t", rate_per_s=1_000, linger_ms=1_000, batch_size=300)
    cluster.run_for(500)
    produced = [
        (event.at_ms, batch.record_count, batch.max_timestamp)
        for event in cluster.sim.trace.events
        if isinstance(event, MessageSent) and isinstance(event.payload, SimRequest)
        if isinstance(request := event.payload.body, ProduceRequest)
        for topic in request.topic_data
        for data in topic.partition_data
        for batch in iter_batches(cast(bytes, data.records))
    ]
    assert len(produced) > 30 and max(count for _, count, _ in produced) <= 10
    # Each went when the next record came, a millisecond after its last one (those sent
    # first waited for the connection to the broker and the producer id).
    first_ms = produced[0][0]
    assert all(sent_ms == last + 1 for sent_ms, _, last in produced if sent_ms > first_ms)


def test_acks_zero_gets_no_offsets_but_the_records_arrive(tmp_path: Path) -> None:
    cluster = one_broker(4, tmp_path, 1)
    producer = cluster.add_producer("p", "t", rate_per_s=100, acks=0)
    cluster.run_for(1_000)
    assert producer.failed == 0 and producer.acked >= 95
    assert cluster.log_end_offsets("t")[0] >= 95


def crash_and_restart_broker(cluster: Cluster, producer: ProducerWorkload) -> None:
    cluster.run_for(500)
    cluster.crash("broker-1")
    cluster.run_for(1_000)
    cluster.restart("broker-1")
    producer.set_rate(0)
    assert cluster.run_until(lambda: producer.acked == producer.sent, timeout_ms=20_000)
    assert producer.failed == 0


def test_producer_retries_while_the_broker_is_down_and_flushed_records_survive(
    tmp_path: Path,
) -> None:
    cluster = one_broker(5, tmp_path, 2, {"flush.messages": "1"})
    producer = cluster.add_producer("p", "t", rate_per_s=100, keys=KEYS)
    crash_and_restart_broker(cluster, producer)
    assert sum(cluster.log_end_offsets("t").values()) == producer.sent


def test_acknowledged_but_unflushed_records_vanish_when_the_only_broker_crashes(
    tmp_path: Path,
) -> None:
    # Kafka's default leaves flushing to the page cache; a power cut loses what it held.
    # That is the reason replication exists.
    cluster = one_broker(5, tmp_path, 2)
    producer = cluster.add_producer("p", "t", rate_per_s=100, keys=KEYS)
    crash_and_restart_broker(cluster, producer)
    assert sum(cluster.log_end_offsets("t").values()) < producer.acked


def test_wire_round_trip_changes_nothing_in_a_run(tmp_path: Path) -> None:
    def digest(roundtrip: bool, where: Path) -> str:
        cluster = one_broker(6, where, 3, wire_roundtrip_requests=roundtrip)
        cluster.add_producer("p", "t", rate_per_s=200, keys=KEYS)
        cluster.add_consumer("c", "t", partitions=[0, 1, 2])
        cluster.run_for(500)
        return cluster.sim.trace.digest()

    assert digest(False, tmp_path / "a") == digest(True, tmp_path / "b")


def test_consumer_with_latest_reads_only_what_comes_after_it_starts(tmp_path: Path) -> None:
    cluster = one_broker(7, tmp_path, 1)
    producer = cluster.add_producer("p", "t", rate_per_s=100)
    cluster.run_for(500)
    before = cluster.log_end_offsets("t")[0]
    consumer = cluster.add_consumer("late", "t", partitions=[0])
    consumer.config = ConsumerConfig(
        bootstrap_servers=cluster.bootstrap, auto_offset_reset="latest"
    )
    cluster.crash("late")
    cluster.restart("late")  # starts with the new config
    cluster.run_for(500)
    assert consumer.records
    assert consumer.records[0].offset >= before
    assert producer.sent > before


def test_auto_offset_reset_none_is_an_error_for_the_application() -> None:
    consumer = Consumer(ConsumerConfig(bootstrap_servers=(("b", 1),), auto_offset_reset="none"))
    consumer.assign([TopicPartition("t", 0)], now_ms=0)
    consumer.network.topics["t"] = []  # metadata known, partition without a position
    consumer.tick(0)
    with pytest.raises(OffsetResetError):
        consumer.poll()


def test_consumer_skips_a_partial_batch_and_records_below_its_position() -> None:
    consumer = Consumer(ConsumerConfig(bootstrap_servers=(("b", 1),)))
    tp = TopicPartition("t", 0)
    consumer.assign([tp], now_ms=0)
    consumer.seek(tp, 6)
    first = build_batch([(None, b"%d" % i, i) for i in range(5)], base_offset=3)  # offsets 3..7
    second = build_batch([(None, b"8", 8)], base_offset=8)
    data = first + second + second[:20]  # the broker cut the last batch at max_bytes
    from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

    request = FetchRequest(
        topics=[FetchTopic(topic="t", partitions=[FetchPartition(partition=0, fetch_offset=6)])]
    )
    response = FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="t",
                partitions=[
                    PartitionData(partition_index=0, error_code=0, high_watermark=9, records=data)
                ],
            )
        ]
    )
    consumer._on_fetch(request, response)
    assert [r.offset for r in consumer.poll()] == [6, 7, 8]
    assert consumer.position(tp) == 9


def test_api_versions_falls_back_to_v0_when_the_broker_says_unsupported_version() -> None:
    network = ClientNetwork([("b", 1)])
    network.want_topics(set(), 0)
    network.tick(0)
    [connect] = network.take_actions()
    assert isinstance(connect, Connect)
    network.connected(-1, 0)
    [first] = network.take_actions()
    assert isinstance(first, Send) and isinstance(first.body, ApiVersionsRequest)
    assert first.header.api_version == 3
    network.response(
        -1,
        first.header.correlation_id,
        ApiVersionsResponse(error_code=ErrorCode.UNSUPPORTED_VERSION),
        0,
    )
    [retry] = network.take_actions()
    assert isinstance(retry, Send) and retry.header.api_version == 0
    offer = [ApiVersion(api_key=k, min_version=0, max_version=v) for k, v in ((3, 4), (18, 0))]
    network.response(
        -1, retry.header.correlation_id, ApiVersionsResponse(error_code=0, api_keys=offer), 0
    )
    [metadata] = network.take_actions()
    assert isinstance(metadata, Send) and metadata.header.api_key == 3
    assert metadata.header.api_version == 4  # min(reflog's 8, the broker's 4)


def test_records_for_an_invalid_topic_fail_at_once_as_kafka_does(tmp_path: Path) -> None:
    cluster = one_broker(9, tmp_path, 1)
    producer = cluster.add_producer("p", "bad/name", rate_per_s=100)
    cluster.run_for(1_000)
    assert producer.sent >= 90
    assert producer.failed >= producer.sent - 1  # each within one metadata round trip
    errors = {note.get("error") for note in cluster.sim.trace.notes("send-failed")}
    assert errors == {"INVALID_TOPIC_EXCEPTION"}


def test_records_wait_max_block_ms_for_their_topic_then_fail() -> None:
    config = ProducerConfig(bootstrap_servers=(("nowhere", 1),), max_block_ms=1_000)
    producer = Producer(config, random.Random(0))
    producer.send("t", b"v", now_ms=0)
    producer.tick(0)
    assert producer.next_deadline_ms() == 1_000  # its deadline, with no broker to answer
    producer.tick(999)
    assert producer.take_results() == []
    producer.tick(1_000)
    [result] = producer.take_results()
    assert result.error == ErrorCode.REQUEST_TIMED_OUT
    assert producer.pending_count == 0


def negotiate(network: ClientNetwork, node_id: int, now_ms: int) -> None:
    """``node_id``'s connection is up and its ApiVersions answered (Metadata v4 at most)."""
    network.connected(node_id, now_ms)
    [versions] = network.take_actions()
    assert isinstance(versions, Send)
    offer = [ApiVersion(api_key=k, min_version=0, max_version=v) for k, v in ((3, 4), (18, 0))]
    body = ApiVersionsResponse(error_code=0, api_keys=offer)
    network.response(node_id, versions.header.correlation_id, body, now_ms)


def test_a_topic_wanted_while_metadata_is_in_flight_is_asked_for_when_the_answer_comes() -> None:
    network = ClientNetwork([("b", 1)])
    network.want_topics({"first"}, 0)
    network.tick(0)
    [connect] = network.take_actions()
    assert isinstance(connect, Connect)
    negotiate(network, -1, 0)
    [asked] = network.take_actions()
    assert isinstance(asked, Send) and isinstance(asked.body, MetadataRequest)
    network.want_topics({"second"}, 5)  # while that request is in flight
    network.response(-1, asked.header.correlation_id, MetadataResponse(brokers=[B1]), 10)
    network.tick(10)
    [connect] = network.take_actions()  # at once, not metadata.max.age.ms later
    assert connect == Connect(1, "b", 1)  # to the broker the answer named
    negotiate(network, 1, 10)
    [again] = network.take_actions()
    assert isinstance(again, Send) and isinstance(again.body, MetadataRequest)
    assert again.body.topics is not None
    assert {t.name for t in again.body.topics} == {"first", "second"}


def test_a_metadata_answer_that_lists_no_broker_is_ignored_and_asked_again() -> None:
    # A broker that has just restarted may answer before it knows the cluster. Kept, that
    # answer left a transactional producer (seed 42 of the transaction fault test) with no
    # broker to send to, its coordinator found but unreachable, for metadata.max.age.ms.
    network = ClientNetwork([("b", 1)])
    network.tick(0)
    network.take_actions()
    negotiate(network, -1, 0)
    [asked] = network.take_actions()
    assert isinstance(asked, Send) and isinstance(asked.body, MetadataRequest)
    network.response(-1, asked.header.correlation_id, MetadataResponse(), 10)
    assert network.metadata_updated_ms is None
    assert network.next_deadline_ms() == 110  # retry.backoff.ms later
    network.tick(110)
    [again] = network.take_actions()
    assert isinstance(again, Send) and isinstance(again.body, MetadataRequest)
    network.response(-1, again.header.correlation_id, MetadataResponse(brokers=[B1]), 120)
    assert network.brokers == {1: ("b", 1)} and network.metadata_updated_ms == 110


def test_a_consumer_that_fell_behind_retention_resets_to_the_log_start(tmp_path: Path) -> None:
    configs = {"segment.bytes": "2000", "retention.bytes": "4000"}
    cluster = one_broker(8, tmp_path, 1, configs, log_retention_check_interval_ms=500)
    producer = cluster.add_producer("p", "t", rate_per_s=200, keys=KEYS)
    cluster.run_for(3_000)
    log = cluster.broker(1).logs.get(TopicPartition("t", 0))
    assert log is not None and log.log_start_offset > 0  # retention has deleted the beginning
    consumer = cluster.add_consumer("slow", "t", partitions=[0], auto_offset_reset="earliest")
    consumer.consumer.seek(TopicPartition("t", 0), 0)  # a position the log no longer has
    cluster.run_until(lambda: bool(consumer.records), timeout_ms=2_000)
    # Offset 0 is gone: the fetch got OFFSET_OUT_OF_RANGE and auto.offset.reset chose the start.
    assert consumer.records[0].offset >= log.log_start_offset > 0
    assert producer.failed == 0
