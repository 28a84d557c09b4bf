"""reflog's producer: a pure core that batches records and picks partitions."""

from reflog.producer.config import ProducerConfig
from reflog.producer.producer import Producer, SendResult

__all__ = ["Producer", "ProducerConfig", "SendResult"]
