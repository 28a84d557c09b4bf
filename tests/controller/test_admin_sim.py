"""The controller's side of the admin APIs, on the simulated cluster (deterministic by seed).

Each change goes through a real admin request to a broker, forwarded to the active
controller, committed to the metadata log and applied by every broker.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reflog.controller.image import MetadataImage
from reflog.controller.records import NO_LEADER
from reflog.sim import Cluster
from reflog.sim.cluster import ClusterError
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.configs import (
    DescribeConfigsRequest,
    DescribeConfigsResource,
    DescribeConfigsResponse,
)
from reflog.wire.messages.incremental_alter_configs import (
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from reflog.wire.messages.partition_admin import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopic,
    ReassignablePartition,
    ReassignableTopic,
)
from reflog.wire.messages.topic_admin import (
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DeleteTopicState,
)
from reflog.wire.schema import ZERO_UUID

TP = TopicPartition("t", 0)


def cluster(tmp_path: Path, brokers: int = 3, **settings: object) -> Cluster:
    return Cluster(
        seed=7,
        brokers=brokers,
        data_dir=tmp_path,
        replica_lag_time_max_ms=1_000,
        **settings,  # type: ignore[arg-type]
    )


def test_raising_min_insync_replicas_live_refuses_acks_all_writes_a_smaller_isr_cannot_take(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 3)
    c.crash("broker-3")
    c.run_until(lambda: len(c.image().partition(TP).isr) == 2, 10_000)  # type: ignore[union-attr]
    assert c.produce(TP, [b"a"]).error == "NONE"
    c.alter_config("t", {"min.insync.replicas": "3"})
    assert c.produce(TP, [b"b"]).error == "NOT_ENOUGH_REPLICAS"
    c.alter_config("t", {"min.insync.replicas": None})  # back to the default, 1
    assert c.produce(TP, [b"c"]).error == "NONE"


def test_turning_on_unclean_election_elects_an_out_of_sync_replica_at_once(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 2)
    first, second = c.image().partition(TP).replicas  # type: ignore[union-attr]
    c.crash(f"broker-{second}")
    c.run_until(lambda: c.image().partition(TP).isr == (first,), 10_000)  # type: ignore[union-attr]
    c.crash(f"broker-{first}")
    c.restart(f"broker-{second}")
    c.wait_unfenced(second)
    # Once the last in-sync replica's session runs out, nobody may lead (a clean election).
    c.run_until(lambda: c.controller().image.partition(TP).leader == NO_LEADER, 20_000)  # type: ignore[union-attr]
    c.alter_config("t", {"unclean.leader.election.enable": "true"})
    state = c.controller().image.partition(TP)
    assert state is not None and (state.leader, state.isr) == (second, (second,))
    assert c.actions[-1].kind == "alter_config"


def test_a_cluster_wide_dynamic_default_turns_on_unclean_election_too(tmp_path: Path) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 2)
    first, second = c.image().partition(TP).replicas  # type: ignore[union-attr]
    c.crash(f"broker-{second}")
    c.run_until(lambda: c.image().partition(TP).isr == (first,), 10_000)  # type: ignore[union-attr]
    c.crash(f"broker-{first}")
    c.restart(f"broker-{second}")
    c.wait_unfenced(second)
    c.run_until(lambda: c.controller().image.partition(TP).leader == NO_LEADER, 20_000)  # type: ignore[union-attr]
    c.alter_config(None, {"unclean.leader.election.enable": "true"})
    assert c.controller().image.partition(TP).leader == second  # type: ignore[union-attr]


def test_a_preferred_election_gives_leadership_back_to_the_first_replica(tmp_path: Path) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 3)
    preferred = c.image().partition(TP).replicas[0]  # type: ignore[union-attr]
    assert c.elect_leaders("t") == {0: "ELECTION_NOT_NEEDED"}
    c.crash(f"broker-{preferred}")
    c.run_until(lambda: c.leader_of(TP) not in (preferred, NO_LEADER), 10_000)
    c.restart(f"broker-{preferred}")
    c.run_until(lambda: preferred in c.image().partition(TP).isr, 20_000)  # type: ignore[union-attr]
    assert c.leader_of(TP) != preferred
    assert c.elect_leaders("t") == {0: "NONE"}
    assert c.leader_of(TP) == preferred


def test_deleting_a_topic_empties_every_disk_and_a_new_topic_of_that_name_starts_empty(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 2, 3)
    c.produce(TP, [b"old"] * 5)
    c.delete_topic("t")
    assert "t" not in c.image().topics
    for b in (1, 2, 3):
        assert not list(c.broker(b).config.log_dir.glob("t-*"))
    c.create_topic("t", 1, 3)
    assert c.log_end_offsets("t") == {0: 0}
    with pytest.raises(ClusterError, match="UNKNOWN_TOPIC_OR_PARTITION"):
        c.delete_topic("never")


def test_a_topic_is_deleted_by_its_id_and_created_again_under_a_new_one(tmp_path: Path) -> None:
    c = cluster(tmp_path, wire_roundtrip_requests=True)  # as the bytes would carry them
    c.create_topic("t", 1, 3)
    c.create_topic("u", 1, 3)

    def topic_ids() -> dict[str | None, uuid.UUID]:
        response = c.request(1, MetadataRequest(topics=None), version=12)
        assert isinstance(response, MetadataResponse)
        return {t.name: t.topic_id for t in response.topics}

    first = topic_ids()
    assert first["t"] == c.image().topics["t"].topic_id != ZERO_UUID != first["u"]
    by_id = DeleteTopicsRequest(
        topics=[
            DeleteTopicState(topic_id=first["t"]),
            DeleteTopicState(topic_id=uuid.UUID(int=1)),
            DeleteTopicState(name="u", topic_id=first["u"]),
        ]
    )
    answer = c.request(1, by_id, version=6)
    assert isinstance(answer, DeleteTopicsResponse)
    assert [(r.name, r.topic_id, r.error_code) for r in answer.responses] == [
        ("t", first["t"], ErrorCode.NONE),
        (None, uuid.UUID(int=1), ErrorCode.UNKNOWN_TOPIC_ID),
        (None, ZERO_UUID, ErrorCode.INVALID_REQUEST),  # a name and an id: which one?
    ]
    c.wait_caught_up()
    assert "t" not in c.image().topics and "u" in c.image().topics
    c.create_topic("t", 1, 3)
    assert topic_ids()["t"] not in (first["t"], ZERO_UUID)
    # A v5 client names topics in the old layout; the broker forwards them at v6.
    by_name = c.request(1, DeleteTopicsRequest(topic_names=["u"]), version=5)
    assert isinstance(by_name, DeleteTopicsResponse)
    assert [(r.name, r.error_code) for r in by_name.responses] == [("u", ErrorCode.NONE)]


def test_partitions_are_added_but_never_removed(tmp_path: Path) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 2, 2)
    c.create_partitions("t", 3)
    assert c.partitions_of("t") == [0, 1, 2]
    assert c.broker(1).logs.get(TopicPartition("t", 2)) or c.broker(3).logs.get(
        TopicPartition("t", 2)
    )
    with pytest.raises(ClusterError) as refused:
        c.create_partitions("t", 2)
    assert refused.value.error_code == ErrorCode.INVALID_PARTITIONS


def test_bad_configs_and_a_reassignment_to_a_missing_broker_change_nothing(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 3)
    before = c.controller().image.offset
    with pytest.raises(ClusterError, match="INVALID_CONFIG"):
        c.alter_config("t", {"no.such.config": "1"})
    with pytest.raises(ClusterError, match="INVALID_CONFIG"):
        c.alter_config("t", {"cleanup.policy": "shred"})
    with pytest.raises(ClusterError, match="INVALID_CONFIG"):
        c.alter_config(None, {"log.retention.ms": "forever"})
    with pytest.raises(ClusterError, match="INVALID_REPLICA_ASSIGNMENT"):
        c.reassign("t", 0, [1, 2, 9])
    with pytest.raises(ClusterError, match="INVALID_REPLICA_ASSIGNMENT"):
        c.reassign("t", 0, [1, 1, 2])
    assert c.controller().image.offset == before  # nothing was committed
    assert c.image().partition(TP).replicas == (1, 2, 3)  # type: ignore[union-attr]


def test_shrinking_a_partition_onto_fewer_brokers_completes_at_once(tmp_path: Path) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 3)
    c.produce(TP, [b"x"] * 3)
    leader = c.leader_of(TP)
    c.reassign("t", 0, [b for b in (1, 2, 3) if b != leader])
    state = c.controller().image.partition(TP)
    assert state is not None and leader not in state.replicas and state.leader != leader
    c.run_for(200)
    assert c.broker(leader).logs.get(TP) is None


def test_configs_survive_a_metadata_snapshot_and_every_controller_restarting(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path, controllers=3, metadata_snapshot_batches=5)
    c.create_topic("t", 1, 3)
    c.alter_config("t", {"retention.ms": "1234"})
    c.alter_config(None, {"log.retention.bytes": "99"})
    c.alter_config(None, {"min.insync.replicas": "2"}, broker=2)
    c.run_for(5_000)  # heartbeats commit enough batches for a snapshot
    for name in list(c.controllers):
        c.crash(name)
    for name in list(c.controllers):
        c.restart(name)
    c.wait_for_active_controller(20_000)
    image = c.controller().image
    assert image.topics["t"].configs == {"retention.ms": "1234"}
    assert image.broker_configs == {
        "": {"log.retention.bytes": "99"},
        "2": {"min.insync.replicas": "2"},
    }
    log = c.broker(2).logs.get(TP)
    assert (
        log is not None and log.config.retention_bytes == 99 and log.config.min_insync_replicas == 2
    )
    assert c.broker(1).logs.get(TP).config.min_insync_replicas == 1  # type: ignore[union-attr]


def delete_records_below(offset: int, timeout_ms: int = 60_000) -> DeleteRecordsRequest:
    return DeleteRecordsRequest(
        topics=[
            DeleteRecordsTopic(
                name="t", partitions=[DeleteRecordsPartition(partition_index=0, offset=offset)]
            )
        ],
        timeout_ms=timeout_ms,
    )


def test_delete_records_answers_once_every_replicas_log_start_has_moved(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path, wire_roundtrip_requests=True)
    c.create_topic("t", 1, 3)
    c.produce(TP, [b"%d" % i for i in range(10)])
    starts: dict[int, int] = {}

    def answered(response: object) -> None:
        assert isinstance(response, DeleteRecordsResponse)
        # Kafka's DelayedDeleteRecords: by the time the answer goes out, the followers'
        # log start has moved too (they learn it from the leader's next fetch answer).
        starts.update({b: c.broker(b).logs.get(TP).log_start_offset for b in (1, 2, 3)})  # type: ignore[union-attr]
        assert response.topics[0].partitions[0].low_watermark == 6
        assert response.topics[0].partitions[0].error_code == ErrorCode.NONE

    c.send_request(c.leader_of(TP), delete_records_below(6), 2, answered)
    c.wait_until(lambda: bool(starts), 10_000, "the answer")
    assert starts == {1: 6, 2: 6, 3: 6}


def test_delete_records_times_out_while_a_live_follower_cannot_fetch(tmp_path: Path) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 3)
    c.produce(TP, [b"%d" % i for i in range(10)])
    leader = c.leader_of(TP)
    follower = next(b for b in (1, 2, 3) if b != leader)
    c.cut(f"broker-{leader}", f"broker-{follower}")  # alive, but it cannot fetch
    response = c.request(leader, delete_records_below(6, timeout_ms=300), 2)
    assert isinstance(response, DeleteRecordsResponse)
    assert response.topics[0].partitions[0].error_code == ErrorCode.REQUEST_TIMED_OUT
    assert c.broker(leader).logs.get(TP).log_start_offset == 6  # type: ignore[union-attr]


def test_cancelling_a_reassignment_sends_the_new_replica_away_again(tmp_path: Path) -> None:
    c = cluster(tmp_path, brokers=4)
    c.create_topic("t", 1, 3)
    c.crash("broker-4")  # the newcomer cannot catch up, so the reassignment waits
    c.reassign("t", 0, [4, 2, 3])
    state = c.controller().image.partition(TP)
    assert state is not None and state.adding_replicas == (4,)
    response = c.request(
        1,
        AlterPartitionReassignmentsRequest(
            topics=[
                ReassignableTopic(
                    name="t", partitions=[ReassignablePartition(partition_index=0, replicas=None)]
                )
            ]
        ),
        0,
    )
    assert isinstance(response, AlterPartitionReassignmentsResponse)
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE
    c.wait_caught_up()
    state = c.controller().image.partition(TP)
    assert state is not None
    # Back on the original brokers, in the merged list's order (target first), as in Kafka.
    assert (state.replicas, state.adding_replicas, state.removing_replicas) == ((2, 3, 1), (), ())


def test_a_topic_deleted_and_created_again_while_a_broker_was_down_leaves_no_old_records(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path)
    c.create_topic("t", 1, 3)
    first_id = c.image().topics["t"].topic_id
    c.produce(TP, [b"old"] * 5)
    c.crash("broker-3")
    c.delete_topic("t")
    c.create_topic("t", 1, 2)  # on the two live brokers
    assert c.image().topics["t"].topic_id != first_id
    c.reassign("t", 0, [1, 2, 3])  # broker 3 gets a copy of the new topic
    c.restart("broker-3")
    c.run_until(lambda: c.image().partition(TP).isr == (1, 2, 3), 20_000)  # type: ignore[union-attr]
    assert c.log_end_offsets("t") == {0: 0}
    log = c.broker(3).logs.get(TP)
    assert log is not None and log.log_end_offset == 0  # the old topic's records are gone
    assert c.broker(3).logs.topic_id(TP) == c.image().topics["t"].topic_id


def test_segment_and_retention_configs_changed_live_roll_and_delete_on_every_replica(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path, log_retention_check_interval_ms=500)
    c.create_topic("t", 1, 3)
    c.alter_config("t", {"segment.bytes": "300"})  # a batch of 1 record is about 80 bytes
    for i in range(20):
        assert c.produce(TP, [b"record-%02d" % i]).error == "NONE"
    c.run_for(500)
    for b in (1, 2, 3):
        log = c.broker(b).logs.get(TP)
        assert log is not None and len(log.segments) > 3 and log.log_start_offset == 0
    c.alter_config("t", {"retention.bytes": "400"})
    c.run_for(1_500)
    for b in (1, 2, 3):
        log = c.broker(b).logs.get(TP)
        assert log is not None and log.log_start_offset > 0 and log.size_in_bytes <= 400 + 300


def test_an_admin_request_survives_the_active_controller_crashing_while_it_is_forwarded(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path, controllers=3)
    c.create_topic("t", 1, 3)
    answers: list[object] = []
    request = IncrementalAlterConfigsRequest(
        resources=[
            AlterConfigsResource(
                resource_type=2,
                resource_name="t",
                configs=[AlterableConfig(name="retention.ms", value="777")],
            )
        ]
    )
    c.send_request(1, request, 1, answers.append)
    c.crash(c.wait_for_active_controller())  # before or after it committed: either way
    c.wait_until(lambda: bool(answers), 20_000, "an answer")
    (answer,) = answers
    assert isinstance(answer, IncrementalAlterConfigsResponse)
    assert answer.responses[0].error_code == ErrorCode.NONE
    c.wait_for_active_controller(20_000)
    assert c.controller().image.topics["t"].configs == {"retention.ms": "777"}


def described_retention_ms(c: Cluster, broker: int) -> str | None:
    resource = DescribeConfigsResource(
        resource_type=2, resource_name="t", configuration_keys=["retention.ms"]
    )
    answer = c.request(broker, DescribeConfigsRequest(resources=[resource]), 4)
    assert isinstance(answer, DescribeConfigsResponse)
    [config] = answer.results[0].configs
    return config.value


def test_describe_configs_shows_a_change_only_once_the_quorum_has_committed_it(
    tmp_path: Path,
) -> None:
    c = cluster(tmp_path, controllers=3)
    c.create_topic("t", 1, 3)
    active = c.wait_for_active_controller()
    for other in c.controllers:
        if other != active:
            c.cut(active, other)  # the active controller can append, but not commit
    answers: list[object] = []
    change = AlterableConfig(name="retention.ms", value="777")
    request = IncrementalAlterConfigsRequest(
        resources=[AlterConfigsResource(resource_type=2, resource_name="t", configs=[change])]
    )
    c.send_request(1, request, 1, answers.append)
    raft = c.controllers[active].controller.raft
    c.wait_until(lambda: raft.log[-1].index > raft.commit_index, 5_000, "the change appended")

    # After every event: a broker shows the change only if a quorum has committed it.
    def shows(images: list[MetadataImage]) -> bool:
        return any(i.topics["t"].configs.get("retention.ms") == "777" for i in images)

    ahead: list[int] = []

    def answered() -> bool:
        brokers = [c.broker(b).image for b in (1, 2, 3)]
        committed = [n.controller.image for n in c.controllers.values()]
        if shows(brokers) and not shows(committed):
            ahead.append(c.sim.now_ms)
        return bool(answers)

    c.wait_until(answered, 20_000, "an answer")  # the broker forwards again to a new leader
    assert ahead == []
    (answer,) = answers
    assert isinstance(answer, IncrementalAlterConfigsResponse)
    assert answer.responses[0].error_code == ErrorCode.NONE
    c.heal()
    c.wait_caught_up()
    assert [described_retention_ms(c, b) for b in (1, 2, 3)] == ["777"] * 3
