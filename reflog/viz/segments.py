"""One partition's segments as they grow, roll, get deleted by retention or compacted.

Each bar is a segment file of one replica (the leader's unless a broker is chosen),
labelled by its base offset as on disk; its height is the bytes in the ``.log``, and
the hover text tells which offsets it holds and how many index entries point into it.
It draws the cluster's recorded timeline, so the slider scrubs back through it.
"""

from __future__ import annotations

import plotly.graph_objects as go

from reflog.sim.cluster import Cluster
from reflog.sim.timeline import Snapshot
from reflog.topic_partition import TopicPartition
from reflog.viz.controls import TimelineView

__all__ = ["SegmentsView"]


class SegmentsView(TimelineView[Snapshot]):
    def __init__(self, cluster: Cluster, tp: TopicPartition, broker: int | None = None) -> None:
        super().__init__(cluster)
        self.tp = tp
        self.broker = broker
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
        self.start(self.figure)

    def draw(self, snapshot: Snapshot) -> None:
        try:
            partition = snapshot.partition(self.tp.topic, self.tp.partition)
        except KeyError:
            return
        broker = self.broker if self.broker is not None else partition.leader
        replicas = [r for r in partition.replicas if r.broker_id == broker]
        if not replicas:
            return
        replica = replicas[0]
        segments = replica.segments
        with self.figure.batch_update():
            bar = self.figure.data[0]
            bar.x = [f"{s.base_offset:020d}" for s in segments]
            bar.y = [s.size for s in segments]
            bar.hovertext = [
                f"offsets {s.base_offset}..{s.next_offset - 1}, {s.index_entries} index entries"
                + (" (active)" if s.active else "")
                for s in segments
            ]
            self.figure.layout.title = (
                f"{self.tp} on broker-{broker}: log start {replica.log_start_offset}, "
                f"log end {replica.log_end_offset}, {len(segments)} segments"
            )
