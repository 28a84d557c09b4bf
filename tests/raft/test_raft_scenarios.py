"""Raft in the simulation, scenario by scenario (named after MIT 6.5840's Raft lab tests).

Oracles checked after every event (tests/raft/harness.py): at most one leader per term; every
node applies the same entry at the same index, in order, each once; a committed entry is
never replaced.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from reflog.raft.core import Role

from .harness import ELECTION_TIMEOUT, RaftCluster


def test_initial_election(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=1, data_dir=tmp_path)
    leader = cluster.one_leader()
    term = cluster.term_of(leader)
    cluster.run(2_000)  # a healthy cluster keeps its leader and its term
    assert cluster.leader() == leader
    assert cluster.term_of(leader) == term


def test_re_election(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=2, data_dir=tmp_path)
    first = cluster.one_leader()
    cluster.isolate(first)
    cluster.run(2 * ELECTION_TIMEOUT)  # the old leader may still think it leads, alone
    cluster.sim.heal()
    cluster.sim.crash(first)
    second = cluster.one_leader()
    assert second != first
    cluster.sim.restart(first)
    assert cluster.one_leader() == second  # a rejoining node does not take over
    others = [n for n in cluster.nodes if n != second]
    for name in others:
        cluster.sim.crash(name)
    cluster.run(4 * ELECTION_TIMEOUT)
    assert cluster.nodes[second].role != Role.LEADER  # CheckQuorum: alone, it stepped down


def test_many_elections(tmp_path: Path) -> None:
    cluster = RaftCluster(7, seed=3, data_dir=tmp_path)
    cluster.one_leader()
    for round_ in range(6):
        victims = list(cluster.nodes)[round_ % 7 : round_ % 7 + 3]
        for name in victims:
            cluster.sim.crash(name)
        cluster.one_leader()
        for name in victims:
            cluster.sim.restart(name)
    cluster.one_leader()


def test_basic_agreement(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=4, data_dir=tmp_path)
    cluster.one_leader()
    indexes = [cluster.commit(b"value-%d" % i, servers=3) for i in range(5)]
    assert indexes == sorted(indexes) and len(set(indexes)) == 5
    for name in cluster.nodes:
        assert cluster.applied_data(name) == [b"value-%d" % i for i in range(5)]


def test_fail_agreement(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=5, data_dir=tmp_path)
    leader = cluster.one_leader()
    follower = next(n for n in cluster.nodes if n != leader)
    cluster.isolate(follower)
    for i in range(3):
        cluster.commit(b"while-away-%d" % i, servers=2)
    cluster.heal()
    cluster.commit(b"back", servers=3)
    assert cluster.applied_data(follower)[-4:] == [
        b"while-away-0",
        b"while-away-1",
        b"while-away-2",
        b"back",
    ]


def test_fail_no_agreement(tmp_path: Path) -> None:
    cluster = RaftCluster(5, seed=6, data_dir=tmp_path)
    leader = cluster.one_leader()
    followers = [n for n in cluster.nodes if n != leader][:3]
    cluster.sim.partition(set(followers), set(cluster.nodes) - set(followers))
    entry = cluster.nodes[leader].propose(b"minority")
    assert entry is not None
    cluster.run(3 * ELECTION_TIMEOUT)
    assert all(b"minority" not in cluster.applied_data(n) for n in cluster.nodes)  # no majority
    cluster.heal()
    cluster.commit(b"after-heal", servers=5)


def test_rejoin_partitioned_leader_loses_its_uncommitted_entries(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=7, data_dir=tmp_path)
    old = cluster.one_leader()
    cluster.commit(b"committed", servers=3)
    cluster.isolate(old)
    for i in range(3):
        cluster.nodes[old].propose(b"doomed-%d" % i)  # the isolated leader still accepts
    new = cluster.new_leader(excluding=old)
    assert new != old
    cluster.commit(b"new-era", servers=2)
    cluster.heal()
    cluster.commit(b"together", servers=3)
    core = cluster.nodes[old].node
    assert core is not None
    assert all(not e.data.startswith(b"doomed") for e in core.log)  # overwritten after healing
    assert cluster.applied_data(old)[-2:] == [b"new-era", b"together"]


def test_backup_over_many_conflicting_entries(tmp_path: Path) -> None:
    cluster = RaftCluster(5, seed=8, data_dir=tmp_path)
    leader = cluster.one_leader()
    cluster.commit(b"base", servers=5)
    stranded = {leader, next(n for n in cluster.nodes if n != leader)}
    cluster.sim.partition(stranded, set(cluster.nodes) - stranded)
    for i in range(50):
        cluster.nodes[leader].propose(b"lost-%d" % i)  # never committed: no majority
    majority_leader = cluster.new_leader(excluding=leader)
    for i in range(50):
        cluster.commit(b"kept-%d" % i, servers=3, timeout_ms=10_000)
    cluster.heal()
    cluster.commit(b"final", servers=5, timeout_ms=10_000)
    for name in cluster.nodes:
        data = cluster.applied_data(name)
        assert data[-1] == b"final" and not any(d.startswith(b"lost") for d in data)
    assert majority_leader in cluster.nodes


def test_persistence_survives_a_whole_cluster_restart(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=9, data_dir=tmp_path)
    cluster.one_leader()
    for i in range(4):
        cluster.commit(b"durable-%d" % i, servers=3)
    terms = {n: cluster.term_of(n) for n in cluster.nodes}
    for name in cluster.nodes:
        cluster.sim.crash(name)
    for name in cluster.nodes:
        cluster.sim.restart(name)
        assert cluster.term_of(name) >= terms[name]  # currentTerm came back from disk
    cluster.one_leader()
    cluster.commit(b"after-restart", servers=3)
    for name in cluster.nodes:
        assert cluster.applied_data(name) == [b"durable-%d" % i for i in range(4)] + [
            b"after-restart"
        ]


def test_pre_vote_keeps_an_isolated_node_from_disrupting_the_leader(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=10, data_dir=tmp_path)
    leader = cluster.one_leader()
    term = cluster.term_of(leader)
    loner = next(n for n in cluster.nodes if n != leader)
    cluster.isolate(loner)
    cluster.run(20 * ELECTION_TIMEOUT)
    assert cluster.term_of(loner) == term  # pre-votes failed: its term never grew
    cluster.heal()
    cluster.run(5 * ELECTION_TIMEOUT)
    assert cluster.leader() == leader and cluster.term_of(leader) == term


def test_without_pre_vote_a_rejoining_node_forces_an_election(tmp_path: Path) -> None:
    cluster = RaftCluster(3, seed=10, data_dir=tmp_path, pre_vote=False)
    leader = cluster.one_leader()
    term = cluster.term_of(leader)
    loner = next(n for n in cluster.nodes if n != leader)
    cluster.isolate(loner)
    cluster.run(20 * ELECTION_TIMEOUT)
    assert cluster.term_of(loner) > term + 5  # it kept campaigning alone
    cluster.heal()
    cluster.run(5 * ELECTION_TIMEOUT)
    # The loner's higher term reached the leader (in its answers) and deposed it.
    assert cluster.term_of(cluster.one_leader()) > term


@pytest.mark.parametrize("seed", range(20))
def test_unreliable_churn_keeps_every_committed_entry(tmp_path: Path, seed: int) -> None:
    cluster = RaftCluster(5, seed=seed, data_dir=tmp_path, loss=0.05)
    rng = random.Random(seed)  # the fault schedule, seeded like the cluster
    committed = []
    for step in range(12):
        victim = f"n{rng.randrange(5)}"
        action = rng.choice(["crash", "isolate", "none"])
        if action == "crash":
            cluster.sim.crash(victim)
        elif action == "isolate":
            cluster.isolate(victim)
        cluster.run(rng.randrange(50, 400))
        cluster.heal()
        for name in cluster.nodes:
            cluster.sim.restart(name)
        committed.append(cluster.commit(b"churn-%d" % step, servers=3, timeout_ms=20_000))
    cluster.commit(b"end", servers=5, timeout_ms=20_000)
    for name in cluster.nodes:
        data = cluster.applied_data(name)
        assert [d for d in data if d.startswith(b"churn")] == [b"churn-%d" % i for i in range(12)]
