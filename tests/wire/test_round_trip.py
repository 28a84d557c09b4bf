"""Every message survives encode then decode, in every version reflog implements."""

from __future__ import annotations

import dataclasses

import pytest

from reflog.wire.apis import (
    API_TABLE,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.schema import ArrayOf, Message, Request, Response, Struct, WireStruct

from .samples import NULL_SAMPLES, SAMPLES, null_allowed, project, struct_fields, versions_of

CASES = [(m, v) for m in SAMPLES for v in versions_of(m)]
IDS = [f"{type(m).__name__}-v{v}" for m, v in CASES]
NULL_CASES = [(m, v) for m in NULL_SAMPLES for v in versions_of(m) if null_allowed(m, v)]
NULL_IDS = [f"{type(m).__name__}-v{v}" for m, v in NULL_CASES]
REFUSED_NULL_CASES = [
    (m, v) for m in NULL_SAMPLES for v in versions_of(m) if not null_allowed(m, v)
]


def test_the_samples_cover_both_directions_of_every_api_in_the_table() -> None:
    covered = {type(m) for m in SAMPLES}
    assert covered == {c for api in API_TABLE.values() for c in (api.request, api.response)}


def test_no_sample_field_is_left_at_its_default() -> None:
    # Otherwise a field that is never written and always decodes to its default would pass.
    for message in SAMPLES:
        on_the_wire = {
            (id(struct), name): (struct, name)
            for v in versions_of(message)
            for struct, name in struct_fields(message, v)
        }
        for struct, name in on_the_wire.values():
            f = next(f for f in dataclasses.fields(struct) if f.name == name)
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                continue  # a required field: any value is a real value
            assert getattr(struct, name) != default, f"{type(struct).__name__}.{name}"


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_message_round_trips(message: Message, version: int) -> None:
    encoded = chunks_to_bytes(message.encode(version))
    reader = Reader(encoded)
    decoded = type(message).decode(reader, version)
    assert reader.remaining == 0
    assert decoded == project(message, version)


@pytest.mark.parametrize(("message", "version"), NULL_CASES, ids=NULL_IDS)
def test_nulls_round_trip_where_the_version_allows_them(message: Message, version: int) -> None:
    decoded = type(message).decode(Reader(chunks_to_bytes(message.encode(version))), version)
    assert decoded == project(message, version)


def test_nulls_are_refused_on_encode_where_the_version_forbids_them() -> None:
    assert REFUSED_NULL_CASES, "the null samples should include versions that refuse them"
    for message, version in REFUSED_NULL_CASES:
        with pytest.raises(ValueError, match="cannot be null"):
            message.encode(version)


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_message_round_trips_with_its_header_through_the_api_table(
    message: Message, version: int
) -> None:
    header = RequestHeader(message.API_KEY, version, correlation_id=4321, client_id="tests")
    if isinstance(message, Request):
        decoded = decode_request(chunks_to_bytes(encode_request(header, message)))
        assert decoded.header == header
        assert decoded.body == project(message, version)
    else:
        assert isinstance(message, Response)
        frame = chunks_to_bytes(encode_response(header, message))
        response_header, body = decode_response(message.API_KEY, version, frame)
        assert response_header.correlation_id == 4321
        assert body == project(message, version)


def test_requests_and_responses_of_one_api_agree_on_versions() -> None:
    for api in API_TABLE.values():
        assert api.request.API_KEY == api.response.API_KEY == api.key
        assert (api.request.MIN_VERSION, api.request.MAX_VERSION) == (
            api.response.MIN_VERSION,
            api.response.MAX_VERSION,
        )
        assert api.request.FLEXIBLE_FROM == api.response.FLEXIBLE_FROM


def test_nested_fields_declare_struct_and_array_types() -> None:
    # A guard for the declarative tables: every list field is an ArrayOf, every struct a Struct.
    for message in SAMPLES:
        for struct, name in struct_fields(message, type(message).MAX_VERSION):
            wire_type = next(
                f.metadata["wire"].type for f in dataclasses.fields(struct) if f.name == name
            )
            value = getattr(struct, name)
            if isinstance(value, list):
                assert isinstance(wire_type, ArrayOf), f"{type(struct).__name__}.{name}"
                if value and isinstance(value[0], WireStruct):
                    assert isinstance(wire_type.item, Struct)
                    assert wire_type.item.cls is type(value[0])
