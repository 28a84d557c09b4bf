"""The segment view draws recorded segment files: batches, index entries, roll, retention,
cleaning, leader beside follower, and stays small however long the run."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from reflog.records.batch import HEADER_SIZE
from reflog.replication.epoch_cache import EpochEntry
from reflog.sim import Cluster, ReplicaSnapshot, SegmentSnapshot, Snapshot
from reflog.storage.segment import BatchHeader
from reflog.topic_partition import TopicPartition
from reflog.viz.segment_files import (
    DRAW_EVERY_S,
    TRACES,
    SegmentFilesView,
    column_traces,
    describe_files,
    layout_replica,
    segment_figure,
    shown_replicas,
)

EVENTS = TopicPartition("events", 0)


def events_cluster(data_dir: Path, *, retention_bytes: int | None = None) -> Cluster:
    cluster = Cluster(seed=1, data_dir=data_dir, log_retention_check_interval_ms=500)
    configs = {"segment.bytes": "2048", "index.interval.bytes": "256"}
    if retention_bytes is not None:
        configs["retention.bytes"] = str(retention_bytes)
    cluster.create_topic("events", 1, 3, configs)
    cluster.add_producer("app", "events", rate_per_s=200, keys=[b"a", b"b"], linger_ms=10)
    return cluster


def caught_up(cluster: Cluster) -> Snapshot:
    """Stop producing and run until every replica has every record."""
    cluster.set_rate("app", 0)

    def same_ends() -> bool:
        part = cluster.snapshot().partition("events")
        return len({r.log_end_offset for r in part.replicas}) == 1

    cluster.wait_until(same_ends, 5_000, "followers caught up")
    return cluster.timeline.latest


def test_the_leader_and_a_follower_draw_the_same_batches_at_the_same_offsets(
    tmp_path: Path,
) -> None:
    cluster = events_cluster(tmp_path)
    cluster.run_for(3_000)
    snapshot = caught_up(cluster)
    leader, follower = shown_replicas(snapshot.partition("events"))
    assert follower is not None and leader.role == "Leader" and follower.role == "Follower"
    drawn = [layout_replica(r, max_segments=50) for r in (leader, follower)]
    blocks = [
        [(b.row, b.start, b.end, b.base_offset, b.last_offset) for b in d.blocks] for d in drawn
    ]
    assert len(blocks[0]) > 20 and blocks[0] == blocks[1]
    assert [f.name for f in drawn[0].files] == [f.name for f in drawn[1].files]
    assert len(drawn[0].files) > 2  # 2 KiB segments have rolled
    # Batches follow each other along each file, from byte 0 to the file's size.
    for files in drawn[0].files:
        row = [b for b in drawn[0].blocks if b.row == files.row]
        assert row[0].start == 0 and row[-1].end == files.segment.size
        assert all(a.end == b.start for a, b in itertools.pairwise(row))
        assert all(a.last_offset + 1 == b.base_offset for a, b in itertools.pairwise(row))


def test_the_recorded_batches_and_index_entries_are_those_in_the_files(tmp_path: Path) -> None:
    cluster = events_cluster(tmp_path)
    cluster.run_for(2_500)
    snapshot = cluster.timeline.latest
    for broker_id in (1, 2, 3):
        log = cluster.broker(broker_id).logs.get(EVENTS)
        assert log is not None
        recorded = snapshot.partition("events").replica(broker_id).segments
        assert [s.base_offset for s in recorded] == [s.base_offset for s in log.segments]
        for segment, seen in zip(log.segments, recorded, strict=True):
            assert seen.batches == tuple(segment.batches_from(0))
            assert seen.index == tuple(segment.index.entries())
            # Every index entry points at the start of a batch holding its offset.
            starts = {b.position: b for b in seen.batches}
            for entry in seen.index:
                batch = starts[entry.position]
                assert batch.base_offset <= entry.offset <= batch.last_offset


def test_the_active_segment_is_the_last_file_and_a_roll_adds_a_file(tmp_path: Path) -> None:
    cluster = events_cluster(tmp_path)
    cluster.wait_until(lambda: cluster.log_end_offsets("events")[0] > 0, 2_000, "a record")
    before = layout_replica(shown_replicas(cluster.timeline.latest.partition("events"))[0])
    assert len(before.files) == 1 and before.files[0].segment.active
    cluster.run_for(2_000)
    after = layout_replica(shown_replicas(cluster.timeline.latest.partition("events"))[0])
    assert len(after.files) > 1
    assert [f.segment.active for f in after.files] == [False] * (len(after.files) - 1) + [True]
    # Only the active file is outlined up to segment.bytes (the room left before it rolls).
    room = column_traces(after, 2048)[TRACES.index("room")]
    assert room["x"][:2] == [after.files[-1].segment.size, 2048]


def test_after_retention_the_first_file_drawn_starts_at_the_log_start_offset(
    tmp_path: Path,
) -> None:
    cluster = events_cluster(tmp_path, retention_bytes=4096)
    cluster.run_for(4_000)
    snapshot = cluster.timeline.latest
    for replica in snapshot.partition("events").replicas:
        drawn = layout_replica(replica, max_segments=50)
        assert drawn.log_start_offset > 0  # retention has deleted segments
        assert drawn.files[0].segment.base_offset == drawn.log_start_offset
        assert drawn.blocks[0].base_offset == drawn.log_start_offset
        assert drawn.older is None
        traces = column_traces(drawn, 2048)
        assert traces[TRACES.index("log start")]["x"] == [0, 0]
        assert "deleted by retention" in traces[TRACES.index("labels")]["text"][0]
    # With older files summed up above the first one drawn, the log start is among them: the
    # first file drawn is not marked as the log's start.
    hidden = layout_replica(snapshot.partition("events").replicas[0], max_segments=1)
    assert hidden.older is not None
    assert hidden.older.first_offset == hidden.log_start_offset
    assert column_traces(hidden, 2048)[TRACES.index("log start")]["x"] == []
    # Scrubbed back to before retention ran, the view draws the segments it deleted.
    leader = snapshot.partition("events").leader
    early = [
        layout_replica(s.partition("events").replica(leader), max_segments=50)
        for s in cluster.timeline
        if s.partitions and s.partition("events").leader == leader
    ]
    before = [d for d in early if d.log_start_offset == 0 and len(d.files) > 2][-1]
    assert before.files[0].name == "00000000000000000000.log"


def test_the_cleaner_rewrites_segments_shorter_with_the_same_offsets(tmp_path: Path) -> None:
    cluster = Cluster(seed=2, data_dir=tmp_path, log_cleaner_backoff_ms=1_000)
    configs = {"cleanup.policy": "compact", "segment.bytes": "1024"}
    cluster.create_topic("profiles", 1, 3, configs)
    cluster.add_producer("svc", "profiles", rate_per_s=100, keys=[b"k1", b"k2"], linger_ms=0)
    cluster.run_for(450)  # before the cleaner's first pass (at 1 s)
    latest = cluster.timeline.latest
    before = layout_replica(shown_replicas(latest.partition("profiles"))[0], max_segments=50)
    cluster.run_for(1_200)
    latest = cluster.timeline.latest
    after = layout_replica(shown_replicas(latest.partition("profiles"))[0], max_segments=50)
    old = before.files[0].segment
    new = next(f.segment for f in after.files if f.segment.base_offset == old.base_offset)
    assert (new.base_offset, new.next_offset) == (old.base_offset, old.next_offset)
    assert new.size < old.size
    emptied = [b for b in after.blocks if b.row == 1 and b.empty]
    assert emptied and all(b.end - b.start == HEADER_SIZE for b in emptied)
    assert after.log_start_offset == 0  # compaction never moves the log start


def segment(base: int, batches: int, *, active: bool = False) -> SegmentSnapshot:
    headers = [BatchHeader(base + i, base + i, 100 * i, 100, 0) for i in range(batches)]
    return SegmentSnapshot(base, base + batches, 100 * batches, active, batches, 0, headers, [])


def replica_of(segments: list[SegmentSnapshot]) -> ReplicaSnapshot:
    end = segments[-1].next_offset
    epochs = (EpochEntry(0, 0), EpochEntry(1, 30))
    return ReplicaSnapshot(1, True, "Leader", 1, 0, end, end, tuple(segments), epochs)


def test_the_drawing_stays_bounded_however_many_segments_and_batches() -> None:
    segments = [segment(1000 * i, 10) for i in range(300)] + [segment(300_000, 5000, active=True)]
    drawn = layout_replica(replica_of(segments), max_segments=6, max_blocks=48)
    assert len(drawn.files) == 6
    assert drawn.older is not None and drawn.older.count == 295
    assert (drawn.older.first_offset, drawn.older.end_offset) == (0, 295_000)
    assert len(drawn.blocks) <= 5 * 10 + 48
    grouped = [b for b in drawn.blocks if b.row == 6]
    assert grouped[0].base_offset == 300_000 and grouped[-1].last_offset == 304_999
    assert sum(b.batches for b in grouped) == 5000
    assert "295 older segment(s)" in describe_files(drawn)


def test_a_batch_takes_the_colour_of_the_leader_epoch_that_wrote_it() -> None:
    drawn = layout_replica(replica_of([segment(0, 40, active=True)]), max_blocks=100)
    assert {b.epoch for b in drawn.blocks if b.base_offset < 30} == {0}
    assert {b.epoch for b in drawn.blocks if b.base_offset >= 30} == {1}


@pytest.fixture
def long_run(tmp_path: Path) -> Cluster:
    cluster = Cluster(seed=3, data_dir=tmp_path)
    cluster.create_topic("events", 1, 3, {"segment.bytes": "1024"})
    cluster.add_producer("app", "events", rate_per_s=400, linger_ms=5)
    cluster.run_for(15_000)
    return cluster


def test_after_a_long_run_the_figure_draws_a_bounded_number_of_items(long_run: Cluster) -> None:
    snapshot = long_run.timeline.latest
    leader, _ = shown_replicas(snapshot.partition("events"))
    assert len(leader.segments) > 100
    figure = segment_figure(snapshot, "events", segment_bytes=1024, max_segments=6)
    points = sum(len(trace.x or ()) for trace in figure.data)
    assert points < 2_000
    labels = list(figure.data[TRACES.index("labels")].text)
    assert labels[0].startswith("⋯") and "older files" in labels[0]
    assert len(labels) == 7 and labels[-1].endswith("<b>active</b>")


def test_the_view_scrubs_back_and_a_control_pressed_then_goes_live(tmp_path: Path) -> None:
    cluster = events_cluster(tmp_path)
    cluster.run_for(1_000)
    view = SegmentFilesView(cluster, "events", segment_bytes=2048, producer="app")
    live_blocks = len(view.figure.data[TRACES.index("batches")].x)
    view.controls.slider.value = cluster.timeline.index_at(600)
    assert not view.controls.following
    assert len(view.figure.data[TRACES.index("batches")].x) < live_blocks
    faster = next(b for b in view.widget.children[2].children if b.description == "produce faster")
    faster.click()
    assert view.controls.following
    assert cluster.timeline.latest.producer("app").rate_per_s == 400
    view.controls.step_button.click()
    assert len(view.figure.data[TRACES.index("batches")].x) > live_blocks


def test_a_draw_goes_to_the_browser_as_one_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = events_cluster(tmp_path)
    cluster.run_for(1_000)
    view = SegmentFilesView(cluster, "events", segment_bytes=2048, producer="app")
    sent: list[str] = []
    # Each of these sends one message, which plotly.js answers with a redraw of the figure.
    for message in ("update", "restyle", "relayout"):
        monkeypatch.setattr(
            view.figure, f"_send_{message}_msg", lambda *a, m=message, **k: sent.append(m)
        )
    cluster.run_for(100)
    assert sent == ["update"]


def test_while_playing_the_view_draws_at_most_every_few_frames_and_always_the_newest(
    tmp_path: Path,
) -> None:
    cluster = events_cluster(tmp_path)
    cluster.run_for(1_000)

    def title(view: SegmentFilesView) -> str:
        return str(view.figure.layout.annotations[0].text)

    async def play() -> None:
        view = SegmentFilesView(cluster, "events", segment_bytes=2048, producer="app")
        drawn = title(view)
        for _ in range(3):  # three frames, as Play records them
            cluster.run_for(50)
        assert title(view) == drawn  # too soon after the last draw: waiting
        newest = segment_figure(cluster.timeline.latest, "events", segment_bytes=2048)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10 * DRAW_EVERY_S
        while title(view) == drawn and loop.time() < deadline:
            await asyncio.sleep(0.01)  # the loop runs the view's timer meanwhile
        assert title(view) == newest.layout.annotations[0].text

    asyncio.run(play())


def test_a_restarted_follower_is_titled_starting_until_it_hears_of_the_leader(
    tmp_path: Path,
) -> None:
    cluster = events_cluster(tmp_path)
    cluster.run_for(1_000)
    view = SegmentFilesView(cluster, "events", segment_bytes=2048, producer="app")
    crash = next(b for b in view.widget.children[2].children if b.description == "crash follower")
    restart = next(b for b in view.widget.children[2].children if b.description == "restart it")
    crash.click()
    assert "(down" in view.figure.layout.annotations[1].text
    restart.click()  # back up, the simulated clock not yet moved: no metadata heard
    assert "(starting)" in view.figure.layout.annotations[1].text
    cluster.run_for(2_000)
    view.controls.redraw()
    assert "(Follower)" in view.figure.layout.annotations[1].text
