"""The leader epoch cache: at which offset each leader epoch began (KIP-101).

Every partition keeps, next to its log, the list of (leader epoch, start offset)
pairs: the first offset written under each epoch. It answers the question a
follower asks after a leader change — "where does my epoch E end in *your* log?"
— which tells the follower exactly where its log diverges from the new
leader's, instead of guessing from the high watermark (the rule that lost
acknowledged records before KIP-101).

The file, ``leader-epoch-checkpoint``, has Kafka's layout: a version line (0), a
count line, then one ``epoch start_offset`` line per entry; it is replaced
atomically on every change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UNDEFINED_EPOCH", "UNDEFINED_OFFSET", "EpochEntry", "LeaderEpochCache"]

FILE_NAME = "leader-epoch-checkpoint"
UNDEFINED_EPOCH = -1
UNDEFINED_OFFSET = -1


@dataclass(frozen=True)
class EpochEntry:
    epoch: int
    start_offset: int


class LeaderEpochCache:
    def __init__(self, directory: Path | None) -> None:
        """``directory`` None keeps the cache in memory only (tests, exercises)."""
        self.path = None if directory is None else directory / FILE_NAME
        self.entries: list[EpochEntry] = self._load()

    # -- changes --------------------------------------------------------------------------
    def assign(self, epoch: int, start_offset: int) -> None:
        """Epoch ``epoch`` begins at ``start_offset`` (a leader's first append, or a batch
        a follower copies). Only a newer epoch is recorded."""
        latest = self.entries[-1] if self.entries else None
        if latest is not None and epoch <= latest.epoch:
            return
        # A new epoch cannot start before an older one did: those entries are stale.
        self.entries = [e for e in self.entries if e.start_offset < start_offset]
        self.entries.append(EpochEntry(epoch, start_offset))
        self._save()

    def clear(self) -> None:
        """Forget every epoch: the log was emptied and starts over elsewhere."""
        self.entries = []
        self._save()

    def truncate_from_end(self, end_offset: int) -> None:
        """The log was truncated to ``end_offset``: forget epochs that began at or after it."""
        kept = [e for e in self.entries if e.start_offset < end_offset]
        if kept != self.entries:
            self.entries = kept
            self._save()

    # -- questions ------------------------------------------------------------------------
    @property
    def latest_epoch(self) -> int:
        return self.entries[-1].epoch if self.entries else UNDEFINED_EPOCH

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """(the largest epoch <= ``epoch`` we know, the offset where it ends here).

        An epoch ends where the next one starts; the latest one ends at the log end.
        An epoch older than all we know ended, as far as we can tell, before our first one
        began: (that epoch, our first start offset), as Kafka answers. Only an empty cache
        gives (UNDEFINED_EPOCH, UNDEFINED_OFFSET).
        """
        if not self.entries:
            return UNDEFINED_EPOCH, UNDEFINED_OFFSET
        if epoch < self.entries[0].epoch:
            return epoch, self.entries[0].start_offset
        for i in range(len(self.entries) - 1, -1, -1):
            if self.entries[i].epoch <= epoch:
                if i == len(self.entries) - 1:
                    return self.entries[i].epoch, log_end_offset
                return self.entries[i].epoch, self.entries[i + 1].start_offset
        return UNDEFINED_EPOCH, UNDEFINED_OFFSET

    def start_offset_of(self, epoch: int) -> int | None:
        for e in self.entries:
            if e.epoch == epoch:
                return e.start_offset
        return None

    # -- the file ---------------------------------------------------------------------------
    def _load(self) -> list[EpochEntry]:
        if self.path is None or not self.path.exists():
            return []
        lines = self.path.read_text().split("\n")
        try:
            if lines[0] != "0":
                raise ValueError(f"unknown version {lines[0]!r}")
            count = int(lines[1])
            entries = []
            for line in lines[2 : 2 + count]:
                epoch, offset = line.split()
                entries.append(EpochEntry(int(epoch), int(offset)))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"corrupt {self.path}: {exc}") from exc
        return entries

    def _save(self) -> None:
        if self.path is None:
            return
        text = (
            "\n".join(
                ["0", str(len(self.entries))]
                + [f"{e.epoch} {e.start_offset}" for e in self.entries]
            )
            + "\n"
        )
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
