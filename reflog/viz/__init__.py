"""Live views of a simulated cluster: plotly FigureWidgets and ipywidgets controls."""

from reflog.viz.cluster_view import (
    ClusterView,
    cluster_figure,
    cluster_frame,
    static_cluster_figure,
)
from reflog.viz.groups import GroupView
from reflog.viz.idempotence import ProducerStateView
from reflog.viz.inspector import InspectorView
from reflog.viz.partitions import PartitionsView
from reflog.viz.raft import RaftView
from reflog.viz.replication import ReplicationView
from reflog.viz.segment_files import SegmentFilesView
from reflog.viz.segments import SegmentsView
from reflog.viz.transactions import TransactionView

__all__ = [
    "ClusterView",
    "GroupView",
    "InspectorView",
    "PartitionsView",
    "ProducerStateView",
    "RaftView",
    "ReplicationView",
    "SegmentFilesView",
    "SegmentsView",
    "TransactionView",
    "cluster_figure",
    "cluster_frame",
    "static_cluster_figure",
]
