"""The controller's answers to the admin APIs: which records each request appends.

After Kafka's ``ReplicationControlManager`` and ``ConfigurationControlManager``. Every
function here is pure: from the committed :class:`MetadataImage` and a request, it
computes the metadata records the request appends (nothing, if it is refused or only
validated) and the answer the client gets once they commit. The
:class:`~reflog.controller.quorum_controller.QuorumController` proposes them like any
other write.

A reassignment (KIP-455) goes in steps, each a record: first the partition's replica
set grows to the old replicas plus the new ones (``adding_replicas``,
``removing_replicas``), so the new brokers start copying from the leader; once every
new replica is in the ISR, :func:`complete_reassignment` shrinks the set to the target,
moving leadership off a removed replica if it led. Each broker deletes its copy of a
partition it is no longer a replica of.
"""

from __future__ import annotations

import copy

from reflog.controller.image import (
    BROKER_RESOURCE,
    TOPIC_RESOURCE,
    MetadataImage,
    PartitionState,
    partition_change,
)
from reflog.controller.placement import assign_replicas, choose_leader
from reflog.controller.records import (
    NO_LEADER,
    ConfigRecord,
    MetadataRecord,
    PartitionChangeRecord,
    PartitionRecord,
    RemoveTopicRecord,
)
from reflog.storage.log_config import LogConfig
from reflog.storage.topic_config import (
    BROKER_TOPIC_DEFAULTS,
    TopicConfigError,
    apply_overrides,
)
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.configs import (
    AlterConfigsRequest,
    AlterConfigsResource,
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)
from reflog.wire.messages.create_topics import (
    CreatableTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.incremental_alter_configs import (
    AlterConfigsResource as IncrementalAlterConfigsResource,
)
from reflog.wire.messages.incremental_alter_configs import (
    ConfigOperation,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    ElectionType,
    ElectLeadersRequest,
    ElectLeadersResponse,
    PartitionResult,
    ReassignablePartitionResponse,
    ReassignableTopicResponse,
    ReplicaElectionResult,
)
from reflog.wire.messages.topic_admin import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
    DeletableTopicResult,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DeleteTopicState,
)
from reflog.wire.schema import ZERO_UUID, Response

__all__ = [
    "ADMIN_REQUESTS",
    "ADMIN_RESPONSES",
    "AdminRequest",
    "complete_reassignment",
    "effective_topic_config",
    "error_answer",
    "has_error",
    "plan_admin",
]

# The requests a broker forwards to the active controller (KIP-590).
AdminRequest = (
    CreateTopicsRequest
    | DeleteTopicsRequest
    | CreatePartitionsRequest
    | AlterConfigsRequest
    | IncrementalAlterConfigsRequest
    | ElectLeadersRequest
    | AlterPartitionReassignmentsRequest
)

# The ones QuorumController.admin takes (CreateTopics has its own entry point).
ADMIN_REQUESTS = (
    DeleteTopicsRequest,
    CreatePartitionsRequest,
    AlterConfigsRequest,
    IncrementalAlterConfigsRequest,
    ElectLeadersRequest,
    AlterPartitionReassignmentsRequest,
)

ADMIN_RESPONSES = (
    CreateTopicsResponse,
    DeleteTopicsResponse,
    CreatePartitionsResponse,
    AlterConfigsResponse,
    IncrementalAlterConfigsResponse,
    ElectLeadersResponse,
    AlterPartitionReassignmentsResponse,
)

Plan = tuple[list[MetadataRecord], Response]

_UNKNOWN_TOPIC = "This server does not host this topic-partition."
_UNKNOWN_TOPIC_ID = "This server does not host this topic ID."


def plan_admin(image: MetadataImage, defaults: LogConfig, request: AdminRequest) -> Plan:
    """The records ``request`` appends and its answer. ``defaults``: the controller's own
    topic defaults (its static config), under the cluster's dynamic ones."""
    if isinstance(request, DeleteTopicsRequest):
        return _delete_topics(image, request)
    if isinstance(request, CreatePartitionsRequest):
        return _create_partitions(image, request)
    if isinstance(request, AlterConfigsRequest | IncrementalAlterConfigsRequest):
        return _alter_configs(image, defaults, request)
    if isinstance(request, ElectLeadersRequest):
        return _elect_leaders(image, defaults, request)
    if isinstance(request, AlterPartitionReassignmentsRequest):
        return _reassign(image, request)
    raise TypeError(f"CreateTopics is planned by the controller itself, not {request!r}")


# -- answers for requests that never reached a decision -------------------------------------
def error_answer(request: AdminRequest, code: int) -> Response:
    """``request`` answered with ``code`` for every item (NOT_CONTROLLER, REQUEST_TIMED_OUT)."""
    if isinstance(request, CreateTopicsRequest):
        return CreateTopicsResponse(
            topics=[CreatableTopicResult(name=t.name, error_code=code) for t in request.topics]
        )
    if isinstance(request, DeleteTopicsRequest):
        return DeleteTopicsResponse(
            responses=[
                DeletableTopicResult(name=t.name, topic_id=t.topic_id, error_code=code)
                for t in request.topic_states()
            ]
        )
    if isinstance(request, CreatePartitionsRequest):
        return CreatePartitionsResponse(
            results=[
                CreatePartitionsTopicResult(name=t.name, error_code=code) for t in request.topics
            ]
        )
    if isinstance(request, AlterConfigsRequest | IncrementalAlterConfigsRequest):
        answers = [
            AlterConfigsResourceResponse(
                error_code=code, resource_type=r.resource_type, resource_name=r.resource_name
            )
            for r in request.resources
        ]
        if isinstance(request, AlterConfigsRequest):
            return AlterConfigsResponse(responses=answers)
        return IncrementalAlterConfigsResponse(responses=answers)
    if isinstance(request, ElectLeadersRequest):
        return ElectLeadersResponse(
            error_code=code,
            replica_election_results=[
                ReplicaElectionResult(
                    topic=t.topic,
                    partition_result=[
                        PartitionResult(partition_id=p, error_code=code) for p in t.partitions
                    ],
                )
                for t in request.topic_partitions or []
            ],
        )
    return AlterPartitionReassignmentsResponse(error_code=code)


def has_error(response: Response, code: int) -> bool:
    """Whether any item of an admin answer carries ``code``."""
    if (
        isinstance(response, ElectLeadersResponse | AlterPartitionReassignmentsResponse)
        and response.error_code == code
    ):
        return True
    items: list[object] = []
    for attr in ("topics", "responses", "results"):
        items += getattr(response, attr, None) or []
    return any(getattr(item, "error_code", None) == code for item in items)


# -- DeleteTopics ---------------------------------------------------------------------------
def _delete_topics(image: MetadataImage, request: DeleteTopicsRequest) -> Plan:
    """Each topic by name (every version) or by id (v6+), as Kafka's ``ControllerApis``
    checks them: one of the two, never both; an unknown id is UNKNOWN_TOPIC_ID."""
    records: list[MetadataRecord] = []
    results = []
    for asked in request.topic_states():
        result = _delete_one(image, asked, records)
        if result.error_code == ErrorCode.NONE:
            assert result.name is not None
            records.append(RemoveTopicRecord(name=result.name))
        results.append(result)
    return records, DeleteTopicsResponse(responses=results)


def _delete_one(
    image: MetadataImage, asked: DeleteTopicState, planned: list[MetadataRecord]
) -> DeletableTopicResult:
    by_id = asked.topic_id != ZERO_UUID
    if by_id == (asked.name is not None):
        message = (
            "You may not specify both topic name and topic id."
            if by_id
            else "Neither topic name nor id were specified."
        )
        return DeletableTopicResult(
            name=None, error_code=ErrorCode.INVALID_REQUEST, error_message=message
        )
    if by_id:
        topic = next((t for t in image.topics.values() if t.topic_id == asked.topic_id), None)
    else:
        topic = image.topics.get(asked.name or "")
    if topic is None or any(
        isinstance(r, RemoveTopicRecord) and r.name == topic.name for r in planned
    ):
        if by_id:
            return DeletableTopicResult(
                name=None,
                topic_id=asked.topic_id,
                error_code=ErrorCode.UNKNOWN_TOPIC_ID,
                error_message=_UNKNOWN_TOPIC_ID,
            )
        return DeletableTopicResult(
            name=asked.name,
            error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            error_message=_UNKNOWN_TOPIC,
        )
    return DeletableTopicResult(name=topic.name, topic_id=topic.topic_id)


# -- CreatePartitions -----------------------------------------------------------------------
def _create_partitions(image: MetadataImage, request: CreatePartitionsRequest) -> Plan:
    records: list[MetadataRecord] = []
    results = []
    live = [b.broker_id for b in image.live_brokers()]
    for topic in request.topics:
        code, message, new = _new_partitions(image, live, topic.name, topic.count, topic)
        if code == ErrorCode.NONE and not request.validate_only:
            records += new
        results.append(
            CreatePartitionsTopicResult(name=topic.name, error_code=code, error_message=message)
        )
    return records, CreatePartitionsResponse(results=results)


def _new_partitions(
    image: MetadataImage, live: list[int], name: str, count: int, topic: object
) -> tuple[int, str | None, list[MetadataRecord]]:
    existing = image.topics.get(name)
    if existing is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, _UNKNOWN_TOPIC, []
    current = len(existing.partitions)
    if count < current:
        return (
            ErrorCode.INVALID_PARTITIONS,
            f"Topic currently has {current} partitions, which is higher than the "
            f"requested {count}.",
            [],
        )
    if count == current:
        return ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partitions.", []
    factor = len(existing.partitions[0].replicas)
    given = getattr(topic, "assignments", None)
    if given is not None:
        if len(given) != count - current:
            return (
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Attempted to add {count - current} additional partition(s), but only "
                f"{len(given)} assignment(s) were specified.",
                [],
            )
        assignment = [list(a.broker_ids) for a in given]
        for replicas in assignment:
            problem = _assignment_problem(image, replicas)
            if problem is not None:
                return ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem, []
    else:
        if factor > len(live):
            return (
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {factor} time(s): The target replication "
                f"factor of {factor} cannot be reached because only {len(live)} broker(s) "
                "are registered.",
                [],
            )
        start = len(image.topics)
        assignment = assign_replicas(live, count, factor, start)[current:]
    records: list[MetadataRecord] = [
        PartitionRecord(topic=name, partition=current + i, replicas=r, isr=r, leader=r[0])
        for i, r in enumerate(assignment)
    ]
    return ErrorCode.NONE, None, records


def _assignment_problem(image: MetadataImage, replicas: list[int]) -> str | None:
    """Kafka's checks of a replica list given by hand; None if it is fine."""
    if not replicas:
        return "The manual partition assignment includes an empty replica list."
    seen: set[int] = set()
    for broker in replicas:
        if broker in seen:
            return f"The manual partition assignment includes the broker {broker} more than once."
        seen.add(broker)
        if broker not in image.brokers:
            return (
                f"The manual partition assignment includes broker {broker}, but no such "
                "broker is registered."
            )
    return None


# -- configs --------------------------------------------------------------------------------
def effective_topic_config(
    image: MetadataImage, topic: str, defaults: LogConfig, broker_id: int | None = None
) -> LogConfig:
    """A topic's config as it applies: the static defaults, then the cluster's dynamic
    broker defaults, then (on a broker) that broker's own, then the topic's overrides."""
    return apply_overrides(defaults, topic_overrides(image, topic, broker_id))


def topic_overrides(image: MetadataImage, topic: str, broker_id: int | None) -> dict[str, str]:
    """Every override that applies to ``topic``'s logs, by topic config name."""
    merged: dict[str, str] = {}
    for resource in ("", None if broker_id is None else str(broker_id)):
        if resource is None:
            continue
        for name, value in image.broker_configs.get(resource, {}).items():
            merged[BROKER_TOPIC_DEFAULTS[name]] = value
    merged.update(image.topics[topic].configs if topic in image.topics else {})
    return merged


def _alter_configs(
    image: MetadataImage,
    defaults: LogConfig,
    request: AlterConfigsRequest | IncrementalAlterConfigsRequest,
) -> Plan:
    records: list[MetadataRecord] = []
    answers = []
    for resource in request.resources:
        code, message, changes = _config_changes(image, defaults, resource)
        if code == ErrorCode.NONE and not request.validate_only:
            records += changes
        answers.append(
            AlterConfigsResourceResponse(
                error_code=code,
                error_message=message,
                resource_type=resource.resource_type,
                resource_name=resource.resource_name,
            )
        )
    if records:
        # unclean.leader.election.enable turned on elects a leader at once where a
        # partition has none, as Kafka's controller does: judged on the image as it will be.
        after = copy.deepcopy(image)
        after.apply(image.offset, records)
        records += elect_where_needed(after, defaults)
    if isinstance(request, AlterConfigsRequest):
        return records, AlterConfigsResponse(responses=answers)
    return records, IncrementalAlterConfigsResponse(responses=answers)


def _config_changes(
    image: MetadataImage,
    defaults: LogConfig,
    resource: AlterConfigsResource | IncrementalAlterConfigsResource,
) -> tuple[int, str | None, list[MetadataRecord]]:
    """One resource's ConfigRecords, or why they are refused."""
    kind = resource.resource_type
    name = resource.resource_name
    entries = resource.configs
    if kind == TOPIC_RESOURCE:
        if name not in image.topics:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, _UNKNOWN_TOPIC, []
        current = dict(image.topics[name].configs)
    elif kind == BROKER_RESOURCE:
        if name != "" and not (name.isdigit() and int(name) in image.brokers):
            return ErrorCode.INVALID_REQUEST, f"Invalid broker id {name}", []
        current = dict(image.broker_configs.get(name, {}))
    else:
        return ErrorCode.INVALID_REQUEST, f"Unsupported resource type {kind}", []
    incremental = isinstance(resource, IncrementalAlterConfigsResource)
    wanted = dict(current) if incremental else {}
    for entry in entries:
        op = getattr(entry, "config_operation", ConfigOperation.SET)
        if op == ConfigOperation.SET:
            if entry.value is None:
                return ErrorCode.INVALID_REQUEST, f"Null value not supported for : {entry.name}", []
            wanted[entry.name] = entry.value
        elif op == ConfigOperation.DELETE:
            wanted.pop(entry.name, None)
        else:
            # Only list-typed configs take APPEND/SUBTRACT; reflog's cleanup.policy is a word.
            return (
                ErrorCode.INVALID_REQUEST,
                f"Config value append/subtract is not allowed for config {entry.name}",
                [],
            )
    problem = _config_problem(kind, wanted, defaults)
    if problem is not None:
        return ErrorCode.INVALID_CONFIG, problem, []
    records: list[MetadataRecord] = [
        ConfigRecord(resource_type=kind, resource_name=name, name=k, value=v)
        for k, v in sorted(wanted.items())
        if current.get(k) != v
    ]
    records += [
        ConfigRecord(resource_type=kind, resource_name=name, name=k, value=None)
        for k in sorted(current)
        if k not in wanted
    ]
    return ErrorCode.NONE, None, records


def _config_problem(kind: int, wanted: dict[str, str], defaults: LogConfig) -> str | None:
    """Kafka's INVALID_CONFIG message for the first unknown name or bad value, if any."""
    if kind == BROKER_RESOURCE:
        for name in wanted:
            if name not in BROKER_TOPIC_DEFAULTS:
                return f"Unknown or non-dynamic broker config name: {name}"
        wanted = {BROKER_TOPIC_DEFAULTS[k]: v for k, v in wanted.items()}
    try:
        apply_overrides(defaults, wanted)
    except TopicConfigError as exc:
        return str(exc)
    return None


# -- leader elections -----------------------------------------------------------------------
def elect_where_needed(image: MetadataImage, defaults: LogConfig) -> list[MetadataRecord]:
    """A leader for each leaderless partition whose topic now allows an unclean election."""
    live = {b.broker_id for b in image.live_brokers()}
    changes: list[MetadataRecord] = []
    for tp, state in image.partitions():
        if state.leader != NO_LEADER:
            continue
        if not effective_topic_config(image, tp.topic, defaults).unclean_leader_election_enable:
            continue
        leader, isr = choose_leader(state.replicas, state.isr, state.leader, live, True)
        if leader != NO_LEADER:
            changes.append(partition_change(tp, state, leader, isr))
    return changes


def _elect_leaders(image: MetadataImage, defaults: LogConfig, request: ElectLeadersRequest) -> Plan:
    live = {b.broker_id for b in image.live_brokers()}
    asked: list[tuple[str, list[int]]]
    if request.topic_partitions is None:
        asked = [(n, sorted(t.partitions)) for n, t in sorted(image.topics.items())]
    else:
        asked = [(t.topic, list(t.partitions)) for t in request.topic_partitions]
    records: list[MetadataRecord] = []
    results = []
    for topic, partitions in asked:
        outcomes = []
        for p in partitions:
            tp = TopicPartition(topic, p)
            state = image.partition(tp)
            code: int
            message: str | None
            if state is None:
                code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, _UNKNOWN_TOPIC
            else:
                code, message, record = _elect_one(tp, state, live, request.election_type)
                if record is not None:
                    records.append(record)
            if request.topic_partitions is None and code == ErrorCode.ELECTION_NOT_NEEDED:
                continue  # "every partition": only those elected or failed are reported
            outcomes.append(PartitionResult(partition_id=p, error_code=code, error_message=message))
        if outcomes or request.topic_partitions is not None:
            results.append(ReplicaElectionResult(topic=topic, partition_result=outcomes))
    return records, ElectLeadersResponse(replica_election_results=results)


def _elect_one(
    tp: TopicPartition, state: PartitionState, live: set[int], election_type: int
) -> tuple[int, str | None, PartitionChangeRecord | None]:
    if election_type == ElectionType.PREFERRED:
        preferred = state.target_replicas[0]
        if state.leader == preferred:
            return (
                ErrorCode.ELECTION_NOT_NEEDED,
                "Leader election not needed for topic partition.",
                None,
            )
        if preferred not in live or preferred not in state.isr:
            return (
                ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
                f"Failed to elect leader for partition {tp} under strategy "
                "PreferredReplicaPartitionLeaderElectionStrategy",
                None,
            )
        return ErrorCode.NONE, None, partition_change(tp, state, preferred, state.isr)
    if state.leader != NO_LEADER:
        return (
            ErrorCode.ELECTION_NOT_NEEDED,
            "Leader election not needed for topic partition.",
            None,
        )
    leader, isr = choose_leader(state.replicas, state.isr, state.leader, live, True)
    if leader == NO_LEADER:
        return (
            ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
            f"Failed to elect leader for partition {tp} under strategy "
            "UncleanPartitionLeaderElectionStrategy",
            None,
        )
    return ErrorCode.NONE, None, partition_change(tp, state, leader, isr)


# -- reassignments --------------------------------------------------------------------------
def _reassign(image: MetadataImage, request: AlterPartitionReassignmentsRequest) -> Plan:
    records: list[MetadataRecord] = []
    topics = []
    live = {b.broker_id for b in image.live_brokers()}
    for topic in request.topics:
        answers = []
        for p in topic.partitions:
            tp = TopicPartition(topic.name, p.partition_index)
            state = image.partition(tp)
            code: int = ErrorCode.NONE
            message: str | None = None
            if state is None:
                code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, _UNKNOWN_TOPIC
            elif p.replicas is None:
                if not state.adding_replicas and not state.removing_replicas:
                    code, message = (
                        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
                        f"No ongoing reassignment for partition {tp}",
                    )
                elif not set(_original(state)) & set(state.isr):
                    # Only the new replicas have every committed record: going back would
                    # lose them, so the reassignment must finish instead.
                    code, message = (
                        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                        f"Cannot cancel the reassignment of {tp}: none of its original "
                        "replicas is in sync",
                    )
                else:
                    records.append(_cancel(tp, state, live))
            else:
                problem = _assignment_problem(image, p.replicas)
                if problem is not None:
                    code, message = ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem
                else:
                    records.append(_start(tp, state, tuple(p.replicas), live))
            answers.append(
                ReassignablePartitionResponse(
                    partition_index=p.partition_index, error_code=code, error_message=message
                )
            )
        topics.append(ReassignableTopicResponse(name=topic.name, partitions=answers))
    return records, AlterPartitionReassignmentsResponse(responses=topics)


def _original(state: PartitionState) -> tuple[int, ...]:
    """The replicas before the ongoing reassignment, if any, started."""
    return tuple(r for r in state.replicas if r not in state.adding_replicas)


def _start(
    tp: TopicPartition, state: PartitionState, target: tuple[int, ...], live: set[int]
) -> PartitionChangeRecord:
    """Step one: the replica set becomes the target plus the replicas leaving it. If no
    replica is new, this is also the last step."""
    original = _original(state)
    adding = tuple(r for r in target if r not in original)
    removing = tuple(r for r in original if r not in target)
    replicas = target + removing
    moving = PartitionState(
        replicas,
        state.isr,
        state.leader,
        state.leader_epoch,
        state.partition_epoch,
        adding,
        removing,
    )
    if not adding and set(target) & set(state.isr):
        return _finish(tp, state, moving, live)
    isr = tuple(r for r in state.isr if r in replicas)
    return partition_change(tp, state, state.leader, isr, (replicas, adding, removing))


def _cancel(tp: TopicPartition, state: PartitionState, live: set[int]) -> PartitionChangeRecord:
    """Back to the original replicas (some of which is in sync): the new ones leave."""
    original = _original(state)
    back = PartitionState(
        original + state.adding_replicas,
        state.isr,
        state.leader,
        state.leader_epoch,
        state.partition_epoch,
        (),
        state.adding_replicas,
    )
    return _finish(tp, state, back, live)


def complete_reassignment(
    tp: TopicPartition, state: PartitionState, live: set[int]
) -> PartitionChangeRecord | None:
    """The last step, once every new replica is in the ISR (None: not yet)."""
    if not state.adding_replicas and not state.removing_replicas:
        return None
    if not set(state.adding_replicas) <= set(state.isr):
        return None
    if not set(state.target_replicas) & set(state.isr):
        return None  # nobody in the target has every committed record yet
    return _finish(tp, state, state, live)


def _finish(
    tp: TopicPartition, before: PartitionState, moving: PartitionState, live: set[int]
) -> PartitionChangeRecord:
    """The replica set shrinks to the target; a leader being removed hands over to the
    first target replica in sync (the preferred one, if it can). Some target replica is
    in the ISR: the callers wait until one is."""
    target = moving.target_replicas
    isr = tuple(r for r in moving.isr if r in target)
    leader = moving.leader
    if leader not in target:
        leader, isr = choose_leader(target, isr, NO_LEADER, live, False)
    return partition_change(tp, before, leader, isr, (target, (), ()))
