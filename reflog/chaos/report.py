"""The chaos run as an HTML page: the verdict, and a plotly timeline of every operation, every
fault and every anomaly, each anomaly drawn at the operations that show it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from reflog.chaos.nemesis import Fault
from reflog.check import Anomaly, Assign, History, Op, Outcome, Poll, Send

__all__ = ["op_time_ms", "poll_text", "send_text", "timeline_figure", "write_report"]

_COLOURS = {Outcome.OK: "#2e7d32", Outcome.FAIL: "#c62828", Outcome.INFO: "#9e9e9e"}
_FAULT_COLOURS = {"kill": "#ff9800", "pause": "#ffe082", "partition": "#ce93d8", "slow": "#90caf9"}


def timeline_figure(
    history: History, faults: Sequence[Fault], anomalies: Sequence[Anomaly]
) -> go.Figure:
    figure = go.Figure()
    for outcome, colour in _COLOURS.items():
        sends = [op for op in history.ops if isinstance(op, Send) and op.outcome is outcome]
        figure.add_trace(
            go.Scatter(
                x=[_seconds(op_time_ms(op)) for op in sends],
                y=[op.process for op in sends],
                mode="markers",
                marker={"color": colour, "size": 5},
                name=f"send {outcome.value}",
                text=[send_text(op) for op in sends],
                hoverinfo="text",
            )
        )
    polls = [op for op in history.ops if isinstance(op, Poll)]
    figure.add_trace(
        go.Scatter(
            x=[_seconds(op.completed_ms) for op in polls],
            y=[op.process for op in polls],
            mode="markers",
            marker={"color": "#1565c0", "size": 5, "symbol": "square"},
            name="poll",
            text=[poll_text(op) for op in polls],
            hoverinfo="text",
        )
    )
    for fault in faults:
        figure.add_vrect(
            x0=_seconds(fault.start_ms),
            x1=_seconds(fault.end_ms),
            fillcolor=_FAULT_COLOURS.get(fault.kind, "#ffe082"),
            opacity=0.3,
            line_width=0,
            annotation_text=f"{fault.kind} {fault.target}",
            annotation_position="top left",
        )
    xs, ys, texts = [], [], []
    for anomaly in anomalies:
        for index in anomaly.ops:
            op = history[index]
            xs.append(_seconds(op_time_ms(op)))
            ys.append(op.process)
            texts.append(str(anomaly))
    figure.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="markers", name="anomaly", text=texts, hoverinfo="text",
            marker={"color": "#d50000", "size": 14, "symbol": "x-thin-open", "line": {"width": 3}},
        )
    )  # fmt: skip
    figure.update_layout(
        xaxis_title="seconds since the workload began",
        height=420,
        margin={"l": 110, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def write_report(
    path: Path,
    title: str,
    summary: str,
    history: History,
    faults: Sequence[Fault],
    anomalies: Sequence[Anomaly],
) -> None:
    """A self-contained page (plotly.js inside it), readable offline."""
    figure = timeline_figure(history, faults, anomalies)
    plot = figure.to_html(full_html=False, include_plotlyjs=True)
    rows = "".join(
        f"<tr><td>{html.escape(a.kind)}</td><td>{html.escape(str(a.tp))}</td>"
        f"<td>{html.escape(a.explanation)}</td><td>{', '.join(map(str, a.ops))}</td></tr>"
        for a in anomalies
    )
    table = (
        "<table><tr><th>anomaly</th><th>partition</th><th>what</th><th>operations</th></tr>"
        f"{rows}</table>"
        if anomalies
        else ""
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "</head><body style='font-family:sans-serif'>"
        f"<h2>{html.escape(title)}</h2><pre>{html.escape(summary)}</pre>{plot}{table}</body></html>"
    )
    path.write_text(page, encoding="utf-8")


def op_time_ms(op: Op) -> int:
    """When an operation is drawn: when it completed, else when it began."""
    if isinstance(op, Assign):
        return op.at_ms
    if isinstance(op, Poll):
        return op.completed_ms
    return op.invoked_ms if op.completed_ms is None else op.completed_ms


def _seconds(ms: int) -> float:
    return ms / 1000


def send_text(op: Send) -> str:
    where = f"offset {op.offset}" if op.offset is not None else (op.error or "no answer")
    return f"op {op.index}: {op.values[0]!r} to {op.tp}: {op.outcome.value}, {where}"


def poll_text(op: Poll) -> str:
    if not op.records:
        return f"op {op.index}: nothing"
    first, last = op.records[0], op.records[-1]
    span = f"{first.tp}@{first.offset} … {last.tp}@{last.offset}"
    return f"op {op.index}: {len(op.records)} records, {span}"
