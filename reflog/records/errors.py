"""Errors raised while reading record batches."""

from __future__ import annotations

__all__ = ["CorruptRecordError"]


class CorruptRecordError(ValueError):
    """A batch whose header, length or CRC does not hold up (Kafka: CORRUPT_MESSAGE)."""
