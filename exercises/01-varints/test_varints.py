"""Tests for the varint exercise: run with `python -m exercises check 01-varints`."""

from __future__ import annotations

from types import ModuleType

from exercises.runner import raises


def test_zigzag_keeps_small_numbers_small(impl: ModuleType) -> None:
    assert [impl.zigzag_encode(v, 32) for v in (0, -1, 1, -2, 2, -64, 63)] == [
        0,
        1,
        2,
        3,
        4,
        127,
        126,
    ]


def test_zigzag_extremes_of_int32(impl: ModuleType) -> None:
    assert impl.zigzag_encode(2**31 - 1, 32) == 2**32 - 2
    assert impl.zigzag_encode(-(2**31), 32) == 2**32 - 1


def test_zigzag_decode_inverts_encode(impl: ModuleType) -> None:
    for v in (0, -1, 1, -1000, 1000, 2**31 - 1, -(2**31)):
        assert impl.zigzag_decode(impl.zigzag_encode(v, 32)) == v


def test_zigzag_refuses_values_that_do_not_fit(impl: ModuleType) -> None:
    with raises(ValueError):
        impl.zigzag_encode(2**31, 32)


def test_read_one_byte_varints(impl: ModuleType) -> None:
    assert impl.read_varint(b"\x00") == (0, 1)
    assert impl.read_varint(b"\x01") == (-1, 1)
    assert impl.read_varint(b"\x02") == (1, 1)


def test_read_multi_byte_varint_at_an_offset(impl: ModuleType) -> None:
    assert impl.read_varint(b"\xff\xd8\x04", 1) == (300, 3)


def test_read_five_byte_varint(impl: ModuleType) -> None:
    assert impl.read_varint(b"\xfe\xff\xff\xff\x0f") == (2**31 - 1, 5)
    assert impl.read_varint(b"\xff\xff\xff\xff\x0f") == (-(2**31), 5)


def test_truncated_varint_raises(impl: ModuleType) -> None:
    with raises(ValueError):
        impl.read_varint(b"\x80\x80")


def test_overlong_varint_raises_instead_of_reading_forever(impl: ModuleType) -> None:
    with raises(ValueError):
        impl.read_varint(b"\xff" * 10)
