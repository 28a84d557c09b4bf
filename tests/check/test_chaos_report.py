"""The chaos report on a hand-made history: anomalies drawn at the operations that show them,
faults as shaded spans, everything in one self-contained page."""

from __future__ import annotations

from pathlib import Path

from reflog.chaos.nemesis import Fault
from reflog.chaos.report import timeline_figure, write_report
from reflog.check import History, check
from reflog.topic_partition import TopicPartition

TP = TopicPartition("chaos", 0)


def lossy_history() -> History:
    h = History()
    for offset, value in enumerate([b"0-0", b"0-1", b"0-2"]):
        i = h.invoke_send("producer-0", TP, [value], now_ms=offset * 1000)
        h.acknowledged(i, offset, now_ms=offset * 1000 + 5)
    h.poll("final-reader", [(TP, 0, b"0-0"), (TP, 2, b"0-2")], 5_000, 5_020)
    return h


def test_an_anomaly_is_drawn_at_each_operation_it_points_at() -> None:
    history = lossy_history()
    verdict = check(history)
    assert verdict.kinds == ["int-poll-skip", "lost-write"]  # the read jumped over offset 1
    [lost] = verdict.of_kind("lost-write")
    faults = [Fault("kill", "broker-1", 1_200, 3_400)]
    figure = timeline_figure(history, faults, [lost])
    [marks] = [t for t in figure.data if t.name == "anomaly"]
    assert list(marks.x) == [1.005, 5.02]  # the send of b"0-1", and the read that passed it
    assert list(marks.y) == ["producer-0", "final-reader"]
    [span] = figure.layout.shapes
    assert (span.x0, span.x1) == (1.2, 3.4)


def test_the_report_is_one_page_with_the_verdict_and_the_plot(tmp_path: Path) -> None:
    history = lossy_history()
    verdict = check(history)
    path = tmp_path / "report.html"
    write_report(path, "a <test>", verdict.describe(), history, [], verdict.anomalies)
    page = path.read_text(encoding="utf-8")
    assert "a &lt;test&gt;" in page and "INVALID: int-poll-skip x1, lost-write x1" in page
    assert "plotly" in page and "<script src=" not in page  # plotly.js inside: works offline
