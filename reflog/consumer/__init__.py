"""reflog's consumer: a pure core that fetches assigned partitions from their leaders."""

from reflog.consumer.consumer import Consumer, ConsumerConfig, ConsumerRecord, OffsetResetError

__all__ = ["Consumer", "ConsumerConfig", "ConsumerRecord", "OffsetResetError"]
