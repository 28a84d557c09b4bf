"""The reference answers: reflog's own varints."""

from reflog.records.varint import decode_varint as read_varint
from reflog.records.varint import zigzag_decode, zigzag_encode

__all__ = ["read_varint", "zigzag_decode", "zigzag_encode"]
