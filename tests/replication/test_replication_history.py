"""The replication fault schedules, checked the Jepsen way: from what the clients saw.

``test_replication_faults`` checks its invariants by looking inside the brokers. Here the same
seeded schedules (its ``run_schedule``, unchanged) run while every produce request and its
answer is recorded in a :class:`reflog.check.History`; after the cluster has healed and
settled, a final poll reads the partition from its leader through real Fetch requests, and
:func:`reflog.check.check` judges the history. With the old truncate-to-high-watermark rule
the checker finds the acknowledged records KIP-101 says it lost; with leader epochs it finds
nothing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from reflog.check import REFUSED_BEFORE_APPEND, History, Verdict, check
from reflog.records.batch import iter_batches
from reflog.records.file_slice import FileSlice
from reflog.replication.truncation import TruncationPolicy
from reflog.sim import Cluster, ProduceResult
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic

from . import test_replication_faults as faults
from .harness import replicated_cluster


class RecordedRun:
    """Wraps the schedule's cluster so that every ``send`` lands in ``history``."""

    def __init__(self) -> None:
        self.history = History()
        self.cluster: Cluster | None = None
        self.sent: list[tuple[int, ProduceResult]] = []

    def make_cluster(
        self, seed: int, data_dir: Path, **settings: object
    ) -> tuple[Cluster, TopicPartition]:
        cluster, tp = replicated_cluster(seed, data_dir, **settings)
        self.cluster = cluster
        send = cluster.send

        def recorded_send(tp: TopicPartition, values: list[bytes], **kwargs: int) -> ProduceResult:
            index = self.history.invoke_send("producer", tp, values, cluster.now_ms)
            result = send(tp, values, **kwargs)
            self.sent.append((index, result))
            return result

        cluster.send = recorded_send  # type: ignore[method-assign]
        return cluster, tp

    def complete_sends(self) -> None:
        """Each answer, at the time it came; unanswered sends stay indeterminate."""
        for index, result in self.sent:
            if result.answered_ms is None or result.error_code is None:
                continue
            if result.error_code == ErrorCode.NONE:
                self.history.acknowledged(index, result.base_offset, result.answered_ms)
            else:
                definite = result.error_code in REFUSED_BEFORE_APPEND
                self.history.failed(index, result.error, result.answered_ms, definite=definite)

    def heal_write_and_read(self, tp: TopicPartition) -> None:
        """Heal and let the replicas settle; write a few more records, as a workload goes on
        after its faults (so that a lost offset is reused and read past, not just missing at
        the end); then read everything below the high watermark."""
        cluster = self.cluster
        assert cluster is not None
        cluster.heal()
        for name in (*faults.BROKERS, *cluster.controllers):
            cluster.restart(name)

        def leader_settled() -> bool:
            leader = cluster.leader_of(tp) if cluster.active_controller() else -1
            if leader <= 0 or cluster.brokers[leader].broker is None:
                return False
            replica = cluster.replica(leader, tp)
            return replica is not None and replica.high_watermark == replica.log.log_end_offset

        cluster.wait_until(leader_settled, timeout_ms=30_000, what="a settled leader")
        for n in range(3):
            answer = cluster.produce(tp, [b"after-heal-%d" % n])
            assert answer.error == "NONE", answer.describe()
        self.complete_sends()
        leader = cluster.leader_of(tp)
        offset = 0
        while True:
            invoked = cluster.now_ms
            records, high_watermark = fetch(cluster, leader, tp, offset)
            self.history.poll("final-reader", records, invoked, cluster.now_ms)
            offset = records[-1][1] + 1 if records else offset
            if offset >= high_watermark or not records:
                return


def fetch(
    cluster: Cluster, leader: int, tp: TopicPartition, offset: int
) -> tuple[list[tuple[TopicPartition, int, bytes]], int]:
    request = FetchRequest(
        max_wait_ms=0,
        topics=[
            FetchTopic(
                topic=tp.topic, partitions=[FetchPartition(tp.partition, fetch_offset=offset)]
            )
        ],
    )
    response = cluster.request(leader, request, version=11)
    assert isinstance(response, FetchResponse)
    data = response.responses[0].partitions[0]
    assert data.error_code == ErrorCode.NONE, ErrorCode(data.error_code).name
    raw = data.records.read() if isinstance(data.records, FileSlice) else data.records or b""
    records = [
        (tp, record.offset, record.value or b"")
        for batch in iter_batches(raw)
        for record in batch.records()
        if record.offset >= offset
    ]
    return records, data.high_watermark


def checked_schedule(
    monkeypatch: pytest.MonkeyPatch, seed: int, data_dir: Path, policy: TruncationPolicy
) -> tuple[Verdict, History]:
    run = RecordedRun()
    monkeypatch.setattr(faults, "replicated_cluster", run.make_cluster)
    with contextlib.suppress(AssertionError):
        # The schedule checks its own invariants inside the brokers; the checker judges the
        # same run from the history instead.
        faults.run_schedule(seed, data_dir, policy)
    run.heal_write_and_read(TopicPartition("r", 0))
    return check(run.history), run.history


@pytest.mark.parametrize("seed", [10, 212, 265, 388])
def test_the_checker_finds_the_records_the_high_watermark_rule_loses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seed: int
) -> None:
    verdict, history = checked_schedule(
        monkeypatch, seed, tmp_path, TruncationPolicy.HIGH_WATERMARK
    )
    assert "lost-write" in verdict.kinds, verdict.describe()
    assert not verdict.valid
    for lost in verdict.of_kind("lost-write"):
        send, final_read = (history[i] for i in lost.ops)
        assert send.process == "producer" and final_read.process == "final-reader"


@pytest.mark.parametrize("seed", [10, 212, 265, 388, 43, 48, *range(20)])
def test_the_leader_epoch_rule_passes_the_checker_on_the_same_schedules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seed: int
) -> None:
    verdict, history = checked_schedule(monkeypatch, seed, tmp_path, TruncationPolicy.LEADER_EPOCH)
    assert verdict.valid, verdict.describe()
    acknowledged = [op for op in history.ops if getattr(op, "offset", None) is not None]
    assert acknowledged, "the schedule acknowledged nothing: the check would prove nothing"
