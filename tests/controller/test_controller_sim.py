"""The controller quorum in the simulation: 3 controllers (Raft) and 3 brokers following them.

Scenarios after KRaft's behaviour (KIP-631): brokers register and are unfenced once caught
up; CreateTopics goes through the active controller and places replicas across live brokers;
a broker whose session times out is fenced and its partitions get new leaders from the ISR
with a bumped leader epoch; the metadata survives the loss of the active controller.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reflog.controller.image import PartitionState
from reflog.controller.records import NO_LEADER
from reflog.sim import Cluster, ClusterError
from reflog.sim.cluster import SESSION_TIMEOUT_MS
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)


def started(tmp_path: Path, seed: int = 1, controllers: int = 3, **kwargs: object) -> Cluster:
    """3 brokers following a quorum of ``controllers``, every broker registered."""
    cluster = Cluster(
        seed=seed,
        controllers=controllers,
        data_dir=tmp_path,
        record=False,
        **kwargs,  # type: ignore[arg-type]
    )
    cluster.wait_for_active_controller()
    cluster.wait_unfenced(1, 2, 3)
    return cluster


def refusal(cluster: Cluster, name: str, partitions: int, rf: int, **configs: str) -> ErrorCode:
    """The error the active controller answers a CreateTopics request with (NONE: created).
    Unlike ``create_topic``, it does not wait for the brokers to create the logs."""
    topic = CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=rf,
        configs=[CreatableTopicConfig(name=k, value=v) for k, v in configs.items()],
    )
    controller = cluster.wait_for_active_controller()
    response = cluster.request(controller, CreateTopicsRequest(topics=[topic]), version=4)
    assert isinstance(response, CreateTopicsResponse)
    return ErrorCode(response.topics[0].error_code)


def test_brokers_register_and_every_broker_lists_them_all(tmp_path: Path) -> None:
    cluster = started(tmp_path)
    cluster.wait_caught_up()
    for broker_id in (1, 2, 3):
        metadata = cluster.metadata(broker_id)
        assert sorted(b.node_id for b in metadata.brokers) == [1, 2, 3]
        assert {b.host for b in metadata.brokers} == {"broker-1", "broker-2", "broker-3"}


def test_create_topics_places_replicas_across_brokers_and_spreads_leaders(
    tmp_path: Path,
) -> None:
    cluster = started(tmp_path)
    cluster.create_topic("orders", partitions=6, replication_factor=3)
    metadata = cluster.metadata(2, ["orders"])  # asked of another broker than the one used
    (topic,) = metadata.topics
    assert topic.error_code == ErrorCode.NONE
    leaders = [p.leader_id for p in topic.partitions]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3]  # two partitions led by each broker
    for p in topic.partitions:
        assert sorted(p.replica_nodes) == [1, 2, 3] and p.isr_nodes == p.replica_nodes
        assert p.replica_nodes[0] == p.leader_id
    # Each broker hosts a log for every partition placed on it.
    for broker_id in (1, 2, 3):
        for p in range(6):
            assert cluster.broker(broker_id).partition_log(TopicPartition("orders", p)) is not None


def test_create_topics_refusals(tmp_path: Path) -> None:
    cluster = started(tmp_path)
    assert refusal(cluster, "t", 1, 1) == ErrorCode.NONE
    assert refusal(cluster, "t", 1, 1) == ErrorCode.TOPIC_ALREADY_EXISTS
    with pytest.raises(ClusterError, match="TOPIC_ALREADY_EXISTS"):  # create_topic raises it
        cluster.create_topic("t", 1, 1)
    assert refusal(cluster, "wide", 1, 4) == ErrorCode.INVALID_REPLICATION_FACTOR
    assert refusal(cluster, "none", 0, 1) == ErrorCode.INVALID_PARTITIONS
    assert refusal(cluster, "bad", 1, 1, **{"no.such": "1"}) == ErrorCode.INVALID_CONFIG
    assert refusal(cluster, "bad name!", 1, 1) == ErrorCode.INVALID_TOPIC_EXCEPTION
    # Kafka's cap on one request, checked before anything is placed or written.
    assert refusal(cluster, "huge", 10_001, 1) == ErrorCode.POLICY_VIOLATION
    assert refusal(cluster, "huge", 10_000, 1) == ErrorCode.NONE


def test_a_fenced_broker_loses_its_leaderships_to_the_isr_with_a_new_leader_epoch(
    tmp_path: Path,
) -> None:
    cluster = started(tmp_path)
    cluster.create_topic("events", partitions=3, replication_factor=3)
    before = {tp: s for tp, s in cluster.image(2).partitions()}
    led_by_1 = [tp for tp, s in before.items() if s.leader == 1]
    assert led_by_1
    cluster.crash("broker-1")
    cluster.run_for(SESSION_TIMEOUT_MS + 500)
    cluster.wait_caught_up()
    image = cluster.image(2)
    assert image.brokers[1].fenced
    for tp, state in image.partitions():
        assert 1 not in state.isr  # fenced brokers leave every ISR
        assert state.leader in (2, 3)
        if tp in led_by_1:
            assert state.leader_epoch == before[tp].leader_epoch + 1
        else:
            assert state.leader_epoch == before[tp].leader_epoch  # same leader, same epoch
    assert [b.node_id for b in cluster.metadata(3).brokers] == [2, 3]


def test_produce_to_a_broker_that_does_not_lead_is_refused(tmp_path: Path) -> None:
    from reflog.records.batch import NewRecord, build_batch
    from reflog.wire.messages.produce import (
        PartitionProduceData,
        ProduceRequest,
        ProduceResponse,
        TopicProduceData,
    )

    cluster = started(tmp_path)
    cluster.create_topic("single", partitions=1, replication_factor=1)
    (state,) = [s for _, s in cluster.image(1).partitions()]
    follower = next(b for b in (1, 2, 3) if b != state.leader)
    batch = build_batch([NewRecord(key=b"k", value=b"v", timestamp=0)])
    request = ProduceRequest(
        acks=1,
        timeout_ms=1000,
        topic_data=[
            TopicProduceData(
                name="single", partition_data=[PartitionProduceData(index=0, records=batch)]
            )
        ],
    )
    for broker_id, expected in ((follower, ErrorCode.NOT_LEADER_OR_FOLLOWER), (state.leader, 0)):
        response = cluster.request(broker_id, request, version=7)
        assert isinstance(response, ProduceResponse)
        assert response.responses[0].partition_responses[0].error_code == expected


def both_replicas_fenced_one_after_the_other(
    cluster: Cluster,
) -> tuple[TopicPartition, PartitionState]:
    """A topic with 2 replicas; the first replica is fenced, then the second (the last in ISR)."""
    cluster.create_topic("fragile", partitions=1, replication_factor=2)
    ((tp, state),) = cluster.image(1).partitions()
    for broker_id in state.replicas:
        cluster.crash(f"broker-{broker_id}")
        cluster.run_for(SESSION_TIMEOUT_MS + 500)
    return tp, state


def test_the_last_isr_member_fenced_leaves_the_partition_leaderless_until_it_returns(
    tmp_path: Path,
) -> None:
    cluster = started(tmp_path)
    tp, state = both_replicas_fenced_one_after_the_other(cluster)
    first, second = state.replicas
    other = next(b for b in (1, 2, 3) if b not in state.replicas)
    cluster.wait_caught_up()
    after = cluster.image(other).partition(tp)
    assert after is not None
    assert after.leader == NO_LEADER and after.isr == (second,)  # it waits for `second`
    # The replica that was not in the ISR returns: clean election will not pick it.
    cluster.restart(f"broker-{first}")
    cluster.wait_unfenced(first)
    cluster.wait_caught_up()
    assert cluster.image(other).partition(tp).leader == NO_LEADER  # type: ignore[union-attr]
    cluster.restart(f"broker-{second}")
    cluster.wait_unfenced(second)
    cluster.wait_caught_up()
    assert cluster.image(other).partition(tp).leader == second  # type: ignore[union-attr]


def test_unclean_leader_election_picks_a_live_replica_outside_the_isr(tmp_path: Path) -> None:
    cluster = started(tmp_path, unclean_leader_election_enable=True)
    tp, state = both_replicas_fenced_one_after_the_other(cluster)
    first = state.replicas[0]
    cluster.restart(f"broker-{first}")  # out of sync, but alive
    cluster.wait_unfenced(first)
    cluster.wait_caught_up()
    other = next(b for b in (1, 2, 3) if b not in state.replicas)
    after = cluster.image(other).partition(tp)
    assert after is not None and after.leader == first and after.isr == (first,)


def test_metadata_survives_the_loss_of_the_active_controller(tmp_path: Path) -> None:
    cluster = started(tmp_path)
    cluster.create_topic("before", 2, 3)
    old = cluster.wait_for_active_controller()
    cluster.crash(old)
    cluster.wait_until(lambda: cluster.active_controller() not in (None, old))
    cluster.create_topic("after", 2, 3)
    names = {t.name for t in cluster.metadata(3).topics}
    assert names == {"before", "after"}
    cluster.restart(old)  # it rejoins as a follower and catches up from its disk

    def caught_up() -> bool:
        node = cluster.controllers[old].controller
        return node is not None and "after" in node.image.topics

    cluster.wait_until(caught_up)
    assert cluster.active_controller() != old


def test_metadata_snapshots_bring_a_late_broker_up_to_date(tmp_path: Path) -> None:
    cluster = started(tmp_path, metadata_snapshot_batches=5)
    cluster.crash("broker-3")
    for i in range(12):
        cluster.create_topic(f"t{i}", 1, 1)
    active = cluster.controllers[cluster.wait_for_active_controller()].controller
    assert active is not None and active.raft.snapshot.last_index > 0
    cluster.restart("broker-3")
    cluster.wait_unfenced(3)
    cluster.wait_caught_up()
    assert {f"t{i}" for i in range(12)} <= set(cluster.image(3).topics)


def test_five_controllers_survive_two_controller_crashes(tmp_path: Path) -> None:
    cluster = started(tmp_path, controllers=5)
    cluster.create_topic("one", 1, 3)
    first = cluster.wait_for_active_controller()
    cluster.crash(first)
    cluster.wait_until(lambda: cluster.active_controller() not in (None, first))
    second = cluster.wait_for_active_controller()
    cluster.crash(second)
    cluster.wait_until(lambda: cluster.active_controller() not in (None, first, second))
    cluster.create_topic("two", 1, 3)  # 3 of 5 still decide
    assert {t.name for t in cluster.metadata(1).topics} == {"one", "two"}
