"""An admin client core for consumer groups (what ``kafka-consumer-groups.sh`` asks).

* **list**: every broker's ListGroups (each broker lists the groups it coordinates).
* **describe**: the group's coordinator (FindCoordinator), its members and their
  assignments (DescribeGroups), its committed offsets (OffsetFetch of every partition),
  and each partition's log end (ListOffsets ``latest`` at its leader): the lag is the
  difference.
* **reset offsets**: as describe, then the new offsets (``earliest`` / ``latest`` through
  ListOffsets, or a given one) committed with generation -1, the "simple" commit a
  coordinator takes only while the group has no members, as Kafka requires.

Each step starts when the answer before it has come; ``result`` is set when all is done,
with the error that stopped it if one did.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from reflog.client.actions import ClientAction
from reflog.client.network import ClientNetwork
from reflog.groups.consumer_protocol import decode_assignment, to_topic_partitions
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode, WireDecodeError
from reflog.wire.messages.describe_groups import (
    DescribedGroup,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
)
from reflog.wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from reflog.wire.messages.list_groups import ListGroupsRequest, ListGroupsResponse
from reflog.wire.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetCommitResponse,
)
from reflog.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchResponse
from reflog.wire.schema import Request, Response

__all__ = ["GroupAdmin", "GroupDescription", "MemberDescription", "PartitionOffsets"]

EARLIEST = -2
LATEST = -1
# Answers that mean "ask again in a moment" rather than "no".
_RETRIABLE = (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE)


@dataclass(frozen=True)
class MemberDescription:
    member_id: str
    group_instance_id: str | None
    client_id: str
    host: str
    assignment: tuple[TopicPartition, ...]


@dataclass(frozen=True)
class PartitionOffsets:
    tp: TopicPartition
    committed: int | None  # None: nothing committed
    log_end: int | None  # None: unknown (no leader)
    owner: MemberDescription | None

    @property
    def lag(self) -> int | None:
        if self.committed is None or self.log_end is None:
            return None
        return max(self.log_end - self.committed, 0)


@dataclass
class GroupDescription:
    group_id: str
    state: str = "Dead"
    protocol: str = ""
    coordinator: str = ""  # "host:port (id)"
    members: list[MemberDescription] = field(default_factory=list)
    partitions: list[PartitionOffsets] = field(default_factory=list)


@dataclass(frozen=True)
class GroupAdminResult:
    error_code: int = ErrorCode.NONE
    message: str = ""
    groups: tuple[str, ...] = ()
    description: GroupDescription | None = None
    new_offsets: dict[TopicPartition, int] = field(default_factory=dict)


class GroupAdmin:
    def __init__(
        self,
        bootstrap: list[tuple[str, int]],
        request_timeout_ms: int = 30_000,
        retry_backoff_ms: int = 100,
    ) -> None:
        self.network = ClientNetwork(
            bootstrap, client_id="reflog-consumer-groups", request_timeout_ms=request_timeout_ms
        )
        self.retry_backoff_ms = retry_backoff_ms
        self.result: GroupAdminResult | None = None
        self._coordinator: int | None = None
        self._retry: tuple[int, Callable[[], None]] | None = None  # (at_ms, what)
        self._describing: GroupDescription | None = None
        self._log_ends: dict[TopicPartition, int | None] = {}
        self._then: Callable[[GroupDescription], None] = self._done_describing
        self._start: Callable[[], None] | None = None  # once the brokers are known
        self._leaders: dict[TopicPartition, int] = {}

    # -- what the command asks --------------------------------------------------------
    def list_groups(self, now_ms: int) -> None:
        self._start = self._list_groups

    def describe(self, group_id: str, now_ms: int) -> None:
        self._describing = GroupDescription(group_id)
        self._start = self._find_coordinator

    def reset_offsets(
        self, group_id: str, topics: list[str], to: int, execute: bool, now_ms: int
    ) -> None:
        """``to``: EARLIEST, LATEST or an offset; only for a group with no members.
        ``topics`` empty: every topic the group has committed offsets for."""
        self._reset = (topics, to, execute)
        self._then = self._plan_reset
        self.describe(group_id, now_ms)

    # -- the runtime's side -----------------------------------------------------------
    def tick(self, now_ms: int) -> list[ClientAction]:
        self.network.tick(now_ms)
        if self._start is not None and self.network.metadata_updated_ms is not None:
            # The first metadata answer names the brokers by id: requests can go to them.
            start, self._start = self._start, None
            start()
        if self._retry is not None and now_ms >= self._retry[0]:
            _, again = self._retry
            self._retry = None
            again()
        return self.network.take_actions()

    def next_deadline_ms(self) -> int | None:
        deadlines = [d for d in (self.network.next_deadline_ms(),) if d is not None]
        if self._retry is not None:
            deadlines.append(self._retry[0])
        return min(deadlines, default=None)

    # -- steps ------------------------------------------------------------------------
    def _request(self, node: int, body: Request, then: Callable[[Response], None]) -> None:
        def on_response(response: Response | None, error: int) -> None:
            if response is None:
                self._fail(error)
            else:
                then(response)

        self.network.request(node, body, self.network.now_ms, on_response)

    def _fail(self, error: int, message: str = "") -> None:
        if self.result is None:
            self.result = GroupAdminResult(error, message)

    def _later(self, again: Callable[[], None]) -> None:
        self._retry = (self.network.now_ms + self.retry_backoff_ms, again)

    def _list_groups(self) -> None:
        brokers = sorted(self.network.brokers)
        groups: set[str] = set()
        waiting = set(brokers)

        def answered(broker: int) -> Callable[[Response], None]:
            def on_groups(listed: Response) -> None:
                assert isinstance(listed, ListGroupsResponse)
                groups.update(g.group_id for g in listed.groups)
                waiting.discard(broker)
                if not waiting and self.result is None:
                    self.result = GroupAdminResult(groups=tuple(sorted(groups)))

            return on_groups

        for broker in brokers:
            self._request(broker, ListGroupsRequest(), answered(broker))

    def _find_coordinator(self) -> None:
        assert self._describing is not None
        request = FindCoordinatorRequest(key=self._describing.group_id)
        self._request(self.network.any_node(), request, self._on_coordinator)

    def _on_coordinator(self, response: Response) -> None:
        assert isinstance(response, FindCoordinatorResponse) and self._describing is not None
        if response.error_code in _RETRIABLE:
            self._later(self._find_coordinator)
            return
        if response.error_code != ErrorCode.NONE:
            self._fail(response.error_code, response.error_message or "")
            return
        self._coordinator = response.node_id
        self._describing.coordinator = f"{response.host}:{response.port} ({response.node_id})"
        request = DescribeGroupsRequest(groups=[self._describing.group_id])
        self._request(response.node_id, request, self._on_described)

    def _on_described(self, response: Response) -> None:
        assert isinstance(response, DescribeGroupsResponse) and self._describing is not None
        [group] = response.groups
        if group.error_code in (*_RETRIABLE, ErrorCode.NOT_COORDINATOR):
            self._later(self._find_coordinator)
            return
        if group.error_code != ErrorCode.NONE:
            self._fail(group.error_code)
            return
        self._describing.state = group.group_state or "Dead"
        self._describing.protocol = group.protocol_data
        self._describing.members = [_member(group, m) for m in range(len(group.members))]
        assert self._coordinator is not None
        request = OffsetFetchRequest(group_id=self._describing.group_id, topics=None)
        self._request(self._coordinator, request, self._on_committed)

    def _on_committed(self, response: Response) -> None:
        assert isinstance(response, OffsetFetchResponse) and self._describing is not None
        if response.error_code in (*_RETRIABLE, ErrorCode.NOT_COORDINATOR):
            self._later(self._find_coordinator)
            return
        if response.error_code != ErrorCode.NONE:
            self._fail(response.error_code)
            return
        committed = {
            TopicPartition(t.name, p.partition_index): p.committed_offset
            for t in response.topics
            for p in t.partitions
            if p.error_code == ErrorCode.NONE and p.committed_offset >= 0
        }
        owners = {tp: m for m in self._describing.members for tp in m.assignment}
        self._describing.partitions = [
            PartitionOffsets(tp, committed.get(tp), None, owners.get(tp))
            for tp in sorted(set(committed) | set(owners))
        ]
        topics = sorted({p.tp.topic for p in self._describing.partitions})
        if self._then == self._plan_reset and self._reset[0]:
            topics = sorted(set(self._reset[0]))
        request = MetadataRequest(
            topics=[MetadataRequestTopic(name=t) for t in topics], allow_auto_topic_creation=False
        )
        self._request(self.network.any_node(), request, self._on_topics)

    def _on_topics(self, response: Response) -> None:
        assert isinstance(response, MetadataResponse) and self._describing is not None
        self._topic_partitions = {
            t.name: sorted(p.partition_index for p in t.partitions)
            for t in response.topics
            if t.error_code == ErrorCode.NONE
        }
        self._log_ends = {}
        by_leader: dict[int, list[TopicPartition]] = {}
        for topic in response.topics:
            if topic.name is None:
                continue  # only a topic asked for by id has none; this asks by name
            for p in topic.partitions:
                tp = TopicPartition(topic.name, p.partition_index)
                self._log_ends[tp] = None
                if p.leader_id >= 0:
                    by_leader.setdefault(p.leader_id, []).append(tp)
                    self._leaders[tp] = p.leader_id
        self._ask_offsets(by_leader, LATEST, self._log_ends, self._described)

    def _ask_offsets(
        self,
        by_leader: dict[int, list[TopicPartition]],
        timestamp: int,
        into: dict[TopicPartition, int | None],
        then: Callable[[], None],
    ) -> None:
        """ListOffsets at each leader; ``then()`` once every leader has answered."""
        waiting = set(by_leader)
        if not waiting:
            then()
            return

        def answered(leader: int) -> Callable[[Response], None]:
            def on_offsets(response: Response) -> None:
                assert isinstance(response, ListOffsetsResponse)
                for topic in response.topics:
                    for p in topic.partitions:
                        if p.error_code == ErrorCode.NONE and p.offset >= 0:
                            into[TopicPartition(topic.name, p.partition_index)] = p.offset
                waiting.discard(leader)
                if not waiting:
                    then()

            return on_offsets

        for leader, tps in sorted(by_leader.items()):
            topics: dict[str, list[ListOffsetsPartition]] = {}
            for tp in tps:
                topics.setdefault(tp.topic, []).append(
                    ListOffsetsPartition(partition_index=tp.partition, timestamp=timestamp)
                )
            request = ListOffsetsRequest(
                topics=[ListOffsetsTopic(name=t, partitions=p) for t, p in topics.items()]
            )
            self._request(leader, request, answered(leader))

    def _described(self) -> None:
        assert self._describing is not None
        self._describing.partitions = [
            PartitionOffsets(p.tp, p.committed, self._log_ends.get(p.tp), p.owner)
            for p in self._describing.partitions
        ]
        self._then(self._describing)

    def _done_describing(self, description: GroupDescription) -> None:
        if self.result is None:
            self.result = GroupAdminResult(description=description)

    # -- resetting --------------------------------------------------------------------
    def _plan_reset(self, description: GroupDescription) -> None:
        topics, to, execute = self._reset
        if description.state not in ("Empty", "Dead"):
            self._fail(
                ErrorCode.NON_EMPTY_GROUP,
                f"Assignments can only be reset if the group '{description.group_id}' is "
                f"inactive, but the current state is {description.state}.",
            )
            return
        if topics:
            tps = [TopicPartition(t, p) for t in topics for p in self._topic_partitions.get(t, [])]
            missing = [t for t in topics if t not in self._topic_partitions]
            if missing:
                self._fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {missing[0]!r}")
                return
        else:
            tps = [p.tp for p in description.partitions]
        new: dict[TopicPartition, int | None] = {tp: to for tp in tps}
        if to >= 0:
            self._apply_reset(description, new, execute)
            return
        by_leader: dict[int, list[TopicPartition]] = {}
        for tp in tps:
            leader = self._leaders.get(tp)
            if leader is not None:
                by_leader.setdefault(leader, []).append(tp)
        new = dict.fromkeys(tps)
        self._ask_offsets(by_leader, to, new, lambda: self._apply_reset(description, new, execute))

    def _apply_reset(
        self, description: GroupDescription, new: dict[TopicPartition, int | None], execute: bool
    ) -> None:
        unknown = sorted(tp for tp, offset in new.items() if offset is None)
        if unknown:
            self._fail(ErrorCode.LEADER_NOT_AVAILABLE, f"no offset for {unknown[0]}")
            return
        offsets = {tp: offset for tp, offset in new.items() if offset is not None}
        if not execute:
            self.result = GroupAdminResult(description=description, new_offsets=offsets)
            return
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for tp, offset in sorted(offsets.items()):
            by_topic.setdefault(tp.topic, []).append(
                OffsetCommitRequestPartition(partition_index=tp.partition, committed_offset=offset)
            )
        request = OffsetCommitRequest(
            group_id=description.group_id,
            generation_id_or_member_epoch=-1,
            member_id="",
            topics=[OffsetCommitRequestTopic(name=t, partitions=p) for t, p in by_topic.items()],
        )

        def on_commit(response: Response) -> None:
            assert isinstance(response, OffsetCommitResponse)
            errors = {p.error_code for t in response.topics for p in t.partitions}
            error = max(errors - {ErrorCode.NONE}, default=ErrorCode.NONE)
            if error != ErrorCode.NONE:
                self._fail(error)
            else:
                self.result = GroupAdminResult(description=description, new_offsets=offsets)

        assert self._coordinator is not None
        self._request(self._coordinator, request, on_commit)


def _member(group: DescribedGroup, i: int) -> MemberDescription:
    member = group.members[i]
    assignment: list[TopicPartition] = []
    if group.protocol_type == "consumer" and member.member_assignment:
        with suppress(WireDecodeError):  # not a consumer's assignment after all: show none
            assignment = to_topic_partitions(
                decode_assignment(member.member_assignment).assigned_partitions
            )
    return MemberDescription(
        member.member_id,
        member.group_instance_id,
        member.client_id,
        member.client_host,
        tuple(assignment),
    )
