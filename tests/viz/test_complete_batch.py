"""complete_batch: a view's draw goes out as one batch that resets nothing and undoes nothing."""

from __future__ import annotations

import plotly.graph_objects as go

from reflog.viz.controls import complete_batch


def two_traces() -> go.FigureWidget:
    return go.FigureWidget(
        data=[
            go.Scatter(x=[0], y=[0], marker={"color": "red", "size": 9}),
            go.Scatter(x=[1], y=[1], marker={"color": "red", "size": 9}),
        ]
    )


def test_a_trace_the_batch_leaves_alone_keeps_its_values() -> None:
    figure = two_traces()
    with figure.batch_update():
        figure.data[0].x = [5]
        figure.data[1].marker.color = "green"
        complete_batch(figure)
        edits = {i: dict(e) for i, e in figure._batch_trace_edits.items()}
    # Each touched trace is given both properties the batch sets: none goes out undefined.
    assert edits[0]["marker.color"] == "red" and edits[1]["x"] == (1,)
    assert figure.data[0].x == (5,) and figure.data[0].marker.color == "red"
    assert figure.data[1].x == (1,) and figure.data[1].marker.color == "green"


def test_a_part_of_a_property_set_whole_is_not_given_its_old_value() -> None:
    figure = two_traces()
    with figure.batch_update():
        figure.data[0].marker = {"color": "blue", "size": 9}  # set whole
        figure.data[1].marker.color = "green"  # a part of it, on another trace
        complete_batch(figure)
    assert figure.data[0].marker.color == "blue"  # not undone by its old "red"
    assert figure.data[1].marker.color == "green"
    assert figure.data[1].marker.size == 9  # and the part's trace keeps the rest
