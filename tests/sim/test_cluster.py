"""The in-kernel Cluster: topics, workloads, faults, and the timeline every view reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reflog.sim import Cluster, ClusterError, LinkConfig
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

KEYS = [b"alice", b"bob", b"carol", b"dave", b"erin", b"frank"]


def busy_cluster(seed: int, data_dir: Path, **settings: object) -> Cluster:
    """3 brokers, a topic of 3 partitions with 3 replicas, a producer and a consumer."""
    cluster = Cluster(seed=seed, data_dir=data_dir, **settings)  # type: ignore[arg-type]
    cluster.create_topic("t", partitions=3)
    cluster.add_producer("p", "t", rate_per_s=200, keys=KEYS)
    cluster.add_consumer("c", "t")
    return cluster


def eventful_run(seed: int, data_dir: Path) -> Cluster:
    cluster = busy_cluster(seed, data_dir)
    cluster.run_for(500)
    cluster.crash(f"broker-{cluster.leader_of('t', 0)}")
    cluster.run_for(1_500)
    cluster.isolate("broker-3")
    cluster.run_for(500)
    cluster.heal()
    cluster.run_for(500)
    return cluster


def test_a_new_cluster_has_a_quorum_and_spreads_leaders_over_its_brokers(tmp_path: Path) -> None:
    cluster = Cluster(seed=1, brokers=3, controllers=3, data_dir=tmp_path)
    cluster.create_topic("orders", partitions=3)
    snapshot = cluster.timeline.latest
    assert [n.name for n in snapshot.controllers()] == ["3000", "3001", "3002"]
    assert [n.name for n in snapshot.brokers()] == ["broker-1", "broker-2", "broker-3"]
    assert snapshot.active_controller in ("3000", "3001", "3002")
    roles = sorted(n.raft_role or "" for n in snapshot.controllers())
    assert roles == ["Follower", "Follower", "Leader"]
    assert sorted(p.leader for p in snapshot.topic("orders")) == [1, 2, 3]
    for p in snapshot.topic("orders"):
        assert sorted(p.isr) == [1, 2, 3] and p.leader_epoch == 0
        assert p.replica(p.leader).role == "Leader"


def test_create_topic_raises_with_kafkas_error_name(tmp_path: Path) -> None:
    cluster = Cluster(seed=2, brokers=3, data_dir=tmp_path, record=False)
    cluster.create_topic("t")
    with pytest.raises(ClusterError, match="TOPIC_ALREADY_EXISTS") as refused:
        cluster.create_topic("t")
    assert refused.value.error_code == ErrorCode.TOPIC_ALREADY_EXISTS
    before_ms = cluster.now_ms
    with pytest.raises(ClusterError, match="INVALID_REPLICATION_FACTOR"):
        cluster.create_topic("wide", replication_factor=4)
    assert cluster.now_ms - before_ms < 1_000  # refused at once, not after timeout_ms
    assert [a.kind for a in cluster.actions] == ["create_topic"] * 3


def test_create_topic_returns_once_every_broker_leads_or_follows_the_new_partition(
    tmp_path: Path,
) -> None:
    cluster = Cluster(seed=4, brokers=3, controllers=3, data_dir=tmp_path)
    cluster.create_topic("orders")
    cluster.create_topic("r")
    # A produce right away finds its leader (not UNKNOWN_TOPIC_OR_PARTITION).
    roles = {r.broker_id: r.role for r in cluster.snapshot().partition("r", 0).replicas}
    assert sorted(roles.values()) == ["Follower", "Follower", "Leader"]
    result = cluster.produce(TopicPartition("r", 0), [b"v"])
    assert result.error_code == ErrorCode.NONE


def test_create_topic_does_not_wait_for_an_isolated_broker(tmp_path: Path) -> None:
    cluster = Cluster(seed=4, brokers=3, data_dir=tmp_path, record=False)
    cluster.create_topic("a")
    cluster.isolate("broker-3")
    cluster.run_for(2_000)  # the controller fences it
    cluster.create_topic("b", replication_factor=2)
    assert cluster.leader_of("b", 0) in (1, 2)


def test_a_producer_and_a_consumer_move_through_every_partition(tmp_path: Path) -> None:
    cluster = busy_cluster(3, tmp_path)
    cluster.run_for(1_000)
    producer, consumer = cluster.producers["p"], cluster.consumers["c"]
    assert producer.failed == 0 and producer.acked > 150
    # Stop producing, so the consumer can reach every partition's high watermark.
    cluster.set_rate("p", 0)

    def caught_up() -> bool:
        positions = dict(cluster.snapshot().consumer("c").positions)
        return producer.sent == producer.acked and positions == cluster.high_watermarks("t")

    assert cluster.run_until(caught_up, 3_000)
    ends = cluster.log_end_offsets("t")
    assert sum(ends.values()) >= producer.acked
    snapshot = cluster.timeline.latest
    assert snapshot.producer("p").acked == producer.acked
    assert len(consumer.records) == producer.acked
    positions = dict(snapshot.consumer("c").positions)
    assert positions == {tp.partition: consumer.consumer.position(tp) for tp in consumer.partitions}
    high_watermarks = cluster.high_watermarks("t")
    assert all(positions[p] <= high_watermarks[p] for p in high_watermarks)
    assert sum(positions.values()) >= producer.acked


def test_the_same_seed_gives_the_same_timeline(tmp_path: Path) -> None:
    first = eventful_run(7, tmp_path / "a")
    second = eventful_run(7, tmp_path / "b")
    assert first.sim.trace.digest() == second.sim.trace.digest()
    assert list(first.timeline) == list(second.timeline)
    other = eventful_run(8, tmp_path / "c")
    assert list(other.timeline) != list(first.timeline)


def test_the_timeline_shows_leadership_moving_after_a_crash(tmp_path: Path) -> None:
    cluster = busy_cluster(4, tmp_path, controllers=3)
    cluster.run_for(500)
    old = cluster.leader_of("t", 0)
    cluster.crash(f"broker-{old}")
    crashed_at = cluster.now_ms
    cluster.run_for(3_000)
    timeline = cluster.timeline
    before = timeline.at(crashed_at - 1).partition("t", 0)
    after = timeline.latest.partition("t", 0)
    assert before.leader == old and old in before.isr
    assert after.leader not in (old, -1) and old not in after.isr
    assert after.leader_epoch == before.leader_epoch + 1
    assert after.replica(old).role == "down" and not after.replica(old).alive
    # The crashed replica keeps what it had last: its log end is where it stopped.
    assert after.replica(old).log_end_offset <= after.replica(after.leader).log_end_offset
    # The crash is in the timeline, at the instant it happened.
    (crash,) = [a for s in timeline for a in s.actions if a.kind == "crash"]
    assert crash.target == f"broker-{old}" and crash.at_ms == crashed_at
    assert not timeline.latest.node(f"broker-{old}").alive
    assert timeline.latest.node(f"broker-{old}").fenced


def test_isolate_cut_slow_and_heal_change_the_network_and_are_recorded(tmp_path: Path) -> None:
    cluster = Cluster(seed=5, data_dir=tmp_path)
    cluster.create_topic("t")
    cluster.isolate("broker-2")
    assert cluster.timeline.latest.node("broker-2").isolated
    assert not cluster.timeline.latest.node("broker-1").isolated
    cluster.heal()
    cluster.cut("broker-1", "broker-3")
    links = cluster.timeline.latest.cut_links
    assert links == (("broker-1", "broker-3"), ("broker-3", "broker-1"))
    cluster.cut("broker-1", "broker-2", one_way=True)
    assert ("broker-1", "broker-2") in cluster.timeline.latest.cut_links
    assert ("broker-2", "broker-1") not in cluster.timeline.latest.cut_links
    cluster.slow("broker-1", "broker-2", 300)
    assert cluster.sim.network.link("broker-2", "broker-1").latency_ms_min == 300
    cluster.heal()
    assert cluster.timeline.latest.cut_links == ()
    assert cluster.sim.network.link("broker-2", "broker-1") == cluster.sim.network.default
    kinds = [a.kind for a in cluster.actions]
    assert kinds == ["create_topic", "isolate", "heal", "cut", "cut", "slow", "heal"]


def test_an_isolated_leader_loses_its_partitions_and_a_slow_link_delays_acks(
    tmp_path: Path,
) -> None:
    cluster = Cluster(seed=6, data_dir=tmp_path, replica_lag_time_max_ms=1_000)
    cluster.create_topic("t", configs={"min.insync.replicas": "2"})
    tp = TopicPartition("t", 0)
    fast = cluster.produce(tp, [b"a"])
    assert fast.error == "NONE" and fast.latency_ms is not None and fast.latency_ms < 50
    leader = cluster.leader_of(tp)
    followers = [b for b in (1, 2, 3) if b != leader]
    for follower in followers:
        cluster.slow(f"broker-{leader}", f"broker-{follower}", 200)
    slow = cluster.produce(tp, [b"b"])
    assert slow.error == "NONE" and slow.latency_ms is not None and slow.latency_ms >= 200
    cluster.heal()
    cluster.isolate(f"broker-{leader}")
    cluster.wait_until(lambda: cluster.leader_of(tp) not in (leader, -1), 5_000)
    assert cluster.records(cluster.leader_of(tp), tp) == [(0, b"a"), (1, b"b")]


def test_a_power_cut_loses_what_was_not_flushed_and_restart_recovers_the_rest(
    tmp_path: Path,
) -> None:
    cluster = Cluster(seed=7, brokers=1, data_dir=tmp_path)
    cluster.create_topic("t", configs={"flush.messages": "2"})
    tp = TopicPartition("t", 0)
    for value in (b"1", b"2", b"3"):
        assert cluster.produce(tp, [value]).error == "NONE"
    cluster.crash("broker-1")
    cluster.restart("broker-1")
    cluster.wait_until(lambda: cluster.leader_of(tp) == 1 and cluster.replica(1, tp) is not None)
    assert cluster.records(1, tp) == [(0, b"1"), (1, b"2")]  # "3" was never fsynced


def test_unknown_node_names_are_refused(tmp_path: Path) -> None:
    cluster = Cluster(seed=1, brokers=1, data_dir=tmp_path, record=False)
    with pytest.raises(KeyError, match="broker-0"):
        cluster.crash("broker-0")


def test_without_recording_the_run_is_the_same_and_the_timeline_stays_empty(
    tmp_path: Path,
) -> None:
    recorded = busy_cluster(9, tmp_path / "a")
    recorded.run_for(1_000)
    bare = busy_cluster(9, tmp_path / "b", record=False)
    bare.run_for(1_000)
    assert len(bare.timeline) == 0 and len(recorded.timeline) > 100
    assert bare.sim.trace.digest() == recorded.sim.trace.digest()
    assert bare.snapshot().partitions == recorded.snapshot().partitions


def test_unchanged_parts_of_a_snapshot_are_shared_with_the_previous_one(tmp_path: Path) -> None:
    cluster = Cluster(seed=10, data_dir=tmp_path)
    cluster.create_topic("quiet")
    created = len(cluster.timeline)
    cluster.run_for(2_000)  # nobody produces: replicas do not change
    later = list(cluster.timeline)[created:]
    replicas = {id(s.partition("quiet").replicas[0]) for s in later}
    assert len(later) > 50 and len(replicas) == 1


def test_the_timeline_thins_its_oldest_half_when_full(tmp_path: Path) -> None:
    cluster = Cluster(seed=11, data_dir=tmp_path, max_snapshots=200)
    cluster.create_topic("t")
    cluster.crash("broker-2")
    cluster.run_for(3_000)
    timeline = cluster.timeline
    assert len(timeline) <= 200
    assert timeline[0].at_ms == 0 and timeline.latest.at_ms == cluster.now_ms
    assert any(a.kind == "crash" for s in timeline for a in s.actions)  # actions are kept
    times = [s.at_ms for s in timeline]
    assert times == sorted(times)


def test_live_play_gives_the_same_timeline_as_run_for(tmp_path: Path) -> None:
    reference = busy_cluster(12, tmp_path / "a")
    reference.run_for(400)
    played = busy_cluster(12, tmp_path / "b")
    frames: list[int] = []
    played.on_change(lambda: frames.append(played.now_ms))

    async def play() -> None:
        await played.play(speed=2, for_ms=400)  # 100 simulated ms a frame

    asyncio.run(asyncio.wait_for(play(), timeout=30))
    assert not played.playing
    assert played.sim.trace.digest() == reference.sim.trace.digest()
    assert list(played.timeline) == list(reference.timeline)
    assert len(frames) > 1 and frames == sorted(frames)


def test_pause_stops_simulated_time(tmp_path: Path) -> None:
    cluster = Cluster(seed=13, brokers=1, data_dir=tmp_path, network=LinkConfig(1, 2))

    async def scenario() -> tuple[int, int]:
        cluster.play(speed=100)
        while cluster.now_ms < 200:
            await asyncio.sleep(0.005)
        cluster.pause()
        paused_at = cluster.now_ms
        for _ in range(5):
            await asyncio.sleep(0.01)
        return paused_at, cluster.now_ms

    paused_at, later = asyncio.run(asyncio.wait_for(scenario(), timeout=20))
    assert paused_at == later and not cluster.playing
    with pytest.raises(ValueError):
        cluster.speed = 0


def test_segments_in_the_timeline_are_the_files_on_disk(tmp_path: Path) -> None:
    cluster = Cluster(seed=14, data_dir=tmp_path, log_retention_check_interval_ms=500)
    configs = {"segment.bytes": "2048", "index.interval.bytes": "256", "retention.bytes": "6000"}
    cluster.create_topic("t", configs=configs)
    cluster.add_producer("p", "t", rate_per_s=300, keys=KEYS)
    cluster.run_for(1_000)
    middle = cluster.now_ms
    cluster.run_for(2_000)
    tp = TopicPartition("t", 0)
    for broker_id in (1, 2, 3):
        log = cluster.broker(broker_id).logs.get(tp)
        assert log is not None
        replica = cluster.timeline.latest.partition("t").replica(broker_id)
        assert replica.log_start_offset == log.log_start_offset > 0  # retention ran
        assert [s.base_offset for s in replica.segments] == [s.base_offset for s in log.segments]
        for seen, segment in zip(replica.segments, log.segments, strict=True):
            assert seen.batches == tuple(segment.batches_from(0))
            assert seen.index == tuple(segment.index.entries())
            assert seen.size == segment.size and seen.next_offset == segment.next_offset
        assert [s.active for s in replica.segments] == [False] * (len(log.segments) - 1) + [True]
    # An earlier snapshot still sees its segment as it was then, not as it grew since.
    earlier = cluster.timeline.at(middle).partition("t").replica(1).segments[-1]
    assert earlier.batches[-1].last_offset == earlier.next_offset - 1
    assert sum(b.size for b in earlier.batches) == earlier.size
