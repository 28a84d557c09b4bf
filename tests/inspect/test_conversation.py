"""The inspector's pure side: frames in, decoded events out; address rewrites; faults."""

from __future__ import annotations

import json
import struct

import pytest

from reflog.inspect import Conversation, Faults, parse_api, parse_drop
from reflog.inspect.addresses import broker_addresses, cap_versions, rewrite_addresses
from reflog.inspect.conversation import InFlight
from reflog.inspect.describe import summarize, to_json
from reflog.records.batch import NewRecord, build_batch
from reflog.wire.apis import API_TABLE, encode_request, encode_response
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsResponse
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from reflog.wire.messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
)
from reflog.wire.messages.produce import (
    PartitionProduceData,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
    TopicProduceResponse,
)
from reflog.wire.schema import Message, Request, Response
from tests.wire.samples import SAMPLES, versions_of

BATCH = build_batch(
    [NewRecord(key=None, value=b"v%d" % i, timestamp=0) for i in range(3)],
    producer_id=7,
    producer_epoch=1,
    base_sequence=42,
)
PRODUCE = ProduceRequest(
    acks=-1,
    topic_data=[
        TopicProduceData(name="t", partition_data=[PartitionProduceData(index=2, records=BATCH)])
    ],
)


def request_frame(body: Request, version: int, correlation_id: int = 5) -> bytes:
    header = RequestHeader(body.API_KEY, version, correlation_id, "learner")
    return chunks_to_bytes(encode_request(header, body))


def response_frame(body: Response, api_key: int, version: int, correlation_id: int = 5) -> bytes:
    return chunks_to_bytes(encode_response(RequestHeader(api_key, version, correlation_id), body))


def test_a_produce_request_shows_its_partition_records_producer_id_and_sequence() -> None:
    event = Conversation(1).on_request(request_frame(PRODUCE, 7), now_ms=10)
    assert (event.api, event.api_version, event.correlation_id) == ("Produce", 7, 5)
    assert event.client_id == "learner" and event.decoded and not event.problem
    assert "acks=-1" in event.summary
    assert (
        "t/p2:{records=3 at 0..2 producer_id=7 producer_epoch=1 base_sequence=42}" in event.summary
    )
    assert event.line().startswith("[1] → Produce v7 #5 client=learner acks=-1")
    [batch] = event.body["topic_data"][0]["partition_data"][0]["records"]["batches"]  # type: ignore[index]
    assert batch["producer_id"] == 7 and batch["record_count"] == 3


def test_a_response_is_matched_to_its_request_with_the_round_trip_time() -> None:
    conversation = Conversation(1)
    conversation.forwarded(conversation.on_request(request_frame(PRODUCE, 7), now_ms=10))
    answer = ProduceResponse(
        responses=[
            TopicProduceResponse(
                name="t",
                partition_responses=[
                    PartitionProduceResponse(index=2, error_code=6, base_offset=-1)
                ],
            )
        ]
    )
    seen = conversation.on_response(response_frame(answer, 0, 7), now_ms=13.5)
    assert seen.body == answer and seen.request is not None
    event = seen.event
    assert (event.api, event.direction, event.rtt_ms) == ("Produce", "response", 3.5)
    assert event.errors == ("NOT_LEADER_OR_FOLLOWER",)
    assert "t/p2:{error_code=NOT_LEADER_OR_FOLLOWER}" in event.summary
    assert conversation.in_flight == {}


def test_offsets_of_zero_show_and_not_set_fields_do_not() -> None:
    fetch = FetchRequest(topics=[FetchTopic(topic="t", partitions=[FetchPartition(partition=0)])])
    text = summarize(fetch)
    assert "t/p0:{fetch_offset=0}" in text
    assert "log_start_offset" not in text and "current_leader_epoch" not in text


def test_an_api_reflog_does_not_decode_is_named_and_left_alone() -> None:
    frame = struct.pack(">hhih", 71, 0, 9, 3) + b"abc" + b"\x00\x01\x02"
    conversation = Conversation(2)
    event = conversation.on_request(frame, now_ms=0)
    assert (event.api, event.api_key, event.api_version, event.client_id) == (
        "GetTelemetrySubscriptions",
        71,
        0,
        "abc",
    )
    assert not event.decoded and "not decoded" in event.problem
    conversation.forwarded(event)
    seen = conversation.on_response(struct.pack(">i", 9) + b"anything", now_ms=1)
    assert seen.body is None and seen.event.api == "GetTelemetrySubscriptions"
    assert seen.event.problem == "not decoded"


def test_a_request_that_does_not_decode_is_a_bad_frame() -> None:
    frame = request_frame(PRODUCE, 7)[:-10]
    event = Conversation(1).on_request(frame, now_ms=0)
    assert event.api == "Produce" and event.problem.startswith("bad frame")
    assert not event.decoded


def test_a_response_to_no_request_in_flight_is_reported() -> None:
    seen = Conversation(1).on_response(struct.pack(">i", 77) + b"x", now_ms=0)
    assert seen.request is None and "correlation id 77" in seen.event.problem


def test_a_produce_with_acks_zero_expects_no_response() -> None:
    conversation = Conversation(1)
    zero = ProduceRequest(acks=0, topic_data=PRODUCE.topic_data)
    conversation.forwarded(conversation.on_request(request_frame(zero, 7), now_ms=0))
    assert conversation.in_flight == {}


def test_events_are_json_lines() -> None:
    event = Conversation(1).on_request(request_frame(MetadataRequest(topics=None), 4), now_ms=0)
    data = json.loads(event.json())
    assert data["api"] == "Metadata" and data["body"]["topics"] is None


def test_broker_addresses_are_found_and_rewritten_anywhere_in_a_response() -> None:
    metadata = MetadataResponse(
        brokers=[
            MetadataResponseBroker(node_id=1, host="10.0.0.1", port=9092),
            MetadataResponseBroker(node_id=2, host="10.0.0.2", port=9092),
        ]
    )
    assert broker_addresses(metadata) == {("10.0.0.1", 9092), ("10.0.0.2", 9092)}
    routes = {("10.0.0.1", 9092): ("127.0.0.1", 40001), ("10.0.0.2", 9092): ("127.0.0.1", 40002)}
    rewritten, count = rewrite_addresses(metadata, routes)
    assert count == 2
    assert [(b.node_id, b.host, b.port) for b in rewritten.brokers] == [
        (1, "127.0.0.1", 40001),
        (2, "127.0.0.1", 40002),
    ]
    assert rewrite_addresses(metadata, {}) == (metadata, 0)


def test_api_versions_are_capped_only_for_address_bearing_apis() -> None:
    metadata_max = API_TABLE[3].max_version
    advertised = ApiVersionsResponse(
        api_keys=[
            ApiVersion(api_key=0, min_version=0, max_version=99),  # Produce: left alone
            # Metadata: capped (a newer broker's v13, one past reflog's).
            ApiVersion(api_key=3, min_version=0, max_version=metadata_max + 1),
        ]
    )
    capped, names = cap_versions(advertised, API_TABLE)
    assert names == [f"Metadata to v{metadata_max}"]
    assert [(v.api_key, v.max_version) for v in capped.api_keys] == [(0, 99), (3, metadata_max)]
    plain = ApiVersionsResponse(api_keys=[ApiVersion(api_key=3, min_version=0, max_version=4)])
    assert cap_versions(plain, API_TABLE) == (plain, [])


def test_json_names_error_codes() -> None:
    answer = ProduceResponse(
        responses=[
            TopicProduceResponse(
                name="t", partition_responses=[PartitionProduceResponse(index=0, error_code=19)]
            )
        ]
    )
    [partition] = to_json(answer)["responses"][0]["partition_responses"]
    assert partition["error_code"] == {"code": 19, "name": "NOT_ENOUGH_REPLICAS"}


def test_drops_count_down_and_delays_pick_their_apis() -> None:
    faults = Faults(drop=dict([parse_drop("Produce:2"), parse_drop("fetch")]), delay_ms=300,
                    delay_apis=frozenset({parse_api("Metadata")}))  # fmt: skip
    assert [faults.take_drop(0) for _ in range(3)] == [True, True, False]
    assert all(faults.take_drop(1) for _ in range(5))
    assert not faults.take_drop(3)
    assert (faults.delay_for(3), faults.delay_for(0)) == (300, 0)
    assert Faults(delay_ms=5).delay_for(18) == 5
    with pytest.raises(ValueError, match="unknown API"):
        parse_api("Produse")
    with pytest.raises(ValueError, match="must be a number"):
        parse_drop("Produce:x")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_reflog_wire_knows_is_described_at_every_version(sample: Message) -> None:
    """Nothing in the inspector names a message: whatever reflog.wire decodes, it shows."""
    if sample.API_KEY not in API_TABLE:
        pytest.skip("a controller's message: brokers' clients never send it")
    for version in versions_of(sample):
        conversation = Conversation(1)
        if isinstance(sample, Request):
            event = conversation.on_request(request_frame(sample, version), now_ms=0)
        else:
            header = RequestHeader(sample.API_KEY, version, 5, "learner")
            conversation.in_flight[5] = InFlight(header, 0)
            assert isinstance(sample, Response)
            event = conversation.on_response(
                response_frame(sample, sample.API_KEY, version), 1
            ).event
        assert event.decoded and not event.problem, (version, event.problem)
        assert event.api == API_TABLE[sample.API_KEY].name
        json.loads(event.json())
