"""The leader's rules for one partition (reflog.replication.partition), event by event."""

from __future__ import annotations

from pathlib import Path

from reflog.records.batch import build_batch
from reflog.replication.epoch_cache import LeaderEpochCache
from reflog.replication.partition import Partition, ReplicationConfig
from reflog.storage.log import Log
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

LAG = 1_000


def leader(tmp_path: Path, min_isr: int = 2) -> Partition:
    log = Log(tmp_path / "t-0")
    p = Partition(
        TopicPartition("t", 0),
        1,
        log,
        LeaderEpochCache(log.directory),
        ReplicationConfig(LAG, min_isr),
    )
    p.become_leader(leader_epoch=3, partition_epoch=0, replicas=(1, 2, 3), isr=(1, 2, 3), now_ms=0)
    return p


def append(p: Partition, n: int) -> None:
    for _ in range(n):
        p.log.append(build_batch([(None, b"v", 0)]), p.leader_epoch)
    p.maybe_increment_high_watermark()


def test_the_high_watermark_is_the_smallest_log_end_in_the_isr_and_never_goes_back(
    tmp_path: Path,
) -> None:
    p = leader(tmp_path)
    append(p, 5)
    assert p.high_watermark == 0  # the followers have nothing yet
    assert not p.on_follower_fetch(2, 4, now_ms=10)
    assert p.on_follower_fetch(3, 3, now_ms=10) and p.high_watermark == 3
    p.on_follower_fetch(3, 2, now_ms=20)  # a stale fetch offset
    assert p.high_watermark == 3


def test_nothing_commits_while_the_isr_is_below_min_insync_replicas(tmp_path: Path) -> None:
    p = leader(tmp_path, min_isr=2)
    p.isr_committed(1, (1,))
    append(p, 2)
    assert p.high_watermark == 0
    assert p.append_error(acks=-1) == ErrorCode.NOT_ENOUGH_REPLICAS
    assert p.append_error(acks=1) is None


def test_acks_all_waits_then_answers_or_fails_after_append_when_the_isr_shrinks(
    tmp_path: Path,
) -> None:
    p = leader(tmp_path, min_isr=3)
    append(p, 2)
    assert p.acks_all_result(2) is None  # still waiting for the followers
    p.on_follower_fetch(2, 2, now_ms=5)
    p.on_follower_fetch(3, 2, now_ms=5)
    assert p.acks_all_result(2) == ErrorCode.NONE
    append(p, 1)
    p.isr_committed(1, (1, 2))  # a follower was dropped before it copied offset 2
    assert p.acks_all_result(3) == ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND


def test_a_follower_not_caught_up_for_the_lag_time_leaves_the_isr(tmp_path: Path) -> None:
    p = leader(tmp_path)
    append(p, 3)
    p.on_follower_fetch(2, 3, now_ms=500)  # caught up at 500
    p.on_follower_fetch(3, 1, now_ms=500)  # behind since the start
    assert p.isr_to_shrink(now_ms=LAG) is None
    assert p.isr_to_shrink(now_ms=LAG + 1) == (1, 2)
    p.pending_isr = (1, 2)
    assert p.isr_to_shrink(now_ms=LAG + 1) is None  # one change in flight at a time
    assert p.maximal_isr() == (1, 2, 3)  # meanwhile the high watermark counts the larger set


def test_a_follower_rejoins_once_past_the_high_watermark_and_the_epoch_start(
    tmp_path: Path,
) -> None:
    p = leader(tmp_path)
    append(p, 4)
    p.on_follower_fetch(2, 4, now_ms=1)
    p.isr_committed(1, (1, 2))
    p.on_follower_fetch(3, 2, now_ms=2)
    assert p.high_watermark == 4 and p.isr_to_expand(3) is None
    p.on_follower_fetch(3, 4, now_ms=3)
    assert p.isr_to_expand(3) == (1, 2, 3)


def test_a_follower_must_also_reach_the_start_of_the_leaders_epoch(tmp_path: Path) -> None:
    log = Log(tmp_path / "t-0")
    for _ in range(10):
        log.append(build_batch([(None, b"old", 0)]), 0)
    p = Partition(
        TopicPartition("t", 0), 1, log, LeaderEpochCache(log.directory), ReplicationConfig(LAG, 1)
    )
    p.high_watermark = 5  # what this broker knew as a follower
    p.become_leader(leader_epoch=4, partition_epoch=0, replicas=(1, 2), isr=(1,), now_ms=0)
    assert p.leader_epoch_start_offset == 10
    p.on_follower_fetch(2, 7, now_ms=1)  # past the high watermark (now 10, the lone ISR's end)
    assert p.isr_to_expand(2) is None  # but short of what this epoch began with
    p.on_follower_fetch(2, 10, now_ms=2)
    assert p.isr_to_expand(2) == (1, 2)


def test_a_follower_past_a_lagging_high_watermark_stays_out_until_it_reaches_the_epoch_start(
    tmp_path: Path,
) -> None:
    """KIP-101's ISR rule where it matters (the KAFKA-7128 kind of bug): another ISR member
    holds the high watermark below the start of the new leader's epoch.

    Broker 1 becomes leader of epoch 4 with 10 records but knows a high watermark of only 5;
    broker 2, in the ISR, has 5 of them. Broker 3 fetches from 7: past the high watermark,
    yet missing records 7..9, which the old leader may already have acknowledged (a follower
    learns the high watermark one fetch late). Let 3 in now and it could be elected without
    them."""
    log = Log(tmp_path / "t-0")
    for _ in range(10):
        log.append(build_batch([(None, b"old", 0)]), 3)
    p = Partition(
        TopicPartition("t", 0), 1, log, LeaderEpochCache(log.directory), ReplicationConfig(LAG, 1)
    )
    p.high_watermark = 5  # what broker 1 knew as a follower in epoch 3
    p.become_leader(leader_epoch=4, partition_epoch=0, replicas=(1, 2, 3), isr=(1, 2), now_ms=0)
    assert p.leader_epoch_start_offset == 10
    p.on_follower_fetch(2, 5, now_ms=1)
    assert p.high_watermark == 5  # broker 2, in the ISR, holds it there
    p.on_follower_fetch(3, 7, now_ms=2)
    assert p.isr_to_expand(3) is None  # past the high watermark, short of the epoch start
    p.on_follower_fetch(3, 10, now_ms=3)
    assert p.isr_to_expand(3) == (1, 2, 3)


def test_a_follower_that_reaches_the_leaders_previous_end_counts_as_caught_up_then(
    tmp_path: Path,
) -> None:
    """Kafka's lag rule under a steady stream of records: a follower never reaches the log end
    the leader has *now*, but one that reaches the end the leader had at its previous fetch
    was caught up as of that fetch, and stays in the ISR."""
    p = leader(tmp_path)
    append(p, 5)
    p.on_follower_fetch(3, 5, now_ms=0)  # follower 3 keeps right up
    p.on_follower_fetch(2, 3, now_ms=500)  # the leader's end is 5 at this fetch
    append(p, 2)  # meanwhile two more records: the end is now 7
    p.on_follower_fetch(2, 5, now_ms=900)  # reached 5, the end at its previous fetch
    p.on_follower_fetch(3, 7, now_ms=900)
    assert p.isr_to_shrink(now_ms=LAG + 100) is None  # caught up as of 500, not since 0
    assert p.isr_to_shrink(now_ms=LAG + 501) == (1, 3)


def test_the_isr_check_is_due_the_first_millisecond_a_follower_has_lagged_too_long(
    tmp_path: Path,
) -> None:
    p = leader(tmp_path)
    append(p, 3)
    p.on_follower_fetch(2, 3, now_ms=200)
    p.on_follower_fetch(3, 3, now_ms=300)
    due = p.next_isr_check_ms()
    assert due == 200 + LAG + 1
    assert p.isr_to_shrink(now_ms=due - 1) is None
    assert p.isr_to_shrink(now_ms=due) == (1, 3)


def test_one_isr_change_at_a_time_a_caught_up_follower_waits_for_the_pending_one(
    tmp_path: Path,
) -> None:
    p = leader(tmp_path)
    append(p, 4)
    p.isr_committed(1, (1, 2))
    p.on_follower_fetch(2, 4, now_ms=1)
    p.on_follower_fetch(3, 4, now_ms=1)  # caught up: it may rejoin...
    p.pending_isr = (1,)  # ...but a shrink is in flight at the controller
    assert p.isr_to_expand(3) is None
    p.isr_committed(2, (1,))
    assert p.isr_to_expand(3) == (1, 3)


def test_a_leader_elected_again_in_a_newer_epoch_starts_that_epoch(tmp_path: Path) -> None:
    """Metadata can jump: a broker that led in epoch 3 may next hear that it leads in epoch 5
    (it was fenced and unfenced in between). Epoch 5 starts at its log end, in its epoch
    cache too; the ISR committed later in the same epoch changes none of that."""
    p = leader(tmp_path)  # epoch 3
    append(p, 4)
    p.become_leader(leader_epoch=5, partition_epoch=4, replicas=(1, 2, 3), isr=(1, 2), now_ms=10)
    assert p.leader_epoch == 5 and p.leader_epoch_start_offset == 4
    assert p.epoch_cache.end_offset_for(5, p.log.log_end_offset) == (5, 4)
    assert p.epoch_cache.end_offset_for(3, p.log.log_end_offset) == (3, 4)
    append(p, 2)
    p.become_leader(leader_epoch=5, partition_epoch=5, replicas=(1, 2, 3), isr=(1, 2, 3), now_ms=20)
    assert p.leader_epoch_start_offset == 4 and p.partition_epoch == 5


def test_a_new_leader_commits_nothing_its_followers_have_not_confirmed(tmp_path: Path) -> None:
    """reflog keeps no high-watermark checkpoint: a broker that leads a log it recovered
    (10 records) starts from 0 and exposes records as its followers confirm them."""
    log = Log(tmp_path / "t-0")
    for _ in range(10):
        log.append(build_batch([(None, b"r", 0)]), 0)
    p = Partition(
        TopicPartition("t", 0), 1, log, LeaderEpochCache(log.directory), ReplicationConfig(LAG, 2)
    )
    p.become_leader(leader_epoch=1, partition_epoch=0, replicas=(1, 2), isr=(1, 2), now_ms=0)
    assert p.high_watermark == 0
    p.on_follower_fetch(2, 6, now_ms=1)
    assert p.high_watermark == 6


def test_dropping_the_laggard_from_the_isr_commits_what_the_rest_have_at_once(
    tmp_path: Path,
) -> None:
    p = leader(tmp_path)
    append(p, 6)
    p.on_follower_fetch(2, 6, now_ms=10)
    p.on_follower_fetch(3, 2, now_ms=10)
    assert p.high_watermark == 2  # follower 3 holds it back
    p.isr_committed(1, (1, 2))  # the controller dropped 3: no fetch needed to move on
    assert p.high_watermark == 6
