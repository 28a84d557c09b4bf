"""Live views of a simulated cluster: plotly FigureWidgets and ipywidgets controls."""

from reflog.viz.partitions import PartitionsView
from reflog.viz.segment_files import SegmentFilesView
from reflog.viz.segments import SegmentsView

__all__ = ["PartitionsView", "SegmentFilesView", "SegmentsView"]
