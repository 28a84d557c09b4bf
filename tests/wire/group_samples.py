"""Filled-in consumer group messages for the wire tests (see ``samples``): no field left
at its default, and every nullable field null in ``GROUP_NULL_SAMPLES``."""

from __future__ import annotations

from reflog.wire.messages.describe_groups import (
    DescribedGroup,
    DescribedGroupMember,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
)
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from reflog.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    JoinGroupResponse,
    JoinGroupResponseMember,
)
from reflog.wire.messages.leave_group import (
    LeaveGroupRequest,
    LeaveGroupResponse,
    MemberIdentity,
    MemberResponse,
)
from reflog.wire.messages.list_groups import ListedGroup, ListGroupsRequest, ListGroupsResponse
from reflog.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)
from reflog.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
    OffsetFetchResponsePartition,
    OffsetFetchResponseTopic,
)
from reflog.wire.messages.sync_group import (
    SyncGroupRequest,
    SyncGroupRequestAssignment,
    SyncGroupResponse,
)
from reflog.wire.schema import Message

GROUP_SAMPLES: list[Message] = [
    FindCoordinatorRequest(key="payments", key_type=1),
    FindCoordinatorResponse(
        throttle_time_ms=3, error_code=15, error_message="loading", node_id=2, host="h2", port=9093
    ),
    JoinGroupRequest(
        group_id="payments",
        session_timeout_ms=10_000,
        rebalance_timeout_ms=30_000,
        member_id="m-1",
        group_instance_id="instance-1",
        protocol_type="connect",
        protocols=[
            JoinGroupRequestProtocol(name="range", metadata=b"\x00\x01sub"),
            JoinGroupRequestProtocol(name="roundrobin", metadata=b"\x00\x01rr"),
        ],
    ),
    JoinGroupResponse(
        throttle_time_ms=5,
        error_code=79,
        generation_id=4,
        protocol_name="range",
        leader="m-1",
        member_id="m-2",
        members=[
            JoinGroupResponseMember(member_id="m-1", group_instance_id="i-1", metadata=b"a"),
            JoinGroupResponseMember(member_id="m-2", group_instance_id="i-2", metadata=b"b"),
        ],
    ),
    SyncGroupRequest(
        group_id="payments",
        generation_id=4,
        member_id="m-1",
        group_instance_id="instance-1",
        assignments=[
            SyncGroupRequestAssignment(member_id="m-1", assignment=b"\x00\x00p0"),
            SyncGroupRequestAssignment(member_id="m-2", assignment=b"\x00\x00p1"),
        ],
    ),
    SyncGroupResponse(throttle_time_ms=2, error_code=27, assignment=b"\x00\x00p0"),
    HeartbeatRequest(
        group_id="payments", generation_id=4, member_id="m-1", group_instance_id="instance-1"
    ),
    HeartbeatResponse(throttle_time_ms=1, error_code=22),
    LeaveGroupRequest(
        group_id="payments",
        member_id="m-1",
        members=[
            MemberIdentity(member_id="m-1", group_instance_id="i-1"),
            MemberIdentity(member_id="m-2", group_instance_id="i-2"),
        ],
    ),
    LeaveGroupResponse(
        throttle_time_ms=4,
        error_code=25,
        members=[MemberResponse(member_id="m-1", group_instance_id="i-1", error_code=82)],
    ),
    OffsetCommitRequest(
        group_id="payments",
        generation_id_or_member_epoch=4,
        member_id="m-1",
        group_instance_id="instance-1",
        retention_time_ms=86_400_000,
        topics=[
            OffsetCommitRequestTopic(
                name="orders",
                partitions=[
                    OffsetCommitRequestPartition(
                        partition_index=0,
                        committed_offset=42,
                        committed_leader_epoch=3,
                        commit_timestamp=1_700_000_000_000,
                        committed_metadata="checkpoint",
                    ),
                    OffsetCommitRequestPartition(
                        partition_index=2,
                        committed_offset=7,
                        committed_leader_epoch=1,
                        commit_timestamp=1_700_000_000_001,
                        committed_metadata="other",
                    ),
                ],
            )
        ],
    ),
    OffsetCommitResponse(
        throttle_time_ms=6,
        topics=[
            OffsetCommitResponseTopic(
                name="orders",
                partitions=[
                    OffsetCommitResponsePartition(partition_index=0, error_code=22),
                    OffsetCommitResponsePartition(partition_index=2, error_code=25),
                ],
            )
        ],
    ),
    OffsetFetchRequest(
        group_id="payments",
        topics=[
            OffsetFetchRequestTopic(name="orders", partition_indexes=[0, 2]),
            OffsetFetchRequestTopic(name="clicks", partition_indexes=[1]),
        ],
    ),
    OffsetFetchResponse(
        throttle_time_ms=7,
        topics=[
            OffsetFetchResponseTopic(
                name="orders",
                partitions=[
                    OffsetFetchResponsePartition(
                        partition_index=0,
                        committed_offset=42,
                        committed_leader_epoch=3,
                        metadata="checkpoint",
                        error_code=14,
                    )
                ],
            )
        ],
        error_code=16,
    ),
    ListGroupsRequest(),
    ListGroupsResponse(
        throttle_time_ms=8,
        error_code=14,
        groups=[
            ListedGroup(group_id="payments", protocol_type="consumer"),
            ListedGroup(group_id="connect-cluster", protocol_type="connect"),
        ],
    ),
    DescribeGroupsRequest(groups=["payments", "audit"], include_authorized_operations=True),
    DescribeGroupsResponse(
        throttle_time_ms=9,
        groups=[
            DescribedGroup(
                error_code=16,
                group_id="payments",
                group_state="Stable",
                protocol_type="consumer",
                protocol_data="range",
                members=[
                    DescribedGroupMember(
                        member_id="m-1",
                        group_instance_id="i-1",
                        client_id="c-1",
                        client_host="/127.0.0.1",
                        member_metadata=b"sub",
                        member_assignment=b"asg",
                    )
                ],
                authorized_operations=0x28,
            )
        ],
    ),
]

GROUP_NULL_SAMPLES: list[Message] = [
    JoinGroupRequest(group_id="g", group_instance_id=None),
    JoinGroupResponse(members=[JoinGroupResponseMember(member_id="m", group_instance_id=None)]),
    SyncGroupRequest(group_id="g", generation_id=1, member_id="m", group_instance_id=None),
    HeartbeatRequest(group_id="g", generation_id=1, member_id="m", group_instance_id=None),
    LeaveGroupRequest(group_id="g", members=[MemberIdentity(member_id="m")]),
    LeaveGroupResponse(members=[MemberResponse(member_id="m", group_instance_id=None)]),
    FindCoordinatorResponse(error_message=None),
    OffsetCommitRequest(
        group_id="g",
        group_instance_id=None,
        topics=[
            OffsetCommitRequestTopic(
                name="t",
                partitions=[
                    OffsetCommitRequestPartition(
                        partition_index=0, committed_offset=1, committed_metadata=None
                    )
                ],
            )
        ],
    ),
    OffsetFetchRequest(group_id="g", topics=None),
    OffsetFetchResponse(
        topics=[
            OffsetFetchResponseTopic(
                name="t",
                partitions=[OffsetFetchResponsePartition(partition_index=0, metadata=None)],
            )
        ]
    ),
    DescribeGroupsResponse(
        groups=[
            DescribedGroup(
                error_code=0,
                group_id="g",
                members=[DescribedGroupMember(member_id="m", group_instance_id=None)],
            )
        ]
    ),
]
