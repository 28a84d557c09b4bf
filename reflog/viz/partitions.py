"""Partitions filling up: a bar chart of a topic over the cluster's recorded timeline.

The bars are each partition's log end offset on its leader (records written); the
markers are how far the consumer has read. Play runs the cluster paced to the wall
clock, the slider scrubs back through the recording, and the rate slider changes the
producer's rate (going live first, as every control does).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from reflog.sim.cluster import Cluster
from reflog.sim.timeline import Snapshot
from reflog.viz.controls import TimelineView

__all__ = ["PartitionsView"]


class PartitionsView(TimelineView[Snapshot]):
    def __init__(
        self,
        cluster: Cluster,
        topic: str,
        producer: str | None = None,
        consumer: str | None = None,
    ) -> None:
        """``producer`` and ``consumer`` are workload names (default: the first added)."""
        super().__init__(cluster)
        self.cluster = cluster
        self.topic = topic
        self.producer = producer or next(iter(cluster.producers), None)
        self.consumer = consumer or next(iter(cluster.consumers), None)
        self.figure = go.FigureWidget(
            data=[
                go.Bar(name="log end offset", x=[], y=[]),
                go.Scatter(
                    name="consumer position",
                    x=[],
                    y=[],
                    mode="markers",
                    marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3}},
                ),
            ],
            layout=go.Layout(
                title=f"Topic {topic!r}: records per partition",
                yaxis={"title": "offset", "rangemode": "tozero"},
                height=360,
                margin={"t": 50, "b": 40, "l": 60, "r": 20},
                legend={"orientation": "h"},
            ),
        )
        rate = cluster.producers[self.producer].rate_per_s if self.producer else 0
        self.rate = widgets.IntSlider(
            value=int(rate),
            min=0,
            max=2000,
            step=10,
            description="records/s",
            disabled=self.producer is None,
        )
        self.rate.observe(self.controls.act(self._on_rate), names="value")
        self.summary = widgets.HTML()
        self.start(self.rate, self.summary, self.figure)

    def _on_rate(self, change: dict[str, Any]) -> None:
        if self.producer is not None:
            self.cluster.set_rate(self.producer, int(change["new"]))

    def draw(self, snapshot: Snapshot) -> None:
        partitions = snapshot.topic(self.topic)
        positions: dict[int, int] = {}
        if self.consumer is not None:
            consumers = [c for c in snapshot.consumers if c.name == self.consumer]
            positions = dict(consumers[0].positions) if consumers else {}
        ends = []
        for p in partitions:
            leader = [r for r in p.replicas if r.broker_id == p.leader]
            ends.append(leader[0].log_end_offset if leader else 0)
        names = [f"{self.topic}-{p.partition} (broker-{p.leader})" for p in partitions]
        with self.figure.batch_update():
            self.figure.data[0].x, self.figure.data[0].y = names, ends
            self.figure.data[1].x = names
            self.figure.data[1].y = [positions.get(p.partition, 0) for p in partitions]
        text = ""
        producers = [p for p in snapshot.producers if p.name == self.producer]
        if producers:
            text = f"{producers[0].name}: sent {producers[0].sent}, acked {producers[0].acked}"
        self.summary.value = text
