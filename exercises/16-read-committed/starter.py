"""Your read_committed fetch (see README.md)."""

from __future__ import annotations


def fetch(
    log: list[tuple[int, int, int, str]],
    last_stable_offset: int,
    aborted: list[tuple[int, int]],
    read_committed: bool,
) -> list[int]:
    # A first attempt: every record up to the end of the log, markers included.
    return [offset for base, last, _, _ in log for offset in range(base, last + 1)]
