"""What an operator does to a running cluster, as :class:`~reflog.sim.cluster.Cluster`
methods: change a config, move a partition's replicas, elect leaders, delete a topic,
add partitions.

Each is one real admin request (IncrementalAlterConfigs, AlterPartitionReassignments,
ElectLeaders, DeleteTopics, CreatePartitions) sent from the cluster's admin node to a
live broker, which forwards it to the active controller, exactly as
``kafka-configs``, ``kafka-reassign-partitions`` and ``kafka-leader-election`` do; each
is drawn on the timeline as a user action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reflog.controller.image import BROKER_RESOURCE, TOPIC_RESOURCE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.incremental_alter_configs import (
    AlterableConfig as IncrementalAlterableConfig,
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
    ReassignablePartition,
    ReassignableTopic,
    TopicPartitions,
)
from reflog.wire.messages.topic_admin import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopic,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DeleteTopicState,
)
from reflog.wire.schema import Request, Response

if TYPE_CHECKING:
    from reflog.sim.cluster import Cluster

__all__ = ["alter_config", "create_partitions", "delete_topic", "elect_leaders", "reassign"]


def _send(cluster: Cluster, body: Request, version: int, timeout_ms: int) -> Response:
    cluster.wait_for_active_controller(timeout_ms)
    via = next((b for b in cluster.brokers if cluster.sim.is_up(f"broker-{b}")), 1)
    return cluster.request(via, body, version, timeout_ms)


def _settle(cluster: Cluster, kind: str, target: str, done: str, code: int, what: str) -> None:
    """Draw the action, raise Kafka's error if refused, else wait for the brokers."""
    from reflog.sim.cluster import ClusterError

    refused = code != ErrorCode.NONE
    cluster._act(kind, target, f"{what} refused: {ErrorCode(code).name}" if refused else done)
    if refused:
        raise ClusterError(what, code)
    cluster.wait_caught_up()


def alter_config(
    cluster: Cluster,
    topic: str | None,
    configs: dict[str, str | None],
    broker: int | None = None,
    timeout_ms: int = 10_000,
) -> None:
    """Set (or, with None, remove) configs of ``topic``, or with ``topic=None`` the
    dynamic configs of ``broker`` (None: the cluster-wide default)."""
    if topic is not None:
        kind, name = TOPIC_RESOURCE, topic
    else:
        kind, name = BROKER_RESOURCE, "" if broker is None else str(broker)
    entries = [
        IncrementalAlterableConfig(
            name=k,
            config_operation=ConfigOperation.SET if v is not None else ConfigOperation.DELETE,
            value=v,
        )
        for k, v in configs.items()
    ]
    resource = IncrementalAlterConfigsResource(
        resource_type=kind, resource_name=name, configs=entries
    )
    response = _send(cluster, IncrementalAlterConfigsRequest(resources=[resource]), 1, timeout_ms)
    assert isinstance(response, IncrementalAlterConfigsResponse)
    target = topic if topic is not None else f"broker-{name or 'default'}"
    shown = ", ".join(f"{k}={v}" if v is not None else f"-{k}" for k, v in configs.items())
    answer = response.responses[0]
    _settle(cluster, "alter_config", target, f"set {shown} on {target}", answer.error_code,
            f"altering configs of {target}")  # fmt: skip


def reassign(
    cluster: Cluster, topic: str, partition: int, replicas: list[int], timeout_ms: int = 10_000
) -> None:
    """Start moving a partition to ``replicas`` (the first is the preferred leader); it
    completes once the new replicas have caught up (watch :meth:`Cluster.image`)."""
    body = AlterPartitionReassignmentsRequest(
        topics=[
            ReassignableTopic(
                name=topic,
                partitions=[ReassignablePartition(partition_index=partition, replicas=replicas)],
            )
        ]
    )
    response = _send(cluster, body, 0, timeout_ms)
    assert isinstance(response, AlterPartitionReassignmentsResponse)
    code = response.error_code or response.responses[0].partitions[0].error_code
    target = f"{topic}-{partition}"
    _settle(cluster, "reassign", target, f"reassigning {target} to {replicas}", code,
            f"reassigning {target}")  # fmt: skip


def elect_leaders(
    cluster: Cluster,
    topic: str,
    partitions: list[int] | None = None,
    election_type: str = "preferred",
    timeout_ms: int = 10_000,
) -> dict[int, str]:
    """A preferred (or ``"unclean"``) leader election; each partition's outcome, by Kafka's
    error name (``NONE``, ``ELECTION_NOT_NEEDED``, ``PREFERRED_LEADER_NOT_AVAILABLE``...)."""
    chosen = partitions if partitions is not None else cluster.partitions_of(topic)
    kind = ElectionType.UNCLEAN if election_type == "unclean" else ElectionType.PREFERRED
    body = ElectLeadersRequest(
        election_type=kind,
        topic_partitions=[TopicPartitions(topic=topic, partitions=chosen)],
    )
    response = _send(cluster, body, 2, timeout_ms)
    assert isinstance(response, ElectLeadersResponse)
    outcomes = {
        r.partition_id: ErrorCode(r.error_code).name
        for t in response.replica_election_results
        for r in t.partition_result
    }
    elected = sorted(p for p, e in outcomes.items() if e == "NONE")
    cluster._act("elect_leaders", topic, f"{election_type} election on {topic}: "
                 f"new leaders for partitions {elected}")  # fmt: skip
    cluster.wait_caught_up()
    return outcomes


def delete_topic(cluster: Cluster, topic: str, timeout_ms: int = 10_000) -> None:
    request = DeleteTopicsRequest(topics=[DeleteTopicState(name=topic)])
    response = _send(cluster, request, 6, timeout_ms)
    assert isinstance(response, DeleteTopicsResponse)
    code = response.responses[0].error_code
    _settle(cluster, "delete_topic", topic, f"deleted {topic}", code, f"deleting {topic}")


def create_partitions(cluster: Cluster, topic: str, count: int, timeout_ms: int = 10_000) -> None:
    body = CreatePartitionsRequest(topics=[CreatePartitionsTopic(name=topic, count=count)])
    response = _send(cluster, body, 3, timeout_ms)
    assert isinstance(response, CreatePartitionsResponse)
    code = response.results[0].error_code
    _settle(cluster, "create_partitions", topic, f"{topic} now has {count} partitions", code,
            f"adding partitions to {topic}")  # fmt: skip
