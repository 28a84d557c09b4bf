"""ISR replication in the simulation: 3 brokers, a topic with 3 replicas, min.insync.replicas=2.

Kafka's contract, scenario by scenario: acks=all answers once the ISR has the records and the
high watermark covers them; a follower that stops fetching leaves the ISR after
replica.lag.time.max.ms and comes back once caught up; below min.insync.replicas acks=all is
refused; a fenced leader is replaced from the ISR with a new leader epoch, and the old leader
rejoins as a follower, truncating by epoch.
"""

from __future__ import annotations

from pathlib import Path

from reflog.replication.partition import Partition, Role
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

from .harness import records_of, replicated_cluster


def test_acks_all_is_answered_once_every_in_sync_replica_has_the_records(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(1, tmp_path)
    leader = cluster.leader_of(tp)
    answer = cluster.produce(tp, [b"a", b"b"], broker=leader)
    assert answer.error_code == ErrorCode.NONE and answer.base_offset == 0
    # The answer came: so every ISR member already held both records.
    for broker_id in (1, 2, 3):
        log = cluster.broker(broker_id).logs.get(tp)
        assert log is not None
        assert records_of(log) == [(0, b"a"), (1, b"b")]
    assert cluster.broker(leader).high_watermark(tp) == 2


def test_consumers_see_only_what_is_below_the_high_watermark(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(2, tmp_path)
    leader = cluster.leader_of(tp)
    followers = [b for b in (1, 2, 3) if b != leader]
    for name in followers:
        cluster.isolate(f"broker-{name}")  # nobody can copy from the leader now
    answer = cluster.produce(tp, [b"x"], broker=leader, acks=1)
    assert answer.error_code == ErrorCode.NONE
    partition = cluster.broker(leader).replicas.partitions[tp]  # type: ignore[union-attr]
    assert partition.log.log_end_offset == 1 and partition.high_watermark == 0


def test_a_lagging_follower_leaves_the_isr_and_returns_once_caught_up(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(3, tmp_path)
    leader = cluster.leader_of(tp)
    follower = next(b for b in (1, 2, 3) if b != leader)
    partition = cluster.broker(leader).replicas.partitions[tp]  # type: ignore[union-attr]
    cluster.crash(f"broker-{follower}")
    cluster.wait_until(lambda: follower not in partition.isr, timeout_ms=5_000)
    assert (
        cluster.produce(tp, [b"without"], broker=leader).error_code == ErrorCode.NONE
    )  # 2 in sync
    cluster.restart(f"broker-{follower}")
    cluster.wait_until(lambda: follower in partition.isr, timeout_ms=10_000)
    log = cluster.broker(follower).logs.get(tp)
    assert log is not None and records_of(log) == [(0, b"without")]


def test_acks_all_is_refused_under_min_insync_replicas_but_acks_1_is_not(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(4, tmp_path)
    leader = cluster.leader_of(tp)
    partition = cluster.broker(leader).replicas.partitions[tp]  # type: ignore[union-attr]
    for b in (1, 2, 3):
        if b != leader:
            cluster.crash(f"broker-{b}")
    cluster.wait_until(lambda: partition.isr == (leader,), timeout_ms=5_000)
    assert cluster.produce(tp, [b"no"], broker=leader).error_code == ErrorCode.NOT_ENOUGH_REPLICAS
    assert cluster.produce(tp, [b"yes"], broker=leader, acks=1).error_code == ErrorCode.NONE
    assert partition.high_watermark == 0  # under min.insync.replicas nothing commits


def test_failover_elects_from_the_isr_and_the_old_leader_rejoins_by_epoch(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(5, tmp_path)
    old = cluster.leader_of(tp)
    assert cluster.produce(tp, [b"1", b"2"], broker=old).error_code == ErrorCode.NONE
    cluster.crash(f"broker-{old}")
    cluster.wait_until(lambda: cluster.leader_of(tp) not in (old, -1), timeout_ms=5_000)
    new = cluster.leader_of(tp)
    new_partition = cluster.broker(new).replicas.partitions[tp]  # type: ignore[union-attr]
    cluster.wait_until(lambda: new_partition.role == Role.LEADER, timeout_ms=5_000)
    assert new_partition.leader_epoch == 1
    assert cluster.produce(tp, [b"3"], broker=new).error_code == ErrorCode.NONE
    cluster.restart(f"broker-{old}")
    cluster.wait_until(lambda: old in new_partition.isr, timeout_ms=10_000)
    old_partition = cluster.broker(old).replicas.partitions[tp]  # type: ignore[union-attr]
    assert old_partition.role == Role.FOLLOWER
    assert [e.epoch for e in old_partition.epoch_cache.entries] == [0, 1]
    log = cluster.broker(old).logs.get(tp)
    assert log is not None and records_of(log) == [(0, b"1"), (1, b"2"), (2, b"3")]


def test_a_produce_to_a_follower_is_refused_and_names_no_offset(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(6, tmp_path)
    follower = next(b for b in (1, 2, 3) if b != cluster.leader_of(tp))
    answer = cluster.produce(tp, [b"x"], broker=follower)
    assert answer.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER and answer.base_offset == -1


def lose_both_replicas_that_have_an_acknowledged_record(
    cluster: Cluster, tp: TopicPartition
) -> tuple[int, int, int]:
    """A follower falls out of the ISR, a record is acknowledged without it, then the two
    replicas that have the record go down: (old leader, the out-of-sync one, the other)."""
    leader = cluster.leader_of(tp)
    partition = cluster.broker(leader).replicas.partitions[tp]  # type: ignore[union-attr]
    straggler, other = [b for b in (1, 2, 3) if b != leader]
    cluster.isolate(f"broker-{straggler}")
    cluster.wait_until(lambda: straggler not in partition.isr, timeout_ms=5_000)
    assert cluster.produce(tp, [b"acknowledged"], broker=leader).error_code == ErrorCode.NONE
    cluster.crash(f"broker-{leader}")
    cluster.crash(f"broker-{other}")
    cluster.heal()
    return leader, straggler, other


def test_unclean_leader_election_loses_acknowledged_records(tmp_path: Path) -> None:
    cluster, tp = replicated_cluster(7, tmp_path, unclean_leader_election_enable=True)
    leader, straggler, _ = lose_both_replicas_that_have_an_acknowledged_record(cluster, tp)
    # With unclean.leader.election.enable the out-of-sync survivor takes over...
    cluster.wait_until(lambda: cluster.leader_of(tp) == straggler, timeout_ms=10_000)
    survivor = cluster.broker(straggler).replicas.partitions[tp]  # type: ignore[union-attr]
    cluster.wait_until(lambda: survivor.role == Role.LEADER, timeout_ms=5_000)
    # ...and the acknowledged record is gone: the new leader never had it.
    assert records_of(survivor.log) == []
    cluster.restart(f"broker-{leader}")
    old = cluster.broker(leader).replicas.partitions  # type: ignore[union-attr]
    cluster.wait_until(lambda: tp in old and old[tp].role == Role.FOLLOWER, timeout_ms=10_000)
    cluster.wait_until(lambda: old[tp].log.log_end_offset == 0, timeout_ms=10_000)  # truncated


def test_without_unclean_election_the_partition_waits_for_an_in_sync_replica(
    tmp_path: Path,
) -> None:
    cluster, tp = replicated_cluster(7, tmp_path)
    leader, _, other = lose_both_replicas_that_have_an_acknowledged_record(cluster, tp)
    cluster.run_for(3_000)
    assert cluster.leader_of(tp) == -1  # no leader rather than a wrong one
    cluster.restart(f"broker-{leader}")
    cluster.restart(f"broker-{other}")
    # The last in-sync replica to be fenced leads again, with the record.
    cluster.wait_until(lambda: cluster.leader_of(tp) in (leader, other), timeout_ms=10_000)
    log = cluster.broker(cluster.leader_of(tp)).logs.get(tp)
    assert log is not None and records_of(log) == [(0, b"acknowledged")]


def test_a_follower_with_a_stale_leader_epoch_is_fenced_and_loses_nothing(tmp_path: Path) -> None:
    """Regression (found in review, seed 11): a follower cut off from the controllers keeps
    fetching with epoch 0 from a broker that leads again in epoch 2 after truncating; without
    KIP-320's epoch check it counted the stale offset and appended after its divergent tail."""
    c = Cluster(seed=11, controllers=3, data_dir=tmp_path, replica_lag_time_max_ms=1_000)
    c.create_topic("r", 1, 3, configs={"min.insync.replicas": "1", "flush.messages": "1"})
    tp = TopicPartition("r", 0)
    a, b, follower = 1, 2, 3
    assert c.leader_of(tp) == a
    controllers = sorted(c.controllers)

    def partition(broker: int) -> Partition:
        replicas = c.broker(broker).replicas
        assert replicas is not None
        return replicas.partitions[tp]

    assert c.produce(tp, [b"c0"], broker=a).error_code == ErrorCode.NONE
    c.partition([f"broker-{follower}"], controllers)
    c.partition([f"broker-{a}"], [*controllers, f"broker-{b}"])
    for value in (b"u1", b"u2"):  # acks=1 to the cut-off leader: never committed
        c.produce(tp, [value], broker=a, acks=1)
    c.wait_until(lambda: c.leader_of(tp) == b, 10_000)
    c.wait_until(lambda: partition(b).role == Role.LEADER)
    for value in (b"b1", b"b2", b"b3"):
        assert c.produce(tp, [value], broker=b).error_code == ErrorCode.NONE
    c.heal()
    c.partition([f"broker-{follower}"], controllers)
    c.wait_until(lambda: a in partition(b).isr, 10_000)
    c.crash(f"broker-{b}")
    c.wait_until(lambda: c.leader_of(tp) == a, 10_000)
    c.wait_until(lambda: partition(a).role == Role.LEADER)
    assert c.produce(tp, [b"a1"], broker=a).error_code == ErrorCode.NONE
    c.heal()
    c.wait_until(lambda: follower in partition(a).isr, 10_000)
    c.crash(f"broker-{a}")
    c.wait_until(lambda: c.leader_of(tp) == follower, 10_000)
    c.wait_until(lambda: partition(follower).role == Role.LEADER)
    log = c.broker(follower).logs.get(tp)
    assert log is not None
    assert [v for _, v in records_of(log)] == [b"c0", b"b1", b"b2", b"b3", b"a1"]


def test_a_follower_behind_the_leaders_log_start_starts_over_from_it(tmp_path: Path) -> None:
    """Regression (found in review): retention moved the leader's log start past a follower's
    log end while the follower was down; OFFSET_OUT_OF_RANGE sent it back to truncating,
    which changed nothing, in a loop. Now it empties its log and fetches from the log start."""
    c = Cluster(
        seed=5,
        controllers=3,
        data_dir=tmp_path,
        replica_lag_time_max_ms=1_000,
        log_retention_check_interval_ms=500,
    )
    configs = {
        "min.insync.replicas": "1",
        "flush.messages": "1",
        "segment.bytes": "200",
        "retention.bytes": "400",
    }
    c.create_topic("r", 1, 3, configs=configs)
    tp = TopicPartition("r", 0)
    leader = c.leader_of(tp)
    follower = 3 if leader != 3 else 2
    c.produce(tp, [b"x" * 50], broker=leader)
    c.crash(f"broker-{follower}")
    for _ in range(30):
        c.produce(tp, [b"y" * 50], broker=leader)
    c.run_for(1_000)
    leader_log = c.broker(leader).logs.get(tp)
    assert leader_log is not None and leader_log.log_start_offset > 1
    c.restart(f"broker-{follower}")
    partition = c.broker(leader).replicas.partitions[tp]  # type: ignore[union-attr]
    c.wait_until(lambda: follower in partition.isr, timeout_ms=10_000)
    follower_log = c.broker(follower).logs.get(tp)
    assert follower_log is not None
    assert follower_log.log_end_offset == leader_log.log_end_offset


def test_after_an_unclean_election_old_replicas_drop_what_the_new_leader_never_had(
    tmp_path: Path,
) -> None:
    """Regression (found in review): the unclean leader's epochs all begin after the old
    replicas' epoch; answering "undefined" left them truncating only to their own high
    watermark, keeping a record the leader never had. Kafka's answer (that epoch, ending
    where the leader's first epoch began) makes them drop it."""
    c = Cluster(
        seed=7,
        controllers=3,
        data_dir=tmp_path,
        unclean_leader_election_enable=True,
        replica_lag_time_max_ms=1_000,
    )
    c.create_topic("r", 1, 3, configs={"min.insync.replicas": "1", "flush.messages": "1"})
    tp = TopicPartition("r", 0)
    leader = c.leader_of(tp)
    straggler, other = [b for b in (1, 2, 3) if b != leader]

    def partition(broker: int) -> Partition:
        replicas = c.broker(broker).replicas
        assert replicas is not None
        return replicas.partitions[tp]

    c.isolate(f"broker-{straggler}")
    c.wait_until(lambda: straggler not in partition(leader).isr, 5_000)
    assert c.produce(tp, [b"acknowledged"], broker=leader).error_code == ErrorCode.NONE
    c.run_for(300)
    c.heal()
    controllers = sorted(c.controllers)
    c.partition([f"broker-{leader}", f"broker-{other}"], [*controllers, f"broker-{straggler}"])
    c.wait_until(lambda: c.leader_of(tp) == straggler, 10_000)
    c.wait_until(lambda: partition(straggler).role == Role.LEADER)
    for value in (b"new1", b"new2"):
        c.produce(tp, [value], broker=straggler, acks=1)
    c.heal()
    c.run_for(3_000)
    expected = [(0, b"new1"), (1, b"new2")]
    for broker in (1, 2, 3):
        log = c.broker(broker).logs.get(tp)
        assert log is not None and records_of(log) == expected, broker
