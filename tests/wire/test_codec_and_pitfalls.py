"""The codec refuses what does not add up, and the ApiVersions pitfalls real brokers hit hold."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from reflog.records import FileSlice, build_batch
from reflog.wire.apis import API_TABLE, api_versions_response, decode_request, encode_response
from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.errors import ErrorCode, FrameTooLargeError, UnsupportedApiError, WireDecodeError
from reflog.wire.headers import RequestHeader, check_frame_size
from reflog.wire.messages.api_versions import ApiVersionsResponse
from reflog.wire.messages.fetch import FetchableTopicResponse, FetchResponse, PartitionData
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse


def test_a_truncated_message_raises_instead_of_reading_garbage() -> None:
    encoded = chunks_to_bytes(MetadataResponse(cluster_id="c").encode(8))
    for cut in range(len(encoded)):
        with pytest.raises(WireDecodeError):
            MetadataResponse.decode(Reader(encoded[:cut]), 8)


def test_an_array_count_beyond_the_frame_is_refused_before_allocating() -> None:
    with pytest.raises(WireDecodeError, match="array"):
        MetadataRequest.decode(Reader(struct.pack(">i", 2_000_000_000)), 1)


def test_a_string_length_beyond_the_frame_is_refused() -> None:
    with pytest.raises(WireDecodeError):
        MetadataRequest.decode(Reader(struct.pack(">ih", 1, 30_000) + b"abc"), 1)


def test_null_where_the_version_forbids_it_is_refused() -> None:
    # Metadata v0 has no nullable topic array: -1 is not "all topics" there.
    with pytest.raises(WireDecodeError, match="null"):
        MetadataRequest.decode(Reader(struct.pack(">i", -1)), 0)


@pytest.mark.parametrize("size", [0, -1, 100 * 1024 * 1024 + 1])
def test_frame_sizes_outside_bounds_are_refused(size: int) -> None:
    with pytest.raises(FrameTooLargeError):
        check_frame_size(struct.pack(">i", size))


def test_api_versions_v3_response_has_a_v0_header_and_a_flexible_body() -> None:
    header = RequestHeader(18, 3, correlation_id=77)
    frame = chunks_to_bytes(encode_response(header, api_versions_response()))
    reader = Reader(frame)
    assert reader.int32() == 77
    # No tagged-field byte after the correlation id: the body's error code follows at once.
    assert reader.int16() == ErrorCode.NONE
    body = ApiVersionsResponse.decode(Reader(frame, 4), 3)
    assert {k.api_key for k in body.api_keys} == set(API_TABLE)


def test_api_versions_of_an_unsupported_version_is_answered_in_the_v0_layout() -> None:
    header = RequestHeader(18, 9, correlation_id=5)
    response = api_versions_response(error_code=ErrorCode.UNSUPPORTED_VERSION)
    frame = chunks_to_bytes(encode_response(header, response))
    body = ApiVersionsResponse.decode(Reader(frame, 4), 0)
    assert body.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert len(frame) == 4 + 2 + 4 + 6 * len(API_TABLE)  # exactly the v0 layout


def test_every_api_is_advertised_from_version_zero_and_nothing_else_is() -> None:
    advertised = {
        k.api_key: (k.min_version, k.max_version) for k in api_versions_response().api_keys
    }
    assert set(advertised) == {0, 1, 2, 3, 18, 19}
    assert all(low == 0 for low, _ in advertised.values())


def test_decode_request_names_the_correlation_id_of_an_unknown_api() -> None:
    frame = struct.pack(">hhih", 71, 0, 1234, -1)
    with pytest.raises(UnsupportedApiError) as raised:
        decode_request(frame)
    assert raised.value.correlation_id == 1234 and raised.value.api_key == 71


def test_decode_request_refuses_an_unsupported_version() -> None:
    with pytest.raises(UnsupportedApiError) as raised:
        decode_request(struct.pack(">hhih", 3, 99, 8, -1))
    assert raised.value.api_version == 99


def test_a_fetch_response_keeps_a_file_slice_as_its_own_chunk(tmp_path: Path) -> None:
    batch = build_batch([(b"k", b"v" * 100, 1)])
    path = tmp_path / "log"
    path.write_bytes(b"x" * 10 + batch)
    with open(path, "rb") as f:
        records = FileSlice(f, 10, len(batch))
        sliced = FetchResponse(
            responses=[
                FetchableTopicResponse(
                    topic="t",
                    partitions=[PartitionData(partition_index=0, error_code=0, records=records)],
                )
            ]
        )
        chunks = sliced.encode(11)
        assert records in chunks  # handed to sendfile, never copied into the message bytes
        assert not any(isinstance(c, bytes) and batch in c for c in chunks)
        in_memory = FetchResponse(
            responses=[
                FetchableTopicResponse(
                    topic="t",
                    partitions=[PartitionData(partition_index=0, error_code=0, records=batch)],
                )
            ]
        )
        assert chunks_to_bytes(chunks) == chunks_to_bytes(in_memory.encode(11))
