"""reflog/viz/static.py: a recorded timeline as one plotly figure that replays without a kernel."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go

from reflog.raft import RaftConfig
from reflog.sim import LinkConfig, Simulation
from reflog.sim.raft_nodes import RaftSimNode
from reflog.sim.raft_quorum import RaftRecorder
from reflog.viz.raft import RaftView
from reflog.viz.static import live_or_static, sample, scrubbable_figure, static_bundle


def base() -> go.Figure:
    figure = go.Figure()
    figure.add_scatter(x=[], y=[], name="moving", mode="markers")
    figure.add_scatter(x=[0, 1], y=[0, 0], name="still", mode="lines")
    return figure


def draw(figure: go.Figure, at_ms: int) -> None:
    figure.data[0].x, figure.data[0].y = [at_ms], [at_ms % 7]
    figure.layout.title.text = f"t = {at_ms} ms"


def test_sample_keeps_the_first_and_the_last_and_at_most_the_limit() -> None:
    assert sample(5, 10) == [0, 1, 2, 3, 4]
    kept = sample(1000, 40)
    assert kept[0] == 0
    assert kept[-1] == 999
    assert len(kept) == 40
    assert kept == sorted(set(kept))


def test_figure_shows_the_last_snapshot_and_its_slider_reaches_every_kept_frame() -> None:
    figure = scrubbable_figure(base(), draw, list(range(0, 500, 5)), label=lambda t: f"{t} ms",
                               max_frames=20)
    assert len(figure.frames) == 20
    assert figure.data[0].x == (495,)
    assert figure.layout.title.text == "t = 495 ms"
    [slider] = figure.layout.sliders
    assert slider.active == 19
    assert [step.args[0][0] for step in slider.steps] == [frame.name for frame in figure.frames]
    assert slider.steps[0].label == "0 ms"
    assert slider.steps[-1].label == "495 ms"
    assert [button.method for button in figure.layout.updatemenus[0].buttons] == ["animate"] * 2


def test_frames_store_only_what_changes_from_snapshot_to_snapshot() -> None:
    figure = scrubbable_figure(base(), draw, [0, 10, 20], label=str)
    first = figure.frames[0]
    assert first.traces == (0,)  # the still trace is drawn once, in the figure
    assert first.data[0].x == (0,)
    assert first.data[0].name is None  # the trace's constant properties are not repeated
    assert first.layout.title.text == "t = 0 ms"


def test_stored_outputs_are_plotly_json_and_html_with_a_stable_div_id() -> None:
    figure = scrubbable_figure(base(), draw, [0, 10], label=str)
    bundle = static_bundle(figure)
    assert bundle["application/vnd.plotly.v1+json"]["frames"]
    assert "cdn.plot.ly" in bundle["text/html"]
    assert "Plotly.animate" not in bundle["text/html"]  # it waits for the reader's ▶
    assert static_bundle(figure)["text/html"] == bundle["text/html"]


def test_a_view_displays_as_its_live_widget_with_the_static_figure_beside_it() -> None:
    figure = scrubbable_figure(base(), draw, [0, 10], label=str)
    bundle = live_or_static(widgets.Button(description="kill"), figure)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "application/vnd.plotly.v1+json" in bundle
    assert "text/html" in bundle


def test_raft_view_stores_its_recorded_election_as_frames(tmp_path: Path) -> None:
    sim = Simulation(7, LinkConfig(latency_ms_min=2, latency_ms_max=8))
    names = ["n0", "n1", "n2"]
    config = RaftConfig(election_timeout_ms=150, heartbeat_interval_ms=50)
    nodes = {name: RaftSimNode(name, names, config, tmp_path) for name in names}
    for node in nodes.values():
        sim.add_node(node)
    raft = RaftRecorder(sim, nodes)
    raft.run_until(lambda: raft.leader() is not None, timeout_ms=2_000)
    view = RaftView(raft)

    figure = view.static_figure(max_frames=10)

    titles = [frame.layout.title.text for frame in figure.frames]
    assert "leader: none" in titles[0]
    assert f"leader: {raft.leader()}" in titles[-1]
    assert "application/vnd.plotly.v1+json" in view._repr_mimebundle_()
