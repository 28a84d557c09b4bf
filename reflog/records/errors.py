"""Errors raised while reading record batches."""

from __future__ import annotations

__all__ = ["CorruptRecordError", "UnsupportedCompressionError"]


class CorruptRecordError(ValueError):
    """A batch whose header, length or CRC does not hold up (Kafka: CORRUPT_MESSAGE)."""


class UnsupportedCompressionError(CorruptRecordError):
    """The records of a compressed batch were asked for: reflog stores compressed batches
    as they come but cannot decompress them (Kafka: UNSUPPORTED_COMPRESSION_TYPE)."""
