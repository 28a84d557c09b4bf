"""The answer to a group request that fails as a whole, with one error code.

A broker that is not a group's coordinator answers NOT_COORDINATOR, one that is
still loading the group from ``__consumer_offsets`` COORDINATOR_LOAD_IN_PROGRESS:
the same code in every field a client reads, so the client finds the coordinator
again (or retries) whichever request it sent.
"""

from __future__ import annotations

from reflog.wire.messages.describe_groups import (
    DescribedGroup,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
)
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from reflog.wire.messages.join_group import JoinGroupRequest, JoinGroupResponse
from reflog.wire.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse
from reflog.wire.messages.list_groups import ListGroupsRequest, ListGroupsResponse
from reflog.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchResponse,
    OffsetFetchResponsePartition,
    OffsetFetchResponseTopic,
)
from reflog.wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse
from reflog.wire.schema import Request, Response

__all__ = ["group_error_response"]


def group_error_response(request: Request, error_code: int) -> Response:
    """``request``'s response carrying ``error_code`` wherever the response has one."""
    if isinstance(request, OffsetCommitRequest):
        return OffsetCommitResponse(
            topics=[
                OffsetCommitResponseTopic(
                    name=t.name,
                    partitions=[
                        OffsetCommitResponsePartition(p.partition_index, error_code)
                        for p in t.partitions
                    ],
                )
                for t in request.topics
            ]
        )
    if isinstance(request, OffsetFetchRequest):
        # v2+ read the group-level code; v0 and v1 only the partitions'.
        return OffsetFetchResponse(
            topics=[
                OffsetFetchResponseTopic(
                    name=t.name,
                    partitions=[
                        OffsetFetchResponsePartition(p, error_code=error_code)
                        for p in t.partition_indexes
                    ],
                )
                for t in request.topics or []
            ],
            error_code=error_code,
        )
    if isinstance(request, DescribeGroupsRequest):
        return DescribeGroupsResponse(
            groups=[DescribedGroup(error_code, group_id) for group_id in request.groups]
        )
    if isinstance(request, JoinGroupRequest):
        return JoinGroupResponse(error_code=error_code, member_id=request.member_id)
    if isinstance(request, FindCoordinatorRequest):
        return FindCoordinatorResponse(error_code=error_code)
    if isinstance(request, SyncGroupRequest):
        return SyncGroupResponse(error_code=error_code)
    if isinstance(request, HeartbeatRequest):
        return HeartbeatResponse(error_code=error_code)
    if isinstance(request, LeaveGroupRequest):
        return LeaveGroupResponse(error_code=error_code)
    if isinstance(request, ListGroupsRequest):
        return ListGroupsResponse(error_code=error_code)
    raise TypeError(f"{type(request).__name__} is not a group request")
