"""CRC-32C (Castagnoli), the checksum of RecordBatch v2.

Kafka switched from CRC-32 to CRC-32C with the v2 format because modern CPUs
compute it in hardware. The ``crc32c`` package wraps that instruction (tens of
GB/s); a pure-Python loop would manage about 12 MB/s and dominate the produce
path.

Where that compiled package cannot be installed (in the browser, on Pyodide,
which the docs site's JupyterLite runs), reflog uses :func:`crc32c_pure`, the
same checksum as a table-driven loop: slow, but the chapters that run there
move kilobytes, not gigabytes.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["COMPILED", "crc32c", "crc32c_pure"]

# CRC-32C's polynomial 0x1EDC6F41, bit-reversed: the CRC is computed least significant bit
# first, as the hardware instruction and Kafka's Java Crc32C do.
_POLYNOMIAL = 0x82F63B78


def _table() -> tuple[int, ...]:
    """The CRC of each byte value on its own: one lookup then does eight bit steps."""
    entries = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        entries.append(crc)
    return tuple(entries)


_TABLE = _table()


def crc32c_pure(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC-32C of ``data`` in pure Python, continuing from ``value`` (0 to start)."""
    crc = value ^ 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _compiled() -> Callable[[bytes | bytearray | memoryview, int], int] | None:
    try:
        import crc32c as package
    except ImportError:  # no build for this platform (Pyodide)
        return None
    compute = package.crc32c

    def crc32c_compiled(data: bytes | bytearray | memoryview, value: int = 0) -> int:
        return int(compute(data, value))

    return crc32c_compiled


_COMPILED = _compiled()
# Whether the compiled package computes the checksums (False: crc32c_pure does).
COMPILED = _COMPILED is not None


def crc32c(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC-32C of ``data``, continuing from ``value`` (0 to start)."""
    if _COMPILED is not None:
        return _COMPILED(data, value)
    return crc32c_pure(data, value)
