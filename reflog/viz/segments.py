"""One partition's segments as they grow, roll, get deleted by retention or compacted.

Each bar is a segment file, labelled by its base offset as on disk; its height is
the bytes in the ``.log``, and the hover text tells how many index entries point into it.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go

from reflog.sim.cluster import Cluster
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import PlayControls

__all__ = ["SegmentsView"]


class SegmentsView:
    def __init__(self, cluster: Cluster, tp: TopicPartition) -> None:
        self.cluster = cluster
        self.tp = tp
        self.figure = go.FigureWidget(
            data=[go.Bar(name="segment size", x=[], y=[], hovertext=[])],
            layout=go.Layout(
                title=f"{tp}: segments on disk",
                xaxis={"title": "segment (base offset)", "type": "category"},
                yaxis={"title": "bytes in .log", "rangemode": "tozero"},
                height=340,
                margin={"t": 50, "b": 50, "l": 70, "r": 20},
            ),
        )
        self.controls = PlayControls(cluster, self.refresh)
        self.widget = widgets.VBox([self.controls.row(), self.controls.speed, self.figure])
        self.refresh()

    def refresh(self) -> None:
        broker = self.cluster.brokers[0].broker
        log = broker.logs.get(self.tp) if broker is not None else None
        segments = log.segments if log is not None else []
        with self.figure.batch_update():
            bar = self.figure.data[0]
            bar.x = [f"{s.base_offset:020d}" for s in segments]
            bar.y = [s.size for s in segments]
            bar.hovertext = [
                f"offsets {s.base_offset}..{s.next_offset - 1}, {len(s.index)} index entries"
                for s in segments
            ]
        start = log.log_start_offset if log is not None else 0
        end = log.log_end_offset if log is not None else 0
        self.controls.clock.value = (
            f"<b>t = {self.cluster.now_ms} ms</b>, log start {start}, log end {end}, "
            f"{len(segments)} segments"
        )
