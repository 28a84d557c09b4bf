"""The controller's two pure decisions: where replicas go, and who leads when brokers fail."""

from __future__ import annotations

import pytest

from reflog.controller.placement import assign_replicas, choose_leader
from reflog.controller.records import NO_LEADER


def test_replicas_go_round_robin_and_leaders_spread_evenly() -> None:
    assignment = assign_replicas([3, 1, 2], partitions=6, replication_factor=2, start=0)
    assert assignment == [[1, 2], [2, 3], [3, 1], [1, 2], [2, 3], [3, 1]]
    leaders = [replicas[0] for replicas in assignment]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3]
    assert all(len(set(r)) == len(r) for r in assignment)  # never twice on one broker


def test_the_start_shifts_where_a_topic_begins() -> None:
    assert assign_replicas([1, 2, 3], 1, 3, start=1) == [[2, 3, 1]]


@pytest.mark.parametrize("factor", [0, 4])
def test_a_replication_factor_beyond_the_live_brokers_is_refused(factor: int) -> None:
    with pytest.raises(ValueError):
        assign_replicas([1, 2, 3], 1, factor, 0)


def test_a_live_leader_in_the_isr_stays() -> None:
    assert choose_leader((1, 2, 3), (1, 2, 3), 1, live={1, 2}, unclean=False) == (1, (1, 2))


def test_a_fenced_leader_is_replaced_by_the_first_live_isr_member_in_replica_order() -> None:
    assert choose_leader((1, 2, 3), (3, 2, 1), 1, live={2, 3}, unclean=False) == (2, (3, 2))


def test_the_last_isr_member_stays_in_the_isr_and_the_partition_waits() -> None:
    assert choose_leader((1, 2), (2,), 2, live={1}, unclean=False) == (NO_LEADER, (2,))


def test_it_comes_back_and_leads_again() -> None:
    assert choose_leader((1, 2), (2,), NO_LEADER, live={1, 2}, unclean=False) == (2, (2,))


def test_unclean_election_takes_a_live_replica_outside_the_isr_and_restarts_the_isr() -> None:
    assert choose_leader((1, 2), (2,), 2, live={1}, unclean=True) == (1, (1,))


def test_no_live_replica_at_all_means_no_leader_even_unclean() -> None:
    assert choose_leader((1, 2), (1, 2), 1, live={3}, unclean=True) == (NO_LEADER, (1, 2))
