"""Partition assignors: how a group's leader splits partitions among the members.

Kafka's consumer runs the assignor on the group's *leader* (the coordinator only passes the
bytes along): the leader gets every member's subscription and hands back one list of
partitions per member. Each assignor has the name ``partition.assignment.strategy`` lists and
that members vote with in JoinGroup:

* ``range`` (Kafka: ``RangeAssignor``): per topic, the members subscribed to it, in order,
  each take a contiguous range; the first ``partitions % members`` take one more. Topics are
  split independently, so with many topics the first members take more in total.
* ``roundrobin`` (``RoundRobinAssignor``): all partitions of all subscribed topics in order,
  dealt one at a time to the members in a circle (skipping members not subscribed to the
  partition's topic).
* ``sticky`` (``StickyAssignor``): as balanced as round-robin, but a member keeps as many of
  the partitions it owned as balance allows; eager protocol.
* ``cooperative-sticky`` (``CooperativeStickyAssignor``): the sticky assignment, except that
  a partition moving from one member to another is given to nobody this round: its owner
  revokes it and rejoins, and the next rebalance gives it to its new owner (KIP-429).

Members are ordered as Kafka orders them (``MemberInfo.compareTo``): static members (with a
``group.instance.id``) first, by instance id, then the others by member id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from reflog.topic_partition import TopicPartition

__all__ = [
    "ASSIGNORS",
    "Assignment",
    "Assignor",
    "CooperativeStickyAssignor",
    "MemberSubscription",
    "RangeAssignor",
    "RebalanceProtocol",
    "RoundRobinAssignor",
    "StickyAssignor",
    "assignor_for",
    "partitions_to_revoke",
]

# member id -> the partitions it gets, sorted.
Assignment = dict[str, list[TopicPartition]]


class RebalanceProtocol(Enum):
    """How members give partitions up (Kafka: ``ConsumerPartitionAssignor.RebalanceProtocol``).

    EAGER: every member revokes everything before it rejoins. COOPERATIVE (KIP-429): members
    keep their partitions through the rebalance and revoke only those that move."""

    EAGER = "EAGER"
    COOPERATIVE = "COOPERATIVE"


@dataclass(frozen=True)
class MemberSubscription:
    """What the leader knows of one member (Kafka: ``ConsumerPartitionAssignor.Subscription``):
    its topics, the partitions it owns now and the generation it owned them in."""

    topics: tuple[str, ...]
    owned_partitions: tuple[TopicPartition, ...] = ()
    generation_id: int = -1
    group_instance_id: str | None = None


def member_order(members: Mapping[str, MemberSubscription]) -> list[str]:
    """Member ids in Kafka's order: static members by instance id, then the rest by id."""

    def key(member_id: str) -> tuple[bool, str]:
        instance = members[member_id].group_instance_id
        return (instance is None, member_id if instance is None else instance)

    return sorted(members, key=key)


def subscribed_partitions(
    partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
) -> list[TopicPartition]:
    """Every partition of every topic some member subscribes to (and that exists), sorted."""
    topics = sorted({t for s in members.values() for t in s.topics if t in partitions_per_topic})
    return [TopicPartition(t, p) for t in topics for p in range(partitions_per_topic[t])]


class Assignor(Protocol):
    name: str
    # The protocols it works with; a consumer uses the first one all its assignors support.
    supported_protocols: tuple[RebalanceProtocol, ...]

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        """One sorted list of partitions per member id (every member, even with none)."""
        ...


class RangeAssignor:
    """Per topic, contiguous ranges of partitions to the members subscribed to it.

    reflog simplification: no rack-aware placement (``client.rack``)."""

    name = "range"
    supported_protocols: tuple[RebalanceProtocol, ...] = (RebalanceProtocol.EAGER,)

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        assignment: Assignment = {m: [] for m in members}
        order = member_order(members)
        for topic in sorted({t for s in members.values() for t in s.topics}):
            count = partitions_per_topic.get(topic)
            if count is None:
                continue  # not (yet) a topic: nothing to split
            consumers = [m for m in order if topic in members[m].topics]
            per_member, extra = divmod(count, len(consumers))
            for i, member in enumerate(consumers):
                start = per_member * i + min(i, extra)
                length = per_member + (1 if i < extra else 0)
                assignment[member].extend(
                    TopicPartition(topic, p) for p in range(start, start + length)
                )
        return {m: sorted(tps) for m, tps in assignment.items()}


class RoundRobinAssignor:
    """All partitions, in order, dealt around the circle of members."""

    name = "roundrobin"
    supported_protocols: tuple[RebalanceProtocol, ...] = (RebalanceProtocol.EAGER,)

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        assignment: Assignment = {m: [] for m in members}
        circle = member_order(members)
        turn = 0
        for tp in subscribed_partitions(partitions_per_topic, members):
            # Some member is subscribed to tp.topic (that is why it is listed): skip to it.
            while tp.topic not in members[circle[turn % len(circle)]].topics:
                turn += 1
            assignment[circle[turn % len(circle)]].append(tp)
            turn += 1
        return assignment


class StickyAssignor:
    """Balanced like round-robin, moving as few owned partitions as balance allows.

    When every member subscribes to the same topics (the common case, and Kafka's
    ``constrainedAssign``), each member may keep up to its quota: ``P // M`` partitions,
    or one more for ``P % M`` of them. A member keeps what it owned up to its quota, and
    the partitions left over (a leaving member's, a new topic's, those above a quota) go to
    the members still below theirs. That moves the fewest partitions any balanced
    assignment can.

    Which ownership counts: only claims made in the newest generation any member reports
    (an older generation's member was fenced and must have given its partitions up), and a
    partition that two members of that generation both claim is owned by neither.

    reflog simplification: with members subscribed to different topics (Kafka's
    ``generalAssign``), the partitions left over go one by one, the partition with the
    fewest candidates first, to the candidate with the fewest partitions, and then
    partitions move from a member to a candidate with at least two fewer until none can:
    balanced and sticky, but without Kafka's search for the fewest moves.
    """

    name = "sticky"
    supported_protocols: tuple[RebalanceProtocol, ...] = (RebalanceProtocol.EAGER,)

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        order = member_order(members)
        partitions = subscribed_partitions(partitions_per_topic, members)
        owned = valid_owners(members, set(partitions))
        if len({frozenset(s.topics) for s in members.values()}) == 1:
            assignment = _constrained_assign(order, partitions, owned)
        else:
            assignment = _general_assign(order, members, partitions, owned)
        return {m: sorted(assignment[m]) for m in order}


class CooperativeStickyAssignor(StickyAssignor):
    """The sticky assignment in two rounds, so no partition ever has two owners at once.

    A partition the sticky assignment moves from member A to member B is given to nobody
    in this round: A sees it missing, revokes it (``on_partitions_revoked``) and rejoins at
    once; in that second rebalance nobody owns it and B gets it. Partitions whose owner left
    the group, or that nobody owned, go to their new owner at once. Any member's claim
    counts here, whatever its generation: a partition is never handed over while a member
    of the group may still be reading it.
    """

    name = "cooperative-sticky"
    supported_protocols: tuple[RebalanceProtocol, ...] = (
        RebalanceProtocol.COOPERATIVE,
        RebalanceProtocol.EAGER,
    )

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        target = super().assign(partitions_per_topic, members)
        claimed_by: dict[TopicPartition, set[str]] = {}
        for member_id, subscription in members.items():
            for tp in subscription.owned_partitions:
                claimed_by.setdefault(tp, set()).add(member_id)
        return {
            member: [tp for tp in tps if not claimed_by.get(tp, set()) - {member}]
            for member, tps in target.items()
        }


def valid_owners(
    members: Mapping[str, MemberSubscription], partitions: set[TopicPartition]
) -> dict[TopicPartition, str]:
    """Who owns each partition, as far as the assignment should keep it (see
    :class:`StickyAssignor`): claims of the newest generation only, to topics the claimant
    still subscribes to; a partition claimed twice in that generation has no owner."""
    newest = max((s.generation_id for s in members.values() if s.owned_partitions), default=-1)
    owner: dict[TopicPartition, str] = {}
    contested: set[TopicPartition] = set()
    for member_id in member_order(members):
        subscription = members[member_id]
        if subscription.generation_id != newest:
            continue
        for tp in subscription.owned_partitions:
            if tp not in partitions or tp.topic not in subscription.topics:
                continue
            if tp in owner:
                contested.add(tp)
            owner[tp] = member_id
    for tp in contested:
        del owner[tp]
    return owner


def _owned_by(
    order: list[str], partitions: list[TopicPartition], owner: Mapping[TopicPartition, str]
) -> dict[str, list[TopicPartition]]:
    owned: dict[str, list[TopicPartition]] = {m: [] for m in order}
    for tp in partitions:  # sorted: each member's list is sorted too
        if tp in owner:
            owned[owner[tp]].append(tp)
    return owned


def _constrained_assign(
    order: list[str], partitions: list[TopicPartition], owner: Mapping[TopicPartition, str]
) -> dict[str, list[TopicPartition]]:
    """Kafka's ``constrainedAssign``: every member subscribes to the same topics."""
    min_quota, members_with_extra = divmod(len(partitions), len(order))
    owned = _owned_by(order, partitions, owner)
    assignment: dict[str, list[TopicPartition]] = {m: [] for m in order}
    # 1. Keep what each member owned, up to its quota. The extra slots (quota + 1) go to
    #    members that owned more than the minimum: each saves one move there, and one
    #    only, whoever gets it, so the order they are handed out in does not matter.
    extra_slots = members_with_extra
    for member in order:
        quota = min_quota
        if len(owned[member]) > min_quota and extra_slots > 0:
            quota += 1
            extra_slots -= 1
        assignment[member] = owned[member][:quota]
    # 2. Everything not kept goes to the members below their quota: first up to the
    #    minimum, then one more each while extra slots remain.
    kept = {tp for tps in assignment.values() for tp in tps}
    left_over = [tp for tp in partitions if tp not in kept]
    for member in order:
        while len(assignment[member]) < min_quota:
            assignment[member].append(left_over.pop(0))
    for member in order:
        if not left_over:
            break
        if len(assignment[member]) == min_quota and extra_slots > 0:
            assignment[member].append(left_over.pop(0))
            extra_slots -= 1
    assert not left_over, "every partition has a place: the quotas add up to the count"
    return assignment


def _general_assign(
    order: list[str],
    members: Mapping[str, MemberSubscription],
    partitions: list[TopicPartition],
    owner: Mapping[TopicPartition, str],
) -> dict[str, list[TopicPartition]]:
    """Members subscribe to different topics (see the simplification in StickyAssignor)."""
    candidates = {tp: [m for m in order if tp.topic in members[m].topics] for tp in partitions}
    assignment = _owned_by(order, partitions, owner)
    left_over = sorted(
        (tp for tp in partitions if tp not in owner), key=lambda tp: (len(candidates[tp]), tp)
    )
    for tp in left_over:
        fewest = min(candidates[tp], key=lambda m: len(assignment[m]))
        assignment[fewest].append(tp)
    # Balance: move a partition to a candidate holding at least two fewer, a partition its
    # holder did not own before if it has one. Each move lowers the sum of squared counts,
    # so this ends.
    moved = True
    while moved:
        moved = False
        for member in sorted(order, key=lambda m: -len(assignment[m])):
            movable = sorted(assignment[member], key=lambda tp: (owner.get(tp) == member, tp))
            for tp in movable:
                target = min(candidates[tp], key=lambda m: len(assignment[m]))
                if len(assignment[target]) < len(assignment[member]) - 1:
                    assignment[member].remove(tp)
                    assignment[target].append(tp)
                    moved = True
                    break
            if moved:
                break
    return assignment


def partitions_to_revoke(
    owned: Iterable[TopicPartition], assigned: Iterable[TopicPartition]
) -> tuple[list[TopicPartition], list[TopicPartition]]:
    """What a cooperative member does with a new assignment: ``(revoked, added)``.

    It revokes only what it owned and is no longer assigned, and starts only what is new to
    it; what it keeps, it reads on without a pause (KIP-429)."""
    owned_set, assigned_set = set(owned), set(assigned)
    return sorted(owned_set - assigned_set), sorted(assigned_set - owned_set)


ASSIGNORS: dict[str, Assignor] = {
    a.name: a
    for a in (RangeAssignor(), RoundRobinAssignor(), StickyAssignor(), CooperativeStickyAssignor())
}


def assignor_for(name: str) -> Assignor:
    """The assignor ``partition.assignment.strategy`` names (Kafka's names, or its class
    names as Java configs spell them)."""
    short = {
        "RangeAssignor": "range",
        "RoundRobinAssignor": "roundrobin",
        "StickyAssignor": "sticky",
        "CooperativeStickyAssignor": "cooperative-sticky",
    }.get(name.rsplit(".", 1)[-1], name)
    if short not in ASSIGNORS:
        raise ValueError(
            f"unknown partition.assignment.strategy {name!r}; one of {', '.join(ASSIGNORS)}"
        )
    return ASSIGNORS[short]
