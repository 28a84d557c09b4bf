"""The Kafka-style admin commands against a 3-broker `reflog cluster up`, run as real
processes: `reflog topics create --config / alter / delete`, `reflog configs`,
`reflog reassign-partitions` (Kafka's JSON plans), `reflog leader-election` and
`reflog delete-records`. Errors are one line with Kafka's error name and message."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster_process import ClusterProcess, running_cluster, wait_for

FAST = (
    "--broker-session-timeout-ms", "2000",
    "--broker-heartbeat-interval-ms", "200",
    "--election-timeout-ms", "300",
)  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterProcess]:
    with running_cluster(tmp_path_factory.mktemp("admin-cli"), 3, 1, *FAST) as c:
        wait_for(lambda: c.active_controller() is not None, 30, "an active controller")
        create = ("topics", "create", "--topic", "probe", "--replication-factor", "3")
        wait_for(lambda: reflog(c, *create).returncode == 0, 30, "3 live brokers")
        yield c


def reflog(cluster: ClusterProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reflog", *args, "--bootstrap-server", cluster.bootstrap],
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str], command: str) -> str:
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"reflog {command}: ")
    return result.stderr.removeprefix(f"reflog {command}: ").strip()


def describe(cluster: ClusterProcess, topic: str) -> str:
    return ok(reflog(cluster, "topics", "describe", "--topic", topic))


def test_topic_configs_are_set_at_creation_described_altered_and_refused_with_kafkas_message(
    cluster: ClusterProcess,
) -> None:
    ok(reflog(cluster, "topics", "create", "--topic", "cfg", "--partitions", "1",
              "--replication-factor", "3", "--config", "retention.ms=60000"))  # fmt: skip
    args = ("configs", "--entity-type", "topics", "--entity-name", "cfg")
    wait_for(lambda: "retention.ms=60000" in ok(reflog(cluster, *args, "--describe")), 15, "it")
    out = ok(reflog(cluster, *args, "--alter", "--add-config", "min.insync.replicas=2"))
    assert out == "Completed updating config for topic cfg.\n"
    wait_for(lambda: "min.insync.replicas=2 " in ok(reflog(cluster, *args, "--describe")), 15, "it")
    ok(reflog(cluster, *args, "--alter", "--delete-config", "retention.ms"))
    wait_for(lambda: "retention.ms" not in ok(reflog(cluster, *args, "--describe")), 15, "gone")
    assert "retention.ms=604800000" in ok(reflog(cluster, *args, "--describe", "--all"))

    bad = reflog(cluster, *args, "--alter", "--add-config", "no.such=1")
    assert one_line_error(bad, "configs") == (
        "altering topic cfg: INVALID_CONFIG: Unknown topic config name: no.such"
    )
    bad = reflog(cluster, *args, "--alter", "--add-config", "retention.ms=soon")
    assert one_line_error(bad, "configs") == (
        "altering topic cfg: INVALID_CONFIG: Invalid value soon for configuration "
        "retention.ms: Not a number of type LONG"
    )


def test_a_broker_default_is_set_and_described(cluster: ClusterProcess) -> None:
    args = ("configs", "--entity-type", "brokers", "--entity-default")
    ok(reflog(cluster, *args, "--alter", "--add-config", "log.retention.bytes=1000000"))
    try:
        described = ("configs", "--entity-type", "brokers", "--entity-name", "2", "--describe")
        wait_for(lambda: "log.retention.bytes=1000000" in ok(reflog(cluster, *described)), 15, "it")
    finally:
        ok(reflog(cluster, *args, "--alter", "--delete-config", "log.retention.bytes"))


def test_topics_alter_adds_partitions_refuses_a_decrease_and_delete_removes_the_topic(
    cluster: ClusterProcess,
) -> None:
    ok(reflog(cluster, "topics", "create", "--topic", "grow", "--partitions", "2",
              "--replication-factor", "2"))  # fmt: skip
    out = ok(reflog(cluster, "topics", "alter", "--topic", "grow", "--partitions", "3"))
    assert out == "Topic grow now has 3 partitions.\n"
    wait_for(lambda: "PartitionCount: 3" in describe(cluster, "grow"), 15, "3 partitions")
    # As kafka-topics shows it: the id every replica keeps in its partition.metadata.
    [on_disk] = {
        meta.read_text().split("topic_id: ")[1].strip()
        for meta in cluster.data_dir.glob("*/grow-0/partition.metadata")
    }
    assert f"Topic: grow\tTopicId: {on_disk}\tPartitionCount: " in describe(cluster, "grow")
    shrink = reflog(cluster, "topics", "alter", "--topic", "grow", "--partitions", "1")
    assert one_line_error(shrink, "topics") == (
        "altering grow: INVALID_PARTITIONS: Topic currently has 3 partitions, which is "
        "higher than the requested 1."
    )
    ok(reflog(cluster, "topics", "delete", "--topic", "grow"))
    wait_for(lambda: "grow" not in ok(reflog(cluster, "topics", "list")), 15, "grow gone")
    again = reflog(cluster, "topics", "delete", "--topic", "grow")
    assert one_line_error(again, "topics").startswith("deleting grow: UNKNOWN_TOPIC_OR_PARTITION")
    wide = reflog(cluster, "topics", "create", "--topic", "wide", "--replication-factor", "4")
    assert "INVALID_REPLICATION_FACTOR" in one_line_error(wide, "topics")


def test_reassign_partitions_generates_executes_and_verifies_a_kafka_json_plan(
    cluster: ClusterProcess, tmp_path: Path
) -> None:
    ok(reflog(cluster, "topics", "create", "--topic", "move", "--partitions", "2",
              "--replication-factor", "2"))  # fmt: skip
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps({"version": 1, "topics": [{"topic": "move"}]}))
    generate = ("--generate", "--topics-to-move-json-file", str(topics), "--broker-list", "2,3")
    generated = ok(reflog(cluster, "reassign-partitions", *generate))
    proposed = json.loads(generated.split("Proposed partition reassignment configuration\n")[1])
    assert {tuple(sorted(p["replicas"])) for p in proposed["partitions"]} == {(2, 3)}
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(proposed))
    executed = ok(reflog(cluster, "reassign-partitions", "--execute",
                         "--reassignment-json-file", str(plan)))  # fmt: skip
    assert "Successfully started partition reassignments for move-0,move-1" in executed

    def verified() -> bool:
        result = reflog(cluster, "reassign-partitions", "--verify",
                        "--reassignment-json-file", str(plan))  # fmt: skip
        return result.returncode == 0 and result.stdout.count("is completed.") == 2

    wait_for(verified, 30, "the reassignment to complete")
    assert "Replicas: 1" not in describe(cluster, "move")

    missing = tmp_path / "missing.json"
    wrong = {"topic": "move", "partition": 0, "replicas": [2, 9]}
    missing.write_text(json.dumps({"version": 1, "partitions": [wrong]}))
    refused = reflog(cluster, "reassign-partitions", "--execute",
                     "--reassignment-json-file", str(missing))  # fmt: skip
    assert one_line_error(refused, "reassign-partitions") == (
        "reassigning move-0: INVALID_REPLICA_ASSIGNMENT: The manual partition assignment "
        "includes broker 9, but no such broker is registered."
    )


def test_leader_election_and_delete_records(cluster: ClusterProcess, tmp_path: Path) -> None:
    ok(reflog(cluster, "topics", "create", "--topic", "elect", "--partitions", "1",
              "--replication-factor", "3"))  # fmt: skip
    wait_for(lambda: "Leader: -1" not in describe(cluster, "elect"), 15, "a leader")
    out = ok(reflog(cluster, "leader-election", "--election-type", "preferred", "--topic", "elect"))
    assert out == "Valid replica already elected for partitions elect-0\n"
    produced = subprocess.run(
        [sys.executable, "-m", "reflog", "produce", "elect", "--bootstrap-server",
         cluster.bootstrap, "--acks", "all"],
        input="".join(f"r{i}\n" for i in range(10)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    offsets = tmp_path / "offsets.json"
    offsets.write_text(
        json.dumps({"version": 1, "partitions": [{"topic": "elect", "partition": 0, "offset": 4}]})
    )
    out = ok(reflog(cluster, "delete-records", "--offset-json-file", str(offsets)))
    assert out == "Records delete operation completed:\npartition: elect-0\tlow_watermark: 4\n"
