"""The checker's timeline (reflog.viz.checking): each anomaly drawn at the operations that show
it, faults as spans on their broker's row, and the live view's verdict following its slider."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from reflog.chaos.simulated import READER, FaultEvent, SimulatedRun
from reflog.check import History, Outcome, Send, check
from reflog.topic_partition import TopicPartition
from reflog.viz.checking import (
    DRAWN_KINDS,
    CheckerView,
    draw_checked,
    empty_figure,
    history_until,
)

TP = TopicPartition("r", 0)


def lossy() -> History:
    """b acknowledged at offset 1 at t=14; the reader, at t=40, reads c there instead."""
    h = History()
    a = h.invoke_send("producer", TP, [b"a"], 0)
    h.acknowledged(a, offset=0, now_ms=5)
    b = h.invoke_send("producer", TP, [b"b"], 10)
    h.acknowledged(b, offset=1, now_ms=14)
    c = h.invoke_send("producer", TP, [b"c"], 20)
    h.acknowledged(c, offset=1, now_ms=25)
    h.poll(READER, [(TP, 0, b"a"), (TP, 1, b"c")], 38, 40)
    return h


def trace(figure: go.Figure, name: str) -> go.Scatter:
    return next(t for t in figure.data if t.name == name)


def test_a_lost_write_is_drawn_at_its_acknowledgement_and_at_the_read_that_went_past_it() -> None:
    history = lossy()
    figure = empty_figure()
    draw_checked(figure, history, [], check(history), now_ms=50)
    lost = trace(figure, "lost-write")  # the kind is the name in the legend
    points = list(zip(lost.x, lost.y, strict=True))
    assert (14, "producer") in points and (40, READER) in points
    assert lost.showlegend
    assert "lost-write" in figure.layout.title.text
    assert all("lost-write" in hover for hover in lost.hovertext if hover is not None)


def test_each_kind_found_has_its_own_marker_in_the_legend_and_no_text_on_the_plot() -> None:
    history = lossy()
    figure = empty_figure()
    draw_checked(figure, history, [], check(history), now_ms=50)
    found = [t for t in figure.data if t.showlegend is not False and t.name in DRAWN_KINDS]
    assert {t.name for t in found} == {"lost-write", "inconsistent-offsets", "nonmonotonic-send"}
    assert len({t.marker.symbol for t in found}) == 3
    assert not any("text" in (t.mode or "") for t in figure.data)


def test_before_the_final_read_only_what_the_sends_show_is_drawn() -> None:
    early = history_until(lossy(), 30)
    figure = empty_figure()
    draw_checked(figure, early, [], check(early), now_ms=30)
    title = figure.layout.title.text
    # Two acknowledgements at offset 1 already disagree; that b is lost needs the read.
    assert "inconsistent-offsets" in title and "lost-write" not in title
    assert "not read yet" in title
    assert set(trace(figure, "inconsistent-offsets").x) == {14, 25, None}
    assert not trace(figure, "lost-write").x and not trace(figure, "lost-write").showlegend


def test_an_answer_after_the_moment_shown_is_not_in_yet() -> None:
    early = history_until(lossy(), 12)
    sends = [op for op in early.ops if isinstance(op, Send)]
    assert [s.outcome for s in sends] == [Outcome.OK, Outcome.INFO]  # c was not sent yet
    assert sends[1].offset is None


def test_a_crash_is_a_span_on_its_brokers_row_until_the_restart() -> None:
    faults = [FaultEvent(100, "crash", "broker-2"), FaultEvent(300, "restart", "broker-2")]
    figure = empty_figure()
    draw_checked(figure, History(), faults, check(History()), now_ms=400)
    crashed = trace(figure, "crashed")
    assert list(crashed.x) == [100, 300, None]
    assert list(crashed.y) == ["broker-2", "broker-2", None]
    assert list(trace(figure, "fault").x) == [100, 300]


def test_the_live_view_checks_the_moment_its_slider_shows(tmp_path: Path) -> None:
    run = SimulatedRun.replicated(0, tmp_path, acks=1, min_insync_replicas=1, unclean=True)
    run.random_faults(0)
    run.heal_write_and_read()
    view = CheckerView(run)
    assert "lost-write" in view.figure.layout.title.text  # live: after the final read
    view.controls.show(len(run.cluster.timeline) // 2)
    assert "lost-write" not in view.figure.layout.title.text
    assert not view.controls.following
    view.controls.go_live()
    assert "lost-write" in view.figure.layout.title.text
