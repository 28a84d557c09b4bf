"""Partitions filling up: a live bar chart of a topic, with controls that act on the cluster.

The bars are each partition's log end offset (records written); the markers
are how far the consumer has read. Play runs the simulation paced to the wall
clock on the kernel's asyncio loop, so the figure redraws while it runs.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go

from reflog.sim.cluster import Cluster
from reflog.sim.workloads import ConsumerWorkload, ProducerWorkload
from reflog.viz.controls import PlayControls

__all__ = ["PartitionsView"]


class PartitionsView:
    def __init__(
        self,
        cluster: Cluster,
        topic: str,
        producer: ProducerWorkload | None = None,
        consumer: ConsumerWorkload | None = None,
    ) -> None:
        self.cluster = cluster
        self.topic = topic
        self.producer = producer or (cluster.producers[0] if cluster.producers else None)
        self.consumer = consumer or (cluster.consumers[0] if cluster.consumers else None)

        partitions = sorted(cluster.log_end_offsets(topic))
        self.figure = go.FigureWidget(
            data=[
                go.Bar(
                    name="log end offset",
                    x=[f"{topic}-{p}" for p in partitions],
                    y=[0] * len(partitions),
                ),
                go.Scatter(
                    name="consumer position",
                    x=[f"{topic}-{p}" for p in partitions],
                    y=[0] * len(partitions),
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
        self.controls = PlayControls(cluster, self.refresh)
        self.rate = widgets.IntSlider(
            value=int(self.producer.rate_per_s) if self.producer else 0,
            min=0,
            max=2000,
            step=10,
            description="records/s",
            disabled=self.producer is None,
        )
        self.rate.observe(self._on_rate, names="value")
        self.widget = widgets.VBox(
            [self.controls.row(), widgets.HBox([self.controls.speed, self.rate]), self.figure]
        )
        self.refresh()

    # -- controls ---------------------------------------------------------------------
    def _on_rate(self, change: dict[str, object]) -> None:
        if self.producer is not None:
            new = change["new"]
            assert isinstance(new, int)
            self.producer.set_rate(new)

    # -- drawing ----------------------------------------------------------------------
    def refresh(self) -> None:
        ends = self.cluster.log_end_offsets(self.topic)
        partitions = sorted(ends)
        positions = {p: 0 for p in partitions}
        if self.consumer is not None and self.consumer.core is not None:
            for tp in self.consumer.partitions:
                positions[tp.partition] = self.consumer.consumer.position(tp) or 0
        with self.figure.batch_update():
            self.figure.data[0].y = [ends[p] for p in partitions]
            self.figure.data[1].y = [positions.get(p, 0) for p in partitions]
        sent = f", sent {self.producer.sent}, acked {self.producer.acked}" if self.producer else ""
        self.controls.clock.value = f"<b>t = {self.cluster.now_ms} ms</b>{sent}"
