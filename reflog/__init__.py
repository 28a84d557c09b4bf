"""reflog: a readable, fully typed reference implementation of Apache Kafka's core."""

__version__ = "0.1.0"
