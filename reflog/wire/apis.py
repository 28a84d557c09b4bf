"""The API table: which request and response classes serve each API key, and
the encode/decode entry points both runtimes use.

Every API is advertised from version 0 (older librdkafka switches features
off silently otherwise) up to the highest version reflog really implements,
and nothing reflog does not implement is advertised.

Controllers listen with their own table (:data:`CONTROLLER_API_TABLE`): reflog's
quorum messages, CreateTopics forwarded by brokers, and ApiVersions. A broker's
listener never decodes a Raft message, nor a controller's a Produce.
"""

from __future__ import annotations

from dataclasses import dataclass

from reflog.wire.api_keys import ApiKey
from reflog.wire.codec import Chunk, Reader, Writer
from reflog.wire.errors import ErrorCode, UnsupportedApiError, WireDecodeError
from reflog.wire.headers import RequestHeader, ResponseHeader
from reflog.wire.messages.api_versions import ApiVersion, ApiVersionsRequest, ApiVersionsResponse
from reflog.wire.messages.configs import (
    AlterConfigsRequest,
    AlterConfigsResponse,
    DescribeConfigsRequest,
    DescribeConfigsResponse,
)
from reflog.wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
from reflog.wire.messages.describe_groups import DescribeGroupsRequest, DescribeGroupsResponse
from reflog.wire.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
)
from reflog.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
)
from reflog.wire.messages.fetch import FetchRequest, FetchResponse
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from reflog.wire.messages.incremental_alter_configs import (
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.join_group import JoinGroupRequest, JoinGroupResponse
from reflog.wire.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse
from reflog.wire.messages.list_groups import ListGroupsRequest, ListGroupsResponse
from reflog.wire.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse
from reflog.wire.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.messages.offset_commit import OffsetCommitRequest, OffsetCommitResponse
from reflog.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchResponse
from reflog.wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
)
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    ElectLeadersRequest,
    ElectLeadersResponse,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
)
from reflog.wire.messages.produce import ProduceRequest, ProduceResponse
from reflog.wire.messages.quorum import (
    AllocateProducerIdsRequest,
    AllocateProducerIdsResponse,
    AlterPartitionRequest,
    AlterPartitionResponse,
    BrokerHeartbeatRequest,
    BrokerHeartbeatResponse,
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
    NoResponse,
    QuorumStateRequest,
    QuorumStateResponse,
    RaftAppendEntriesRequest,
    RaftAppendEntriesResponse,
    RaftInstallSnapshotRequest,
    RaftInstallSnapshotResponse,
    RaftVoteRequest,
    RaftVoteResponse,
)
from reflog.wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse
from reflog.wire.messages.topic_admin import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DescribeClusterRequest,
    DescribeClusterResponse,
)
from reflog.wire.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)
from reflog.wire.schema import Request, Response

__all__ = [
    "API_TABLE",
    "CONTROLLER_API_TABLE",
    "Api",
    "ApiKey",
    "DecodedRequest",
    "api_versions_response",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "peek_correlation_id",
]


@dataclass(frozen=True)
class Api:
    request: type[Request]
    response: type[Response]
    one_way: bool = False  # no response is ever sent (reflog's Raft messages)

    @property
    def key(self) -> ApiKey:
        return ApiKey(self.request.API_KEY)

    @property
    def name(self) -> str:
        """Kafka's name for it: ``ProduceRequest`` serves Produce."""
        return self.request.__name__.removesuffix("Request")

    @property
    def min_version(self) -> int:
        return self.request.MIN_VERSION

    @property
    def max_version(self) -> int:
        return self.request.MAX_VERSION


def _table(*apis: Api) -> dict[int, Api]:
    """By :class:`ApiKey`: an IntEnum, so the raw number read off the wire finds its entry."""
    return {api.key: api for api in apis}


API_TABLE = _table(
    Api(ProduceRequest, ProduceResponse),
    Api(FetchRequest, FetchResponse),
    Api(ListOffsetsRequest, ListOffsetsResponse),
    Api(MetadataRequest, MetadataResponse),
    Api(ApiVersionsRequest, ApiVersionsResponse),
    Api(CreateTopicsRequest, CreateTopicsResponse),
    Api(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse),
    Api(InitProducerIdRequest, InitProducerIdResponse),
    Api(DeleteTopicsRequest, DeleteTopicsResponse),
    Api(DeleteRecordsRequest, DeleteRecordsResponse),
    Api(DescribeConfigsRequest, DescribeConfigsResponse),
    Api(AlterConfigsRequest, AlterConfigsResponse),
    Api(CreatePartitionsRequest, CreatePartitionsResponse),
    Api(ElectLeadersRequest, ElectLeadersResponse),
    Api(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
    Api(AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse),
    Api(ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse),
    Api(DescribeClusterRequest, DescribeClusterResponse),
    Api(OffsetCommitRequest, OffsetCommitResponse),
    Api(OffsetFetchRequest, OffsetFetchResponse),
    Api(FindCoordinatorRequest, FindCoordinatorResponse),
    Api(JoinGroupRequest, JoinGroupResponse),
    Api(HeartbeatRequest, HeartbeatResponse),
    Api(LeaveGroupRequest, LeaveGroupResponse),
    Api(SyncGroupRequest, SyncGroupResponse),
    Api(DescribeGroupsRequest, DescribeGroupsResponse),
    Api(ListGroupsRequest, ListGroupsResponse),
    Api(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse),
    Api(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse),
    Api(EndTxnRequest, EndTxnResponse),
    Api(WriteTxnMarkersRequest, WriteTxnMarkersResponse),
    Api(TxnOffsetCommitRequest, TxnOffsetCommitResponse),
    Api(DescribeProducersRequest, DescribeProducersResponse),
    Api(DescribeTransactionsRequest, DescribeTransactionsResponse),
    Api(ListTransactionsRequest, ListTransactionsResponse),
)

CONTROLLER_API_TABLE = _table(
    Api(ApiVersionsRequest, ApiVersionsResponse),
    Api(CreateTopicsRequest, CreateTopicsResponse),
    Api(RaftVoteRequest, NoResponse, one_way=True),
    Api(RaftVoteResponse, NoResponse, one_way=True),
    Api(RaftAppendEntriesRequest, NoResponse, one_way=True),
    Api(RaftAppendEntriesResponse, NoResponse, one_way=True),
    Api(RaftInstallSnapshotRequest, NoResponse, one_way=True),
    Api(RaftInstallSnapshotResponse, NoResponse, one_way=True),
    Api(BrokerRegistrationRequest, BrokerRegistrationResponse),
    Api(BrokerHeartbeatRequest, BrokerHeartbeatResponse),
    Api(AlterPartitionRequest, AlterPartitionResponse),
    Api(QuorumStateRequest, QuorumStateResponse),
    Api(AllocateProducerIdsRequest, AllocateProducerIdsResponse),
    # The admin requests brokers forward (reflog.controller.admin).
    Api(DeleteTopicsRequest, DeleteTopicsResponse),
    Api(CreatePartitionsRequest, CreatePartitionsResponse),
    Api(AlterConfigsRequest, AlterConfigsResponse),
    Api(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
    Api(ElectLeadersRequest, ElectLeadersResponse),
    Api(AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse),
)


def api_versions_response(
    apis: dict[int, Api] | None = None, error_code: int = ErrorCode.NONE
) -> ApiVersionsResponse:
    table = API_TABLE if apis is None else apis
    return ApiVersionsResponse(
        error_code=error_code,
        api_keys=[
            ApiVersion(api_key=a.key, min_version=a.min_version, max_version=a.max_version)
            for a in sorted(table.values(), key=lambda a: a.key)
        ],
    )


@dataclass(frozen=True)
class DecodedRequest:
    header: RequestHeader
    body: Request


def _lookup(api_key: int, api_version: int, correlation_id: int, apis: dict[int, Api]) -> Api:
    api = apis.get(api_key)
    if api is None:
        raise UnsupportedApiError(
            f"unknown API key {api_key}", api_key, api_version, correlation_id
        )
    if not api.request.supports(api_version):
        raise UnsupportedApiError(
            f"{api.name} v{api_version} is not supported "
            f"(reflog has v{api.min_version}..v{api.max_version})",
            api_key,
            api_version,
            correlation_id,
        )
    return api


def peek_correlation_id(frame: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """``(api_key, api_version, correlation_id)`` from the first 8 bytes of a request."""
    r = Reader(frame)
    return r.int16(), r.int16(), r.int32()


def decode_request(
    frame: bytes | bytearray | memoryview,
    apis: dict[int, Api] = API_TABLE,
    *,
    borrow_records: bool = False,
) -> DecodedRequest:
    """Decode one request frame (without its size prefix).

    Raises :class:`UnsupportedApiError` for an unknown key or version (the caller
    answers ApiVersions with UNSUPPORTED_VERSION and closes for anything else) and
    :class:`WireDecodeError` for anything malformed.
    """
    api_key, api_version, correlation_id = peek_correlation_id(frame)
    api = _lookup(api_key, api_version, correlation_id, apis)
    r = Reader(frame, borrow_records=borrow_records)
    header = RequestHeader.read(r, api.request.is_flexible(api_version))
    body = api.request.decode(r, api_version)
    if r.remaining and not body.tolerates_unread_bytes(api_version, r.remaining):
        raise WireDecodeError(f"{r.remaining} unread bytes after {api.name} v{api_version}")
    return DecodedRequest(header, body)


def _response_header_flexible(api_key: int, api_version: int, apis: dict[int, Api]) -> bool:
    if api_key == ApiKey.API_VERSIONS:
        return False  # pitfall 1: the ApiVersions response header is always v0
    return apis[api_key].response.is_flexible(api_version)


def encode_response(
    header: RequestHeader, body: Response, apis: dict[int, Api] = API_TABLE
) -> list[Chunk]:
    """Encode a response to ``header``'s request, without the size prefix."""
    w = Writer()
    ResponseHeader(header.correlation_id).write(
        w, _response_header_flexible(header.api_key, header.api_version, apis)
    )
    version = header.api_version
    if header.api_key == ApiKey.API_VERSIONS and not body.supports(version):
        version = 0  # pitfall 2: an unsupported ApiVersions request gets a v0 answer
    body.encode_into(w, version)
    return w.chunks()


def encode_request(header: RequestHeader, body: Request) -> list[Chunk]:
    """Encode a request (client side), without the size prefix."""
    w = Writer()
    header.write(w, body.is_flexible(header.api_version))
    body.encode_into(w, header.api_version)
    return w.chunks()


def decode_response(
    api_key: int,
    api_version: int,
    frame: bytes | bytearray | memoryview,
    apis: dict[int, Api] = API_TABLE,
) -> tuple[ResponseHeader, Response]:
    """Decode a response frame (client side) for a request we sent."""
    api = apis[api_key]
    r = Reader(frame)
    header = ResponseHeader.read(r, _response_header_flexible(api_key, api_version, apis))
    body = api.response.decode(r, api_version)
    return header, body
