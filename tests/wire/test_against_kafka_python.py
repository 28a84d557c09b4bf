"""reflog's messages agree with an independent codec: kafka-python 3's protocol classes.

kafka-python builds its classes from its own copy of Kafka's message schemas, so it
checks reflog's hand-written field tables from outside: the same fields in the same order
in every version, the same nullability and defaults, the same nested type names, and the
same bytes on the wire in both directions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from kafka.protocol.admin import (
    CreateTopicsRequest,
    CreateTopicsResponse,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
    ListGroupsRequest,
    ListGroupsResponse,
)
from kafka.protocol.admin.cluster import DescribeClusterRequest, DescribeClusterResponse
from kafka.protocol.admin.configs import (
    AlterConfigsRequest,
    AlterConfigsResponse,
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)
from kafka.protocol.admin.topics import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    ElectLeadersRequest,
    ElectLeadersResponse,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
)
from kafka.protocol.admin.transactions import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    ListTransactionsRequest,
    ListTransactionsResponse,
)
from kafka.protocol.api_message import ApiMessage
from kafka.protocol.consumer import (
    FetchRequest,
    FetchResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)
from kafka.protocol.metadata import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.producer import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)

from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import API_TABLE, decode_request, encode_response
from reflog.wire.codec import Reader, chunks_to_bytes
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.api_versions import ApiVersion
from reflog.wire.messages.api_versions import ApiVersionsResponse as ReflogApiVersionsResponse
from reflog.wire.schema import (
    UUID,
    ZERO_UUID,
    ArrayOf,
    FieldType,
    Message,
    Request,
    Response,
    Struct,
    WireStruct,
)

from .samples import NULL_SAMPLES, SAMPLES, null_allowed, project, versions_of

THEIRS: dict[str, Any] = {
    c.__name__: c
    for c in (
        ApiVersionsRequest,
        ApiVersionsResponse,
        MetadataRequest,
        MetadataResponse,
        ProduceRequest,
        ProduceResponse,
        FetchRequest,
        FetchResponse,
        ListOffsetsRequest,
        ListOffsetsResponse,
        CreateTopicsRequest,
        CreateTopicsResponse,
        OffsetForLeaderEpochRequest,
        OffsetForLeaderEpochResponse,
        InitProducerIdRequest,
        InitProducerIdResponse,
        DeleteTopicsRequest,
        DeleteTopicsResponse,
        DeleteRecordsRequest,
        DeleteRecordsResponse,
        DescribeConfigsRequest,
        DescribeConfigsResponse,
        AlterConfigsRequest,
        AlterConfigsResponse,
        IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse,
        CreatePartitionsRequest,
        CreatePartitionsResponse,
        ElectLeadersRequest,
        ElectLeadersResponse,
        AlterPartitionReassignmentsRequest,
        AlterPartitionReassignmentsResponse,
        ListPartitionReassignmentsRequest,
        ListPartitionReassignmentsResponse,
        DescribeClusterRequest,
        DescribeClusterResponse,
        FindCoordinatorRequest,
        FindCoordinatorResponse,
        JoinGroupRequest,
        JoinGroupResponse,
        SyncGroupRequest,
        SyncGroupResponse,
        HeartbeatRequest,
        HeartbeatResponse,
        LeaveGroupRequest,
        LeaveGroupResponse,
        OffsetCommitRequest,
        OffsetCommitResponse,
        OffsetFetchRequest,
        OffsetFetchResponse,
        ListGroupsRequest,
        ListGroupsResponse,
        DescribeGroupsRequest,
        DescribeGroupsResponse,
        AddPartitionsToTxnRequest,
        AddPartitionsToTxnResponse,
        AddOffsetsToTxnRequest,
        AddOffsetsToTxnResponse,
        EndTxnRequest,
        EndTxnResponse,
        WriteTxnMarkersRequest,
        WriteTxnMarkersResponse,
        TxnOffsetCommitRequest,
        TxnOffsetCommitResponse,
        DescribeProducersRequest,
        DescribeProducersResponse,
        DescribeTransactionsRequest,
        DescribeTransactionsResponse,
        ListTransactionsRequest,
        ListTransactionsResponse,
    )
}

# kafka-python renames Metadata's two authorized-operations fields and decodes them, and
# DescribeGroups' one, into a set of bit positions; everything else carries Kafka's own name
# and value.
RENAMED = {
    "topic_authorized_operations": "authorized_operations",
    "cluster_authorized_operations": "authorized_operations",
    "authorized_operations": "authorized_operations",
}
NO_OPERATIONS = -(2**31)

CASES = [(m, v) for m in SAMPLES for v in versions_of(m)] + [
    (m, v) for m in NULL_SAMPLES for v in versions_of(m) if null_allowed(m, v)
]
IDS = [f"{type(m).__name__}-v{v}{'-nulls' if m in NULL_SAMPLES else ''}" for m, v in CASES]
MESSAGE_CLASSES = [c for api in API_TABLE.values() for c in (api.request, api.response)]


def theirs_for(cls: type[Message]) -> Any:
    return THEIRS[cls.__name__]


def their_name(name: str) -> str:
    return RENAMED.get(name, name)


def struct_class(wire_type: FieldType) -> type[WireStruct] | None:
    while isinstance(wire_type, ArrayOf):
        wire_type = wire_type.item
    return wire_type.cls if isinstance(wire_type, Struct) else None


def to_bits(value: int) -> set[int] | None:
    return None if value == NO_OPERATIONS else {b for b in range(32) if value >> b & 1}


def from_bits(bits: set[int] | None) -> int:
    if bits is None:
        return NO_OPERATIONS
    value = sum(1 << b for b in bits)
    return value - 2**32 if value >= 2**31 else value


def to_theirs(their_cls: Any, value: WireStruct, version: int) -> Any:
    """The kafka-python object holding the same values as ``value`` for ``version``."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        if version not in f.metadata["wire"].versions:
            continue
        name = their_name(f.name)
        their_field = their_cls.fields[name]
        item = getattr(value, f.name)
        if their_field.is_struct_array():
            item = (
                None
                if item is None
                else [to_theirs(their_field.data_class, x, version) for x in item]
            )
        elif f.name in RENAMED:
            item = to_bits(item)
        kwargs[name] = item
    return their_cls(**kwargs)


def from_theirs(cls: type[WireStruct], theirs: Any, version: int) -> Any:
    """The reflog struct holding what kafka-python decoded; absent fields take reflog's default."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if version not in f.metadata["wire"].versions:
            continue
        item = getattr(theirs, their_name(f.name))
        nested = struct_class(f.metadata["wire"].type)
        if nested is not None and item is not None:
            item = [from_theirs(nested, x, version) for x in item]
        elif f.name in RENAMED:
            item = from_bits(item)
        elif isinstance(item, bytearray | memoryview):
            item = bytes(item)
        elif item is None and f.metadata["wire"].type is UUID:
            item = ZERO_UUID  # kafka-python reads the all-zero id as None
        kwargs[f.name] = item
    return cls(**kwargs)


def their_body_decode(their_cls: Any, data: bytes, version: int) -> Any:
    # kafka-python's ApiVersionsResponse.decode drops to v0 whenever the error code is not 0
    # (the unsupported-version fallback); the body layout of ``version`` is what we check here,
    # so call the generic decoder every other class uses.
    return ApiMessage.decode.__func__(their_cls, data, version=version)


def versions_of_class(cls: type[Message]) -> range:
    return range(cls.MIN_VERSION, cls.MAX_VERSION + 1)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda c: c.__name__)
def test_reflog_declares_the_fields_kafka_python_declares(cls: type[Message]) -> None:
    theirs = theirs_for(cls)
    for version in versions_of_class(cls):
        assert cls.is_flexible(version) == theirs.flexible_version_q(version), version
    compare_fields(cls, theirs.fields, versions_of_class(cls), cls.__name__)


def compare_fields(cls: type[WireStruct], their_fields: Any, versions: range, path: str) -> None:
    """Same untagged fields in the same order per version, same nullability, same explicit
    defaults, and nested structs named after the same Kafka type."""
    ours = {f.name: f for f in dataclasses.fields(cls)}
    for version in versions:
        their_names = [
            n
            for n, f in their_fields.items()
            if f.for_version_q(version) and not f.tagged_field_q(version)
        ]
        our_names = [
            their_name(n) for n, f in ours.items() if version in f.metadata["wire"].versions
        ]
        assert our_names == their_names, f"{path} v{version}"
        for name, f in ours.items():
            if version in f.metadata["wire"].versions:
                nullable = their_fields[their_name(name)].nullable_for_version_q(version)
                assert (version in f.metadata["wire"].nullable) == nullable, (
                    f"{path}.{name} nullable in v{version}"
                )
    for name, f in ours.items():
        if not any(v in f.metadata["wire"].versions for v in versions):
            continue  # a field of a later version, kept for the student's reference
        their_field = their_fields[their_name(name)]
        if "default" in their_field._json and name not in RENAMED:
            assert f.default == their_field.default, f"{path}.{name} default"
        nested = struct_class(f.metadata["wire"].type)
        if nested is not None:
            assert nested.__name__ == their_field.data_class.__name__, f"{path}.{name}"
            compare_fields(nested, their_field.fields, versions, f"{path}.{nested.__name__}")


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_kafka_python_decodes_what_reflog_encodes(message: Message, version: int) -> None:
    theirs = their_body_decode(
        theirs_for(type(message)), chunks_to_bytes(message.encode(version)), version
    )
    assert from_theirs(type(message), theirs, version) == project(message, version)


@pytest.mark.parametrize(("message", "version"), CASES, ids=IDS)
def test_reflog_decodes_what_kafka_python_encodes(message: Message, version: int) -> None:
    theirs = to_theirs(theirs_for(type(message)), message, version)
    encoded = bytes(theirs.encode(version=version))
    reader = Reader(encoded)
    assert type(message).decode(reader, version) == project(message, version)
    assert reader.remaining == 0
    # Not just equal after decoding: the very same bytes.
    assert encoded == chunks_to_bytes(message.encode(version))


REQUEST_CASES = [(m, v) for m, v in CASES if isinstance(m, Request) and m in SAMPLES]
RESPONSE_CASES = [(m, v) for m, v in CASES if isinstance(m, Response) and m in SAMPLES]


@pytest.mark.parametrize(
    ("message", "version"),
    REQUEST_CASES,
    ids=[f"{type(m).__name__}-v{v}" for m, v in REQUEST_CASES],
)
def test_reflog_decodes_a_whole_request_frame_from_kafka_python(
    message: Request, version: int
) -> None:
    theirs = to_theirs(theirs_for(type(message)), message, version)
    theirs.API_VERSION = version
    theirs.with_header(correlation_id=2024, client_id="kafka-python-test")
    decoded = decode_request(bytes(theirs.encode(version=version, header=True)))
    assert decoded.header == RequestHeader(message.API_KEY, version, 2024, "kafka-python-test")
    assert decoded.body == project(message, version)


@pytest.mark.parametrize(
    ("message", "version"),
    RESPONSE_CASES,
    ids=[f"{type(m).__name__}-v{v}" for m, v in RESPONSE_CASES],
)
def test_kafka_python_decodes_a_whole_response_frame_from_reflog(
    message: Response, version: int
) -> None:
    if isinstance(message, ReflogApiVersionsResponse):
        # kafka-python reads any ApiVersions error in the v0 layout: the next test covers it.
        message = dataclasses.replace(message, error_code=ErrorCode.NONE)
    header = RequestHeader(message.API_KEY, version, correlation_id=99, client_id="c")
    frame = chunks_to_bytes(encode_response(header, message))
    theirs = theirs_for(type(message)).decode(frame, version=version, header=True)
    assert theirs.header.correlation_id == 99
    assert from_theirs(type(message), theirs, version) == project(message, version)


def test_kafka_python_reads_reflogs_answer_to_an_api_versions_request_it_cannot_serve() -> None:
    # kafka-python knows ApiVersions v4, reflog stops at v3: reflog answers in the v0 layout
    # with UNSUPPORTED_VERSION, and the client reads it (it falls back to v0 on an error).
    unsupported = ReflogApiVersionsResponse.MAX_VERSION + 1
    assert unsupported <= ApiVersionsResponse.max_version
    body = ReflogApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[ApiVersion(api_key=ApiKey.API_VERSIONS, min_version=0, max_version=3)],
    )
    frame = chunks_to_bytes(
        encode_response(RequestHeader(ApiKey.API_VERSIONS, unsupported, 7, "c"), body)
    )
    theirs = ApiVersionsResponse.decode(frame, version=unsupported, header=True)
    assert theirs.header.correlation_id == 7
    assert theirs.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert [(k.api_key, k.min_version, k.max_version) for k in theirs.api_keys] == [(18, 0, 3)]
