"""What an application hears when its group's partitions move (Kafka:
``ConsumerRebalanceListener``)."""

from __future__ import annotations

from reflog.topic_partition import TopicPartition

__all__ = ["ConsumerRebalanceListener"]


class ConsumerRebalanceListener:
    """Override what you need; every method does nothing by default.

    * ``on_partitions_revoked``: the member gives these up in an orderly way, and still may
      commit their offsets now (eager: all it had, before every rebalance; cooperative: only
      those that move to another member).
    * ``on_partitions_assigned``: these are the member's now (cooperative: only the new
      ones; it may be called with none, after every rebalance).
    * ``on_partitions_lost``: the member found it was no longer in the group (its session
      expired, its generation was fenced): another member may already read these, so
      committing their offsets is too late. As in Kafka, it calls
      ``on_partitions_revoked`` unless overridden.
    """

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        pass

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.on_partitions_revoked(lost)
