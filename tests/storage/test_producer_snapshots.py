"""The log keeps its producer state: snapshots at rolls, rebuilt on recovery and truncation."""

from __future__ import annotations

from pathlib import Path

from reflog.records import build_batch
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig
from reflog.storage.producer_snapshot import snapshot_offsets
from reflog.storage.producer_state import BatchMetadata, ProducerStateManager


def idempotent(pid: int, seq: int, count: int = 3) -> bytes:
    return build_batch(
        [(None, b"x" * 50, seq + i) for i in range(count)],
        producer_id=pid,
        producer_epoch=0,
        base_sequence=seq,
    )


def small() -> LogConfig:
    return LogConfig(segment_bytes=600, index_interval_bytes=200)


def written(log: Log, batches: int, pids: tuple[int, ...] = (1, 2)) -> None:
    sequences = dict.fromkeys(pids, 0)
    for i in range(batches):
        pid = pids[i % len(pids)]
        log.append(idempotent(pid, sequences[pid]), 0)
        sequences[pid] += 3


def rebuilt_from_scratch(log: Log) -> ProducerStateManager:
    """The producer table replaying every batch of the log from its start."""
    state = ProducerStateManager()
    for segment in log.segments:
        for header, pid, epoch, seq in segment.producer_batches(log.log_start_offset):
            last = seq + header.last_offset - header.base_offset
            state.update(
                pid,
                epoch,
                BatchMetadata(
                    seq, last, header.base_offset, header.last_offset, header.max_timestamp
                ),
            )
    return state


def test_a_snapshot_is_written_at_each_roll_named_like_the_new_segment(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    written(log, 12)
    bases = [s.base_offset for s in log.segments]
    assert len(bases) > 2
    assert snapshot_offsets(tmp_path) == bases[1:]
    assert (tmp_path / f"{bases[1]:020d}.snapshot").exists()


def test_a_log_without_idempotent_producers_writes_no_snapshot(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    for _ in range(12):
        log.append(build_batch([(None, b"x" * 50, 0)] * 3), 0)
    log.close()
    assert len(log.segments) > 2 and snapshot_offsets(tmp_path) == []


def test_recovery_loads_the_latest_snapshot_and_replays_the_tail(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    written(log, 11)
    expected = log.producer_state.producers
    log.flush()
    log.crash()
    recovered = Log(tmp_path, small())
    assert recovered.producer_state.producers == expected
    # The same table comes from the snapshot plus tail as from the whole log.
    assert recovered.producer_state.producers == rebuilt_from_scratch(recovered).producers


def test_a_clean_shutdown_leaves_a_snapshot_at_the_log_end(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    written(log, 5)
    end = log.log_end_offset
    log.close()
    assert snapshot_offsets(tmp_path)[-1] == end
    assert Log(tmp_path, small()).producer_state.producers[1].last_seq == 8


def test_truncation_deletes_snapshots_above_it_and_rebuilds_the_table(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    written(log, 14)
    cut = log.segments[2].base_offset + 3  # inside the third segment
    log.truncate_to(cut)
    assert all(o <= log.log_end_offset for o in snapshot_offsets(tmp_path))
    assert (
        max(o for b in log.producer_state.producers.values() for o in [b.batches[-1].last_offset])
        < cut
    )
    assert log.producer_state.producers == rebuilt_from_scratch(log).producers
    log.truncate_to(0)
    assert snapshot_offsets(tmp_path) == [] and not log.producer_state


def test_retention_deletes_the_snapshots_of_deleted_segments_but_keeps_the_producers(
    tmp_path: Path,
) -> None:
    log = Log(tmp_path, LogConfig(segment_bytes=600, retention_bytes=1))
    written(log, 14, pids=(1,))
    written_producers = dict(log.producer_state.producers)
    log.delete_old_segments(now_ms=0)
    assert snapshot_offsets(tmp_path) == [log.log_start_offset]
    assert log.producer_state.producers == written_producers
    log.close()
    assert Log(tmp_path, small()).producer_state.producers == written_producers


def test_truncate_fully_forgets_every_producer_and_snapshot(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    written(log, 8)
    log.truncate_fully_and_start_at(1_000)
    assert not log.producer_state and snapshot_offsets(tmp_path) == []


def test_a_corrupt_snapshot_is_deleted_and_an_older_one_or_the_log_used(tmp_path: Path) -> None:
    log = Log(tmp_path, small())
    written(log, 11)
    expected = log.producer_state.producers
    log.close()
    latest = tmp_path / f"{snapshot_offsets(tmp_path)[-1]:020d}.snapshot"
    latest.write_bytes(latest.read_bytes()[:-3])
    reopened = Log(tmp_path, small())
    assert not latest.exists()
    assert reopened.producer_state.producers == expected
