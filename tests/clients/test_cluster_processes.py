"""`reflog cluster up` as real processes: 3 controllers and 3 brokers on loopback.

Killing the active controller with SIGKILL must not lose the cluster's metadata: another
controller takes over, topics created before and after are all there, and the killed node,
started again with the same command line, rejoins from its disk and catches up.
"""

from __future__ import annotations

import os
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import running_cluster, wait_for

FAST = (
    "--broker-session-timeout-ms", "3000",
    "--broker-heartbeat-interval-ms", "300",
    "--election-timeout-ms", "300",
)  # fmt: skip


# What a CreateTopics during a controller change may meet: the caller tries again.
CONTROLLER_CHANGE = (KafkaException, TimeoutError)


def create(admin: AdminClient, name: str) -> bool:
    futures = admin.create_topics([NewTopic(name, 3, 3)], operation_timeout=10)
    try:
        futures[name].result(timeout=15)
    except KafkaException as error:
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
        # An earlier try's answer was lost, not its topic.
    return True


def topics(admin: AdminClient) -> set[str]:
    return set(admin.list_topics(timeout=5).topics)


def test_killing_the_active_controller_keeps_every_topic(tmp_path: Path) -> None:
    with running_cluster(tmp_path, 3, 3, *FAST) as cluster:
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 live brokers")
        wait_for(
            lambda: create(admin, "before"), 30, "topic 'before' to be created", CONTROLLER_CHANGE
        )

        old = cluster.active_controller()
        assert old is not None
        cluster.kill(f"controller-{old}")
        wait_for(
            lambda: cluster.active_controller() not in (None, old), 30, "a new active controller"
        )
        new = cluster.active_controller()
        wait_for(
            lambda: create(admin, "after"), 30, "topic 'after' to be created", CONTROLLER_CHANGE
        )
        wait_for(lambda: {"before", "after"} <= topics(admin), 30, "both topics in Metadata")
        metadata = admin.list_topics(timeout=5)
        for name in ("before", "after"):
            partitions = metadata.topics[name].partitions
            assert len(partitions) == 3
            assert all(sorted(p.replicas) == [1, 2, 3] for p in partitions.values())

        cluster.restart(f"controller-{old}")

        def rejoined() -> bool:
            state = cluster.quorum_state(old)
            leader = cluster.quorum_state(new) if new is not None else None
            return (
                state is not None
                and leader is not None
                and state.role == "Follower"
                and state.leader_id == new
                and state.metadata_offset >= leader.metadata_offset - 1
            )

        wait_for(rejoined, 30, f"controller {old} to rejoin as a follower and catch up")
        assert cluster.active_controller() == new  # rejoining did not disrupt the leader
        started_by_cluster_up = [
            node["pid"] for name, node in cluster.nodes().items() if name != f"controller-{old}"
        ]
    # Leaving the block sent SIGTERM to `reflog cluster up`: every node it started is gone.
    assert cluster.process.returncode == 0
    for pid in started_by_cluster_up:
        assert isinstance(pid, int)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"node {pid} outlived `reflog cluster up`")
