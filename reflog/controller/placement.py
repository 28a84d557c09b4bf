"""Where a new topic's replicas go, and who leads a partition when brokers come and go.

Two pure decisions of Kafka's controller, kept apart so they can be read (and
tested, and turned into exercises) on their own.
"""

from __future__ import annotations

from reflog.controller.records import NO_LEADER

__all__ = ["assign_replicas", "choose_leader"]


def assign_replicas(
    brokers: list[int], partitions: int, replication_factor: int, start: int
) -> list[list[int]]:
    """Spread replicas round-robin over ``brokers``, each partition starting one further on.

    Partition p's leader (its first replica) is broker ``start + p``, so leadership is
    spread evenly; its followers are the next brokers in order. Kafka also shifts
    followers by a random amount and considers racks; reflog does not.
    """
    if not 0 < replication_factor <= len(brokers):
        raise ValueError(
            f"replication factor {replication_factor} needs between 1 and {len(brokers)} brokers"
        )
    ordered = sorted(brokers)
    n = len(ordered)
    return [
        [ordered[(start + p + j) % n] for j in range(replication_factor)] for p in range(partitions)
    ]


def choose_leader(
    replicas: tuple[int, ...],
    isr: tuple[int, ...],
    leader: int,
    live: set[int],
    unclean: bool,
) -> tuple[int, tuple[int, ...]]:
    """The partition's leader and ISR once only the brokers in ``live`` may serve.

    Fenced brokers leave the ISR, but the last member stays: it is the one that has
    every committed record, and the partition waits for it (leader -1) rather than
    lose data. Only with ``unclean.leader.election.enable`` may a live replica outside
    the ISR lead, and then the ISR restarts as that replica alone (what it lacks is lost).
    """
    isr = tuple(r for r in isr if r in live) or isr
    if leader in live and leader in isr:
        return leader, isr
    in_sync = [r for r in replicas if r in isr and r in live]
    if in_sync:
        return in_sync[0], isr
    if unclean:
        alive = [r for r in replicas if r in live]
        if alive:
            return alive[0], (alive[0],)
    return NO_LEADER, isr
