"""Live views of a simulated cluster: plotly FigureWidgets and ipywidgets controls."""

from reflog.viz.partitions import PartitionsView

__all__ = ["PartitionsView"]
