"""The segment view's older name: :class:`~reflog.viz.segment_files.SegmentFilesView`
draws a partition's segments as files (batches, index entries, the active segment)."""

from reflog.viz.segment_files import SegmentFilesView as SegmentsView

__all__ = ["SegmentsView"]
