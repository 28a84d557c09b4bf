"""Bad input gets Kafka's answer, costs at most the connection that sent it, and the broker
keeps serving everyone else."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.records import build_batch, iter_batches
from reflog.records.crc import crc32c
from reflog.wire.apis import encode_request
from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.create_topics import (
    CreatableTopic,
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
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from tests.broker_process import BrokerProcess, running_broker

from .wire_client import WireClient, create_topic


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with running_broker(tmp_path_factory.mktemp("broker")) as b:
        yield b


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[WireClient]:
    c = WireClient(broker.bootstrap)
    yield c
    c.close()


def produce(topic: str, records: bytes, partition: int = 0) -> ProduceRequest:
    return ProduceRequest(
        acks=1,
        timeout_ms=5000,
        topic_data=[
            TopicProduceData(
                name=topic, partition_data=[PartitionProduceData(index=partition, records=records)]
            )
        ],
    )


def fetch(topic: str, offset: int, max_wait_ms: int = 0) -> FetchRequest:
    return FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=1,
        topics=[
            FetchTopic(topic=topic, partitions=[FetchPartition(partition=0, fetch_offset=offset)])
        ],
    )


def assert_broker_still_serves(broker: BrokerProcess) -> None:
    other = WireClient(broker.bootstrap)
    try:
        response = other.call(MetadataRequest(topics=None))
        assert isinstance(response, MetadataResponse)
        assert response.brokers[0].port == broker.port
    finally:
        other.close()


def test_truncated_frame_then_disconnect_leaves_the_broker_serving(
    client: WireClient, broker: BrokerProcess
) -> None:
    client.send_raw(struct.pack(">i", 100) + b"\x00\x03")
    client.close()
    assert_broker_still_serves(broker)


@pytest.mark.parametrize("size", [0, -5, 200 * 1024 * 1024])
def test_a_frame_size_outside_bounds_closes_that_connection(
    client: WireClient, broker: BrokerProcess, size: int
) -> None:
    client.send_raw(struct.pack(">i", size))
    assert client.is_closed_by_peer()
    assert_broker_still_serves(broker)


def test_an_unknown_api_key_closes_that_connection_only(
    client: WireClient, broker: BrokerProcess
) -> None:
    body = struct.pack(">hhih", 999, 0, 1, -1)
    client.send_raw(struct.pack(">i", len(body)) + body)
    assert client.is_closed_by_peer()
    assert_broker_still_serves(broker)


def test_garbage_after_a_valid_header_closes_that_connection(
    client: WireClient, broker: BrokerProcess
) -> None:
    body = struct.pack(">hhih", 3, 4, 1, -1) + b"\x7f\xff\xff\xff"  # a 2-billion-topic array
    client.send_raw(struct.pack(">i", len(body)) + body)
    assert client.is_closed_by_peer()
    assert_broker_still_serves(broker)


def test_unsupported_api_versions_version_gets_error_35_in_the_v0_layout(
    client: WireClient,
) -> None:
    body = struct.pack(">hhih", 18, 77, 5, -1) + b"\x00\x00"  # ApiVersions v77
    client.send_raw(struct.pack(">i", len(body)) + body)
    frame = client.read_frame()
    reader = Reader(frame)
    assert reader.int32() == 5  # response header v0: the correlation id and nothing else
    response = ApiVersionsResponse.decode(reader, 0)
    assert response.error_code == ErrorCode.UNSUPPORTED_VERSION
    ranges = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
    assert ranges[18] == (0, 3)
    assert all(low == 0 for low, _ in ranges.values())
    # The connection stays open: the client retries with a version that fits.
    retry = client.call(ApiVersionsRequest(), version=0)
    assert isinstance(retry, ApiVersionsResponse) and retry.error_code == ErrorCode.NONE


def test_unsupported_version_of_another_api_closes_that_connection(
    client: WireClient, broker: BrokerProcess
) -> None:
    body = struct.pack(">hhih", 0, 42, 7, -1)  # Produce v42
    client.send_raw(struct.pack(">i", len(body)) + body)
    assert client.is_closed_by_peer()
    assert_broker_still_serves(broker)


def test_a_crc_mismatch_is_corrupt_message_and_nothing_is_stored(client: WireClient) -> None:
    create_topic(client, "crc")
    damaged = bytearray(build_batch([(b"k", b"value", 1)]))
    damaged[-3] ^= 0x55
    response = client.call(produce("crc", bytes(damaged)))
    assert isinstance(response, ProduceResponse)
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.CORRUPT_MESSAGE
    fetched = client.call(fetch("crc", 0))
    assert isinstance(fetched, FetchResponse)
    assert fetched.responses[0].partitions[0].high_watermark == 0


def resealed(batch: bytes, field: str, offset: int, value: int) -> bytes:
    """``batch`` with one header field (a struct format at a byte offset) changed and its CRC
    made right again: what a careless or hostile client could send, which only the broker's
    own checks can refuse."""
    changed = bytearray(batch)
    struct.pack_into(field, changed, offset, value)
    struct.pack_into(">I", changed, 17, crc32c(memoryview(changed)[21:]))
    return bytes(changed)


def produce_error(client: WireClient, topic: str, records: bytes) -> tuple[int, int]:
    response = client.call(produce(topic, records))
    assert isinstance(response, ProduceResponse)
    answer = response.responses[0].partition_responses[0]
    return answer.error_code, answer.base_offset


def test_a_batch_whose_offsets_are_not_its_record_count_is_invalid_record(
    client: WireClient,
) -> None:
    create_topic(client, "range")
    one_record = build_batch([(None, b"v", 1)])
    claims_2g_offsets = resealed(one_record, ">i", 23, 2**31 - 1)  # lastOffsetDelta
    claims_no_records = resealed(one_record, ">i", 57, 0)  # recordCount
    for lying in (claims_2g_offsets, claims_no_records):
        assert produce_error(client, "range", lying) == (ErrorCode.INVALID_RECORD, -1)
    # Nothing was stored: the partition still takes an honest batch at offset 0.
    assert produce_error(client, "range", one_record) == (ErrorCode.NONE, 0)


def test_list_offsets_by_time_into_a_batch_it_cannot_read_gets_an_error_not_a_closed_socket(
    client: WireClient,
) -> None:
    """reflog checks batches, not each record, on produce, and stores compressed batches
    without decompressing them: a search by timestamp into either answers an error code."""
    batch = build_batch([(None, b"value", 1_000)])
    garbled = bytearray(batch)
    garbled[61:] = b"\xff" * (len(batch) - 61)  # the records, past the 61-byte header
    gzipped = resealed(batch, ">h", 21, 1)  # attributes: compression codec 1 (gzip)
    cases = {
        "garbled": (resealed(bytes(garbled), ">i", 23, 0), ErrorCode.CORRUPT_MESSAGE),
        "gzipped": (gzipped, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE),
    }
    for topic, (records, expected) in cases.items():
        create_topic(client, topic)
        assert produce_error(client, topic, records) == (ErrorCode.NONE, 0)
        response = client.call(
            ListOffsetsRequest(
                topics=[
                    ListOffsetsTopic(
                        name=topic, partitions=[ListOffsetsPartition(0, timestamp=500)]
                    )
                ]
            )
        )
        assert isinstance(response, ListOffsetsResponse)
        assert response.topics[0].partitions[0].error_code == expected
    assert isinstance(client.call(MetadataRequest(topics=None)), MetadataResponse)  # still open


def test_create_topics_asking_for_over_10000_partitions_in_all_is_refused_as_a_whole(
    client: WireClient, broker: BrokerProcess
) -> None:
    response = client.call(
        CreateTopicsRequest(
            topics=[
                CreatableTopic(name="small", num_partitions=1, replication_factor=1),
                CreatableTopic(name="huge", num_partitions=2_000_000_000, replication_factor=1),
            ]
        )
    )
    assert isinstance(response, CreateTopicsResponse)
    assert [(t.name, t.error_code) for t in response.topics] == [
        ("small", ErrorCode.POLICY_VIOLATION),
        ("huge", ErrorCode.POLICY_VIOLATION),
    ]
    assert not any(broker.data_dir.glob("small-*")) and not any(broker.data_dir.glob("huge-*"))


def test_produce_to_an_unknown_topic_is_unknown_topic_or_partition(client: WireClient) -> None:
    response = client.call(produce("never-created", build_batch([(None, b"v", 1)])))
    assert isinstance(response, ProduceResponse)
    assert (
        response.responses[0].partition_responses[0].error_code
        == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    )


def test_fetch_beyond_the_log_end_is_offset_out_of_range(client: WireClient) -> None:
    create_topic(client, "oor")
    client.call(produce("oor", build_batch([(None, b"v", 1)])))
    response = client.call(fetch("oor", 10))
    assert isinstance(response, FetchResponse)
    assert response.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_pipelined_requests_are_answered_in_order(client: WireClient) -> None:
    create_topic(client, "pipe")
    sent = [client.send(produce("pipe", build_batch([(None, b"%d" % i, i)]))) for i in range(20)]
    offsets = []
    for s in sent:
        response = client.receive(s)  # receive() checks the correlation id is the next one
        assert isinstance(response, ProduceResponse)
        offsets.append(response.responses[0].partition_responses[0].base_offset)
    assert offsets == list(range(20))


def test_pipelined_requests_of_every_size_are_answered_in_order_with_their_records(
    client: WireClient,
) -> None:
    # Small requests arrive several to a read, large ones (beyond the broker's 64 KiB
    # first buffer) are received into buffers of their own; a request that waits behind
    # another in flight must come out whole either way.
    create_topic(client, "sizes")
    values = [bytes([i]) * size for i, size in enumerate([10, 300_000, 20, 70_000, 65_530, 5])]
    sent = [client.send(produce("sizes", build_batch([(None, v, 1)]))) for v in values]
    for offset, s in enumerate(sent):
        response = client.receive(s)
        assert isinstance(response, ProduceResponse)
        assert response.responses[0].partition_responses[0].base_offset == offset
    got = []
    while len(got) < len(values):
        response = client.call(fetch("sizes", len(got)))
        assert isinstance(response, FetchResponse)
        records = response.responses[0].partitions[0].records
        assert records is not None
        got += [r.value for b in iter_batches(bytes(records)) for r in b.records()]  # type: ignore[arg-type]
    assert got == values


def test_a_client_that_stops_sending_still_gets_the_answers_to_what_it_sent(
    client: WireClient,
) -> None:
    # Kafka mutes a connection while a request is in flight, so a half-close is seen only
    # after the answers (found in review: reading on, the broker saw it first and closed).
    create_topic(client, "halfclose")
    waiting = client.send(fetch("halfclose", 0, max_wait_ms=200))
    then = client.send(MetadataRequest(topics=None))
    client.sock.shutdown(socket.SHUT_WR)
    assert isinstance(client.receive(waiting), FetchResponse)
    assert isinstance(client.receive(then), MetadataResponse)
    assert client.is_closed_by_peer()


def test_a_long_poll_fetch_is_woken_by_a_produce_on_another_connection(
    client: WireClient, broker: BrokerProcess
) -> None:
    create_topic(client, "wake")
    waiting = client.send(fetch("wake", 0, max_wait_ms=30_000))
    producer = WireClient(broker.bootstrap)
    try:
        producer.call(produce("wake", build_batch([(b"k", b"hello", 1)])))
    finally:
        producer.close()
    response = client.receive(waiting)  # the socket timeout (10 s) is far below max_wait_ms
    assert isinstance(response, FetchResponse)
    records = response.responses[0].partitions[0].records
    assert records is not None and b"hello" in bytes(records)  # type: ignore[arg-type]


def test_an_empty_long_poll_completes_at_its_deadline_with_no_records(client: WireClient) -> None:
    create_topic(client, "quiet")
    response = client.call(fetch("quiet", 0, max_wait_ms=200))
    assert isinstance(response, FetchResponse)
    assert bytes(response.responses[0].partitions[0].records or b"") == b""  # type: ignore[arg-type]


def test_acks_zero_gets_no_response_but_the_records_are_stored(client: WireClient) -> None:
    create_topic(client, "fire")
    request = ProduceRequest(
        acks=0,
        timeout_ms=1000,
        topic_data=[
            TopicProduceData(
                name="fire",
                partition_data=[
                    PartitionProduceData(index=0, records=build_batch([(None, b"x", 1)]))
                ],
            )
        ],
    )
    client.send(request)
    response = client.call(fetch("fire", 0))  # answered first: no produce response came before it
    assert isinstance(response, FetchResponse)
    assert response.responses[0].partitions[0].high_watermark == 1


def test_sigterm_stops_cleanly_and_a_restart_serves_the_old_records(tmp_path: Path) -> None:
    with running_broker(tmp_path) as first:
        c = WireClient(first.bootstrap)
        create_topic(c, "durable")
        c.call(produce("durable", build_batch([(b"k", b"survives", 1)])))
        c.close()
        assert first.terminate() == 0
    with running_broker(tmp_path) as second:
        c = WireClient(second.bootstrap)
        response = c.call(fetch("durable", 0))
        c.close()
        assert isinstance(response, FetchResponse)
        assert b"survives" in bytes(response.responses[0].partitions[0].records or b"")  # type: ignore[arg-type]


def test_a_controller_closes_a_connection_that_sends_kafka_requests_or_huge_frames(
    tmp_path: Path,
) -> None:
    from reflog.controller.config import ControllerConfig
    from reflog.net.controller_server import ControllerServer

    async def scenario() -> tuple[bool, bool]:
        server = ControllerServer(ControllerConfig(1, (1,)), {1: ("127.0.0.1", 0)}, tmp_path)
        port = await server.start()
        try:
            results = []
            for payload in (None, b"\x7f\xff\xff\xff"):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if payload is None:  # a Produce-era Kafka request: not a controller's API
                    header = RequestHeader(MetadataRequest.API_KEY, 1, 1, "x")
                    body = chunks_to_bytes(encode_request(header, MetadataRequest(topics=[])))
                    writer.write(struct.pack(">i", len(body)) + body)
                else:  # a size prefix of 2 GiB
                    writer.write(payload)
                results.append(await asyncio.wait_for(reader.read(), 5) == b"")
                writer.close()
            return results[0], results[1]
        finally:
            await server.stop()

    assert asyncio.run(scenario()) == (True, True)
