"""The codec refuses frames that do not add up, before trusting any length in them."""

from __future__ import annotations

import struct

import pytest

from reflog.records.varint import encode_unsigned_varint
from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import decode_request, encode_request
from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.errors import FrameTooLargeError, WireDecodeError
from reflog.wire.headers import DEFAULT_MAX_REQUEST_BYTES, RequestHeader, check_frame_size
from reflog.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.create_topics import CreateTopicsRequest
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from reflog.wire.messages.produce import ProduceRequest, ProduceResponse
from reflog.wire.schema import Message

from .samples import SAMPLES, versions_of

CASES = [(m, v) for m in SAMPLES for v in versions_of(m)]
IDS = [f"{type(m).__name__}-v{v}" for m, v in CASES]


def i16(n: int) -> bytes:
    return struct.pack(">h", n)


def i32(n: int) -> bytes:
    return struct.pack(">i", n)


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_every_truncation_of_a_message_raises_instead_of_reading_garbage(
    message: Message, version: int
) -> None:
    encoded = chunks_to_bytes(message.encode(version))
    for cut in range(len(encoded)):
        with pytest.raises(WireDecodeError):
            type(message).decode(Reader(encoded[:cut]), version)


def test_an_array_count_beyond_the_frame_is_refused_before_reading_elements() -> None:
    with pytest.raises(WireDecodeError, match="array of 2000000000 elements in 4 bytes"):
        MetadataRequest.decode(Reader(i32(2_000_000_000) + b"\x00" * 4), 1)


def test_a_compact_array_count_beyond_the_frame_is_refused() -> None:
    # ApiVersions v3 is flexible: the count is an unsigned varint holding count + 1.
    frame = i16(0) + encode_unsigned_varint(1_000_000 + 1) + b"\x00" * 6
    with pytest.raises(WireDecodeError, match="array of 1000000 elements"):
        ApiVersionsResponse.decode(Reader(frame), 3)


def test_a_string_length_beyond_the_frame_is_refused() -> None:
    with pytest.raises(WireDecodeError, match="needed 30000 bytes"):
        MetadataRequest.decode(Reader(i32(1) + i16(30_000) + b"abc"), 1)


def test_a_compact_string_length_beyond_the_frame_is_refused() -> None:
    frame = encode_unsigned_varint(4_000_000 + 1) + b"abc"
    with pytest.raises(WireDecodeError, match="needed 4000000 bytes"):
        ApiVersionsRequest.decode(Reader(frame), 3)


def test_a_record_set_length_beyond_the_frame_is_refused() -> None:
    # Produce v2: acks, timeout, one topic "t", one partition 0, then records of 2 GiB - 1.
    frame = i16(1) + i32(1000) + i32(1) + i16(1) + b"t" + i32(1) + i32(0)
    frame += i32(0x7FFFFFFF) + b"\x00" * 16
    with pytest.raises(WireDecodeError, match="needed 2147483647 bytes"):
        ProduceRequest.decode(Reader(frame), 2)


def test_a_varint_longer_than_five_bytes_is_refused() -> None:
    with pytest.raises(WireDecodeError, match="longer than 5 bytes"):
        ApiVersionsRequest.decode(Reader(b"\xff" * 8), 3)


def test_a_tagged_field_longer_than_the_frame_is_refused() -> None:
    # Two empty compact strings, then one tagged field (tag 0) claiming 500 bytes.
    frame = b"\x01\x01" + b"\x01" + b"\x00" + encode_unsigned_varint(500) + b"xy"
    with pytest.raises(WireDecodeError, match="needed 500 bytes"):
        ApiVersionsRequest.decode(Reader(frame), 3)


def test_a_string_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(WireDecodeError, match="UTF-8"):
        MetadataRequest.decode(Reader(i32(1) + i16(2) + b"\xff\xfe"), 1)


@pytest.mark.parametrize(
    ("cls", "version", "frame"),
    [
        # Metadata v0 has no null topic array: -1 is not "all topics" there.
        (MetadataRequest, 0, i32(-1)),
        # A topic name is never null (CreateTopics v4: topics[0].name = null).
        (CreateTopicsRequest, 4, i32(1) + i16(-1)),
        # Produce response v8: responses[0].name = null.
        (ProduceResponse, 8, i32(1) + i16(-1)),
        # Produce request v3: transactional_id may be null, topic_data may not.
        (ProduceRequest, 3, i16(-1) + i16(1) + i32(1000) + i32(-1)),
    ],
    ids=["metadata-v0-topics", "create-topics-name", "produce-response-name", "produce-topics"],
)
def test_null_where_the_version_forbids_it_is_refused(
    cls: type[Message], version: int, frame: bytes
) -> None:
    with pytest.raises(WireDecodeError, match="is null in version"):
        cls.decode(Reader(frame), version)


def test_null_where_the_version_allows_it_is_read_as_none() -> None:
    assert MetadataRequest.decode(Reader(i32(-1)), 1).topics is None
    produce = ProduceRequest.decode(Reader(i16(-1) + i16(1) + i32(1000) + i32(0)), 3)
    assert produce.transactional_id is None


@pytest.mark.parametrize("size", [0, -1, -(2**31), DEFAULT_MAX_REQUEST_BYTES + 1, 2**31 - 1])
def test_frame_sizes_outside_bounds_are_refused(size: int) -> None:
    with pytest.raises(FrameTooLargeError):
        check_frame_size(i32(size))


def test_frame_sizes_inside_bounds_are_accepted_and_the_limit_is_configurable() -> None:
    assert check_frame_size(i32(1)) == 1
    assert check_frame_size(i32(DEFAULT_MAX_REQUEST_BYTES)) == DEFAULT_MAX_REQUEST_BYTES
    assert check_frame_size(i32(1024), max_bytes=1024) == 1024
    with pytest.raises(FrameTooLargeError):
        check_frame_size(i32(1025), max_bytes=1024)


def test_a_request_with_bytes_left_over_is_refused() -> None:
    frame = chunks_to_bytes(
        encode_request(RequestHeader(ApiKey.METADATA, 1, 5, "c"), MetadataRequest())
    )
    assert decode_request(frame).header.correlation_id == 5
    with pytest.raises(WireDecodeError, match="1 unread bytes"):
        decode_request(frame + b"\x00")


def test_librdkafkas_all_topics_metadata_v12_and_its_padding_read_as_kafka_reads_it() -> None:
    # Captured from confluent-kafka 2.16 (librdkafka 2.16.0) listing every topic: its
    # 4-byte slot for the topics count left at zero, a compact null and 3 padding bytes.
    frame = bytes.fromhex("0003000c00000003000772646b61666b610000000000010000")
    decoded = decode_request(frame)
    assert decoded.header == RequestHeader(ApiKey.METADATA, 12, 3, "rdkafka")
    assert decoded.body == MetadataRequest(topics=None, allow_auto_topic_creation=False)
    # Only that case: the same leftover after a request naming topics is refused.
    named = MetadataRequest(topics=[MetadataRequestTopic(name="t")])
    frame = chunks_to_bytes(encode_request(RequestHeader(ApiKey.METADATA, 12, 4, "c"), named))
    with pytest.raises(WireDecodeError, match="3 unread bytes"):
        decode_request(frame + b"\x00" * 3)


def test_a_request_too_short_for_its_header_is_refused() -> None:
    with pytest.raises(WireDecodeError):
        decode_request(i16(3) + i16(1) + b"\x00")
