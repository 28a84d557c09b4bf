"""Zig-zag varints as RecordBatch v2 writes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reflog.records.varint import (
    VarintError,
    decode_varint,
    decode_varlong,
    encode_varint,
    encode_varlong,
    zigzag_decode,
    zigzag_encode,
)

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(INT32)
def test_varint_round_trips_every_int32(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))
    assert len(encoded) <= 5


@given(INT64)
def test_varlong_round_trips_every_int64(value: int) -> None:
    encoded = encode_varlong(value)
    assert decode_varlong(encoded) == (value, len(encoded))
    assert len(encoded) <= 10


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (-1, b"\x01"),
        (1, b"\x02"),
        (-2, b"\x03"),
        (63, b"\x7e"),
        (-64, b"\x7f"),
        (64, b"\x80\x01"),
        (300, b"\xd8\x04"),
        (2**31 - 1, b"\xfe\xff\xff\xff\x0f"),
    ],
)
def test_known_encodings_match_the_protobuf_zigzag_table(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded


def test_small_negative_numbers_stay_small() -> None:
    assert [zigzag_encode(v, 32) for v in (0, -1, 1, -2, 2)] == [0, 1, 2, 3, 4]
    assert [zigzag_decode(v) for v in (0, 1, 2, 3, 4)] == [0, -1, 1, -2, 2]


def test_truncated_varint_is_refused() -> None:
    with pytest.raises(VarintError):
        decode_varint(b"\x80\x80")


def test_overlong_varint_is_refused_instead_of_read_forever() -> None:
    with pytest.raises(VarintError):
        decode_varint(b"\xff" * 6)
    with pytest.raises(VarintError):
        decode_varlong(b"\xff" * 11)


def test_value_outside_int32_is_refused() -> None:
    with pytest.raises(VarintError):
        encode_varint(2**31)
