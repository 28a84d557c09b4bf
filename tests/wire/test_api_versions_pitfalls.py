"""The ApiVersions pitfalls real Kafka-compatible brokers hit, checked through the API table."""

from __future__ import annotations

import struct

import pytest

from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import (
    API_TABLE,
    api_versions_response,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.errors import ErrorCode, UnsupportedApiError
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.schema import Request

from .samples import SAMPLES


def test_the_response_to_api_versions_v3_has_a_v0_header_and_a_flexible_body() -> None:
    body = api_versions_response()
    frame = chunks_to_bytes(
        encode_response(RequestHeader(ApiKey.API_VERSIONS, 3, correlation_id=77), body)
    )
    reader = Reader(frame)
    assert reader.int32() == 77
    # No tagged-field byte after the correlation id: the body's error code follows at once,
    # then the api_keys count as a compact (varint, count + 1) array.
    assert reader.int16() == ErrorCode.NONE
    assert reader.unsigned_varint() == len(API_TABLE) + 1
    assert frame[4:] == chunks_to_bytes(body.encode(3))
    assert ApiVersionsResponse.decode(Reader(frame, 4), 3) == body


def test_other_flexible_responses_keep_their_header_tagged_fields() -> None:
    # The v0 header is ApiVersions' exception, not a rule: decode_response must agree with
    # encode_response about it, which a whole-frame round trip shows.
    body = api_versions_response()
    frame = chunks_to_bytes(
        encode_response(RequestHeader(ApiKey.API_VERSIONS, 3, correlation_id=5), body)
    )
    header, decoded = decode_response(ApiKey.API_VERSIONS, 3, frame)
    assert header.correlation_id == 5 and decoded == body


def test_an_api_versions_v3_request_with_a_flexible_header_decodes() -> None:
    request = ApiVersionsRequest(client_software_name="librdkafka", client_software_version="2")
    header = RequestHeader(ApiKey.API_VERSIONS, 3, correlation_id=1, client_id="rdkafka")
    frame = chunks_to_bytes(encode_request(header, request))
    # Request header v2: client_id stays a non-compact string, then an empty tag section.
    assert frame[8:19] == struct.pack(">h", 7) + b"rdkafka" + b"\x00" + b"\x0b"
    decoded = decode_request(frame)
    assert decoded.header == header and decoded.body == request


@pytest.mark.parametrize("unsupported_version", [4, 9, 32767])
def test_an_api_versions_request_of_an_unsupported_version_gets_the_v0_layout(
    unsupported_version: int,
) -> None:
    response = api_versions_response(error_code=ErrorCode.UNSUPPORTED_VERSION)
    header = RequestHeader(ApiKey.API_VERSIONS, unsupported_version, correlation_id=5)
    frame = chunks_to_bytes(encode_response(header, response))
    # v0 layout: correlation id, error code, int32 count, then 3 x int16 per API; no throttle.
    assert frame[:4] == struct.pack(">i", 5)
    assert frame[4:] == chunks_to_bytes(response.encode(0))
    assert len(frame) == 4 + 2 + 4 + 6 * len(API_TABLE)
    decoded = ApiVersionsResponse.decode(Reader(frame, 4), 0)
    assert decoded.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert decoded.api_keys == response.api_keys


def test_the_v0_fallback_keeps_whatever_error_code_the_caller_sets() -> None:
    response = api_versions_response(error_code=ErrorCode.NONE)
    frame = chunks_to_bytes(
        encode_response(RequestHeader(ApiKey.API_VERSIONS, 9, correlation_id=6), response)
    )
    assert ApiVersionsResponse.decode(Reader(frame, 4), 0).error_code == ErrorCode.NONE


def test_every_api_is_advertised_from_version_zero_and_nothing_beyond_the_table() -> None:
    advertised = api_versions_response().api_keys
    assert [k.api_key for k in advertised] == sorted(API_TABLE)
    for k in advertised:
        api = API_TABLE[k.api_key]
        assert k.min_version == 0
        assert k.max_version == api.request.MAX_VERSION == api.response.MAX_VERSION


def test_every_advertised_version_really_decodes() -> None:
    requests = {type(m).API_KEY: m for m in SAMPLES if isinstance(m, Request)}
    for k in api_versions_response().api_keys:
        for version in range(k.min_version, k.max_version + 1):
            header = RequestHeader(k.api_key, version, correlation_id=version, client_id="c")
            frame = chunks_to_bytes(encode_request(header, requests[k.api_key]))
            assert decode_request(frame).header == header


def test_an_unknown_api_key_is_refused_with_its_correlation_id() -> None:
    # Key 71 is GetTelemetrySubscriptions, which reflog does not implement or advertise.
    with pytest.raises(UnsupportedApiError) as raised:
        decode_request(struct.pack(">hhih", 71, 0, 1234, -1))
    assert (raised.value.api_key, raised.value.api_version) == (71, 0)
    assert raised.value.correlation_id == 1234


@pytest.mark.parametrize(("api_key", "version"), [(3, 99), (0, 9), (1, 12), (18, 4), (19, -1)])
def test_an_unsupported_version_is_refused_with_its_correlation_id(
    api_key: int, version: int
) -> None:
    with pytest.raises(UnsupportedApiError) as raised:
        decode_request(struct.pack(">hhih", api_key, version, 8080, -1) + b"\x00" * 16)
    assert (raised.value.api_key, raised.value.api_version) == (api_key, version)
    assert raised.value.correlation_id == 8080
