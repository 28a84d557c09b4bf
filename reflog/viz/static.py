"""What a notebook shows before anyone runs it: static plotly figures stored in its outputs.

A live view (a ``FigureWidget`` and ipywidgets controls) lives in the kernel that drew it; a
notebook opened without that kernel, or rendered to HTML for the docs, has nothing to show in its
place. So each view also stores a plain plotly figure holding its recorded timeline as
animation frames, with a slider and a play button that work in the browser alone.

Three pieces, for any view over any recorded timeline:

* :func:`scrubbable_figure` turns "draw one snapshot" and a list of snapshots into one
  ``go.Figure`` with a frame per (sampled) snapshot, a slider and play/pause buttons;
* :func:`live_or_static` is the display bundle a view returns from ``_repr_mimebundle_``: the
  live widget where a kernel runs it, and the static figure beside it, which is what the stored
  notebook keeps (``scripts/run_notebooks.py`` drops the widget reference, meaningless without
  its kernel);
* :func:`show` displays a plain figure (no live twin) so that both JupyterLab and a static HTML
  render draw it.

A view uses them like this::

    class MyView:
        def static_figure(self) -> go.Figure:
            return scrubbable_figure(
                self._base_figure(),          # a go.Figure with every trace, all empty
                self._draw,                   # draw(figure, snapshot): sets traces and layout
                self.timeline.snapshots,
                label=lambda s: f"{s.at_ms} ms",
            )

        def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
            return live_or_static(self.widget, self.static_figure())

and the notebook's cell ends with the view itself (``MyView(cluster)``), not ``.widget``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import display

__all__ = ["live_or_static", "sample", "scrubbable_figure", "show", "static_bundle"]

Snapshot = TypeVar("Snapshot")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Room under the plot for the slider and the buttons (pixels).
CONTROLS_HEIGHT = 110


def sample(count: int, most: int) -> list[int]:
    """At most ``most`` indexes into ``count`` items, evenly spread, always the first and last."""
    if count <= most:
        return list(range(count))
    if most < 2:
        return [count - 1]
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


def _rounded(value: Any, digits: int = 4) -> Any:
    """value with every float rounded: a stored frame need not carry 16 digits per coordinate."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def _varying(values: list[Any]) -> Any:
    """Which parts of a property differ across frames: None (none), True (all of it), or, for
    dicts, a dict of the keys that vary. Frames then store only those parts."""
    first = values[0]
    if all(v == first for v in values):
        return None
    if all(isinstance(v, dict) for v in values):
        keys = {key for v in values for key in v}
        parts = {key: _varying([v.get(key) for v in values]) for key in sorted(keys)}
        return {key: part for key, part in parts.items() if part is not None}
    return True


def _pick(value: Any, parts: Any) -> Any:
    if parts is True or not isinstance(value, dict):
        return value
    return {key: _pick(value[key], part) for key, part in parts.items() if key in value}


def scrubbable_figure(
    base: go.Figure,
    draw: Callable[[go.Figure, Snapshot], None],
    snapshots: Sequence[Snapshot],
    *,
    label: Callable[[Snapshot], str],
    max_frames: int = 40,
    frame_ms: int = 100,
) -> go.Figure:
    """One plotly figure that replays ``snapshots`` without a kernel.

    ``base`` is the view's figure with all its traces (typically empty) and its layout;
    ``draw(base, snapshot)`` must set everything that depends on the snapshot: every trace's
    data and any layout property (axis ranges, tick texts, the title). It is called once per
    kept snapshot on ``base`` itself, in order, so it must overwrite rather than append.
    ``label(snapshot)`` names a slider step ("1520 ms").

    At most ``max_frames`` snapshots are kept, evenly spread over the run (always the first and
    the last), and each frame stores only the properties that vary from frame to frame: the
    frames are saved in the notebook, so they must stay small. The figure shows the last
    snapshot, as the live view does; the slider scrubs back, and play runs forward from the
    slider's position at ``frame_ms`` per frame.
    """
    if not snapshots:
        raise ValueError("nothing recorded to draw")
    kept = sample(len(snapshots), max_frames)
    drawn: list[dict[str, Any]] = []
    for index in kept:
        draw(base, snapshots[index])
        drawn.append(_rounded(base.to_plotly_json()))
    # A trace or layout property that is the same in every frame stays in the figure alone.
    layout_parts = _varying([d["layout"] for d in drawn]) or {}
    trace_parts = [_varying([d["data"][i] for d in drawn]) for i in range(len(base.data))]
    varying_traces = [i for i, parts in enumerate(trace_parts) if parts is not None]
    frames = [
        go.Frame(
            name=str(index),
            data=[
                {"type": d["data"][i]["type"], **_pick(d["data"][i], trace_parts[i])}
                for i in varying_traces
            ],
            traces=varying_traces,
            layout=_pick(d["layout"], layout_parts),
        )
        for index, d in zip(kept, drawn, strict=True)
    ]
    figure = go.Figure(data=drawn[-1]["data"], layout=drawn[-1]["layout"], frames=frames)
    jump = {
        "mode": "immediate",
        "frame": {"duration": 0, "redraw": True},
        "transition": {"duration": 0},
    }
    play = {
        "mode": "immediate",
        "fromcurrent": True,
        "frame": {"duration": frame_ms, "redraw": True},
        "transition": {"duration": 0},
    }
    height = (figure.layout.height or 450) + CONTROLS_HEIGHT
    margin_b = (figure.layout.margin.b or 80) + CONTROLS_HEIGHT
    plot_height = height - margin_b - (figure.layout.margin.t or 100)
    bottom = -(margin_b - 5) / plot_height  # the figure's bottom edge, in the plot's units
    figure.update_layout(
        height=height,
        margin={"b": margin_b},
        sliders=[
            {
                "active": len(kept) - 1,
                "currentvalue": {"prefix": "recorded: "},
                "len": 0.85,
                "x": 0.15,
                "y": bottom,
                "yanchor": "bottom",
                "pad": {"t": 0, "b": 10},
                "steps": [
                    {"label": label(snapshot), "method": "animate", "args": [[str(index)], jump]}
                    for index, snapshot in ((i, snapshots[i]) for i in kept)
                ],
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0,
                "xanchor": "left",
                "y": bottom,
                "yanchor": "bottom",
                "pad": {"t": 0, "b": 30},
                "showactive": False,
                "buttons": [
                    {"label": "▶", "method": "animate", "args": [None, play]},
                    {"label": "❚❚", "method": "animate", "args": [[None], jump]},
                ],
            }
        ],
    )
    return figure


def static_bundle(figure: go.Figure) -> dict[str, Any]:
    """figure as stored outputs: plotly's JSON (JupyterLab draws it, without a kernel and
    without trusting the notebook) and HTML that loads plotly.js from its CDN (for nbconvert,
    nbviewer and the docs site, which do not know plotly's mime type)."""
    as_json = pio.to_json(figure, validate=False)
    # A div id drawn from the figure itself, not a random one: the same run stores the same
    # output, so rerunning a notebook changes only what changed.
    div_id = "reflog-" + hashlib.sha256(as_json.encode()).hexdigest()[:16]
    html = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs="cdn",
        div_id=div_id,
        auto_play=False,  # show the last snapshot, as the figure says, until the reader plays
        default_height=figure.layout.height or 450,
        validate=False,
    )
    return {"application/vnd.plotly.v1+json": json.loads(as_json), "text/html": html}


def live_or_static(widget: Any, figure: go.Figure) -> dict[str, Any]:
    """The display bundle of a view: ``widget`` live where a kernel runs, ``figure`` otherwise.

    A front end draws the richest type it can: JupyterLab with a kernel draws the widget;
    the same output stored in the notebook, its widget reference dropped, shows the figure.
    """
    bundle = static_bundle(figure)
    bundle.update(widget._repr_mimebundle_())
    bundle["text/plain"] = "A live view: run the notebook to use it (its recording is stored)."
    return bundle


def show(figure: go.Figure) -> None:
    """Display a figure so that it is stored in the notebook for readers without a kernel."""
    # IPython's display() carries no annotations.
    display(static_bundle(figure), raw=True)  # type: ignore[no-untyped-call]
