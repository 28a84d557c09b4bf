"""SnapshotReader: a live view's fold reads each snapshot once, and all of them again after
the timeline thinned out."""

from __future__ import annotations

from dataclasses import dataclass

from reflog.sim.timeline import SnapshotReader, Timeline


@dataclass(frozen=True)
class At:
    at_ms: int


def test_each_call_gives_only_the_snapshots_recorded_since_the_last() -> None:
    timeline: Timeline[At] = Timeline(max_snapshots=100)
    reader: SnapshotReader[At] = SnapshotReader()
    for t in range(3):
        timeline.append(At(t))
    assert reader.unread(timeline) == (False, [At(0), At(1), At(2)])
    assert reader.unread(timeline) == (False, [])
    timeline.append(At(3))
    assert reader.unread(timeline) == (False, [At(3)])


def test_after_the_timeline_thins_out_it_starts_over_even_once_it_has_grown_back() -> None:
    timeline: Timeline[At] = Timeline(max_snapshots=10)
    reader: SnapshotReader[At] = SnapshotReader()
    for t in range(6):
        timeline.append(At(t))
    assert len(reader.unread(timeline)[1]) == 6
    for t in range(6, 11):  # the 11th thins the older half out, leaving 9: more than were read
        timeline.append(At(t))
    assert len(timeline) == 9
    start_over, snapshots = reader.unread(timeline)
    assert start_over
    assert snapshots == list(timeline)
