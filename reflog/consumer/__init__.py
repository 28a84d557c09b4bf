"""reflog's consumer: a pure core that fetches assigned partitions from their leaders, and
joins consumer groups (subscribe) through a pure membership core."""

from reflog.consumer.consumer import (
    Consumer,
    ConsumerConfig,
    ConsumerRecord,
    GroupError,
    OffsetResetError,
)
from reflog.consumer.rebalance_listener import ConsumerRebalanceListener

__all__ = [
    "Consumer",
    "ConsumerConfig",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "GroupError",
    "OffsetResetError",
]
