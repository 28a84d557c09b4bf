"""The pure-Python CRC-32C that reflog falls back on (in Pyodide) computes what the compiled
crc32c package does."""

from __future__ import annotations

import importlib
import sys

import crc32c as compiled_package
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reflog.records import crc


def test_the_compiled_package_computes_checksums_where_it_is_installed() -> None:
    assert crc.COMPILED


def test_pure_crc32c_gives_the_standard_check_value() -> None:
    # The check value of CRC-32C (RFC 3720, the "123456789" test of every CRC catalogue).
    assert crc.crc32c_pure(b"123456789") == 0xE3069283
    assert crc.crc32c_pure(b"") == 0


@given(st.binary(max_size=2048), st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_pure_crc32c_equals_the_compiled_package(data: bytes, start: int) -> None:
    assert crc.crc32c_pure(data, start) == compiled_package.crc32c(data, start)
    assert crc.crc32c_pure(memoryview(bytearray(data))) == compiled_package.crc32c(data)


@given(st.binary(max_size=512), st.binary(max_size=512))
def test_pure_crc32c_continues_from_a_previous_value_like_one_pass(a: bytes, b: bytes) -> None:
    assert crc.crc32c_pure(b, crc.crc32c_pure(a)) == crc.crc32c_pure(a + b)


def test_without_the_compiled_package_reflog_uses_the_pure_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "crc32c", None)  # import crc32c now raises ImportError
    try:
        fallback = importlib.reload(crc)
        assert not fallback.COMPILED
        assert fallback.crc32c(b"123456789") == 0xE3069283
    finally:
        monkeypatch.undo()
        importlib.reload(crc)
    assert crc.COMPILED
