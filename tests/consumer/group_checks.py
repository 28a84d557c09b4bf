"""What the group tests in the simulation check: the group's state at its coordinator, who
owns what, what was committed (read back from ``__consumer_offsets``), what was processed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise

from reflog.groups.group import GroupState
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.groups.records import OffsetCommitKey, OffsetCommitValue, decode_key, decode_value
from reflog.records.batch import iter_batches
from reflog.sim import Cluster
from reflog.sim.group_consumers import GroupConsumerWorkload
from reflog.topic_partition import TopicPartition


def members(cluster: Cluster) -> list[GroupConsumerWorkload]:
    return [c for c in cluster.consumers.values() if isinstance(c, GroupConsumerWorkload)]


def live(cluster: Cluster) -> list[GroupConsumerWorkload]:
    """Members running and not closing."""
    return [
        m
        for m in members(cluster)
        if m.core is not None and m.consumer.group is not None and not m.consumer.group.closing
    ]


def offsets_partition(cluster: Cluster, group_id: str) -> TopicPartition | None:
    """The ``__consumer_offsets`` partition of the group (None before the topic exists)."""
    count = len(cluster.partitions_of(OFFSETS_TOPIC))
    return TopicPartition(OFFSETS_TOPIC, partition_for(group_id, count)) if count else None


def coordinator_of(cluster: Cluster, group_id: str) -> int:
    """The broker coordinating the group (-1: none now)."""
    tp = offsets_partition(cluster, group_id)
    return -1 if tp is None else cluster.leader_of(tp)


def group_state(cluster: Cluster, group_id: str) -> tuple[GroupState, int] | None:
    """(state, generation) at the group's coordinator, None while it has none."""
    leader = coordinator_of(cluster, group_id)
    core = cluster.brokers[leader].broker if leader in cluster.brokers else None
    group = None if core is None else core.groups.coordinator.groups.get(group_id)
    return None if group is None else (group.state, group.generation_id)


def ownership_problems(cluster: Cluster, group_id: str, topic: str) -> list[str]:
    """Why the group is not settled: Stable at the coordinator, every live member Stable in
    its generation, every partition owned by exactly one live member."""
    problems = []
    state = group_state(cluster, group_id)
    if state is None or state[0] != GroupState.STABLE:
        problems.append(f"the coordinator has the group {state}")
    owners: dict[TopicPartition, list[str]] = defaultdict(list)
    for member in live(cluster):
        group = member.consumer.group
        assert group is not None
        if state is not None and (group.state.value, group.generation_id) != ("STABLE", state[1]):
            problems.append(
                f"{member.name} is {group.state.value} in generation {group.generation_id}"
            )
        for tp in member.partitions:
            owners[tp].append(member.name)
    for p in cluster.partitions_of(topic):
        tp = TopicPartition(topic, p)
        if len(owners.get(tp, [])) != 1:
            problems.append(f"{tp} is owned by {owners.get(tp, [])}")
    return problems


def owned_by_generation(member: GroupConsumerWorkload) -> dict[int, set[TopicPartition]]:
    """Everything the member owned at some moment while in each generation: what it was
    assigned, and what it still held before revoking."""
    owned: dict[int, set[TopicPartition]] = defaultdict(set)
    before: frozenset[TopicPartition] = frozenset()
    for change in member.history:
        if change.generation >= 0:
            owned[change.generation] |= change.partitions
            if change.why in ("revoked", "lost"):
                owned[change.generation] |= before
        before = change.partitions
    return owned


def shared_in_a_generation(group_members: Iterable[GroupConsumerWorkload]) -> list[str]:
    """Partitions two members owned in the same generation."""
    by_generation: dict[int, dict[TopicPartition, str]] = defaultdict(dict)
    problems = []
    for member in group_members:
        for generation, tps in owned_by_generation(member).items():
            for tp in tps:
                other = by_generation[generation].setdefault(tp, member.name)
                if other != member.name:
                    problems.append(
                        f"{tp} owned by {other} and {member.name} in generation {generation}"
                    )
    return problems


def committed_history(cluster: Cluster, group_id: str) -> dict[TopicPartition, list[int]]:
    """Every offset committed for the group, per partition, in ``__consumer_offsets`` order
    (as its leader's log holds them)."""
    tp = offsets_partition(cluster, group_id)
    assert tp is not None
    core = cluster.brokers[cluster.leader_of(tp)].broker
    assert core is not None
    log = core.logs.get(tp)
    assert log is not None
    history: dict[TopicPartition, list[int]] = defaultdict(list)
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        read = log.read(offset, 1 << 20)
        if read.records is None:
            break
        for batch in iter_batches(read.records.read()):
            for record in batch.records():
                if record.key is None or record.value is None:
                    continue
                key = decode_key(record.key)
                if isinstance(key, OffsetCommitKey) and key.group == group_id:
                    value = decode_value(key, record.value)
                    assert isinstance(value, OffsetCommitValue)
                    history[TopicPartition(key.topic, key.partition)].append(value.offset)
            offset = batch.last_offset + 1
    return history


def backwards_commits(cluster: Cluster, group_id: str) -> list[str]:
    return [
        f"{tp}: {a} then {b}"
        for tp, offsets in committed_history(cluster, group_id).items()
        for a, b in pairwise(offsets)
        if b < a
    ]


def never_processed(cluster: Cluster, topic: str) -> list[tuple[int, int]]:
    """(partition, offset) of records below the high watermark no member processed."""
    seen = {(r.partition, r.offset) for m in members(cluster) for r in m.records}
    return [
        (p, offset)
        for p, high_watermark in sorted(cluster.high_watermarks(topic).items())
        for offset in range(high_watermark)
        if (p, offset) not in seen
    ]
