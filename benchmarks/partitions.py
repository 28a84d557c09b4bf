"""10,000 partitions on one broker: open file descriptors and memory per partition.

Kafka's "partition count explosion" is a file-handle problem: every segment is a
file. reflog's logs borrow their files from a bounded LRU (log manager's
max_open_files), so the descriptor count stays flat as partitions grow.

Run: `.venv/bin/python benchmarks/partitions.py [--partitions 10000] [--max-open 512]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.records import build_batch
from reflog.storage.log_manager import LogManager
from reflog.topic_partition import TopicPartition


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=10_000)
    parser.add_argument("--max-open", type=int, default=512)
    args = parser.parse_args()
    batch = build_batch([(b"key", b"x" * 100, 1_700_000_000_000)])
    with tempfile.TemporaryDirectory() as tmp:
        fds_before = open_fds()
        tracemalloc.start()
        start = time.perf_counter()
        logs = LogManager(Path(tmp), max_open_files=args.max_open)
        peak_fds = 0
        for p in range(args.partitions):
            logs.create(TopicPartition("wide", p)).append(batch, 0)
            if p % 500 == 0:
                peak_fds = max(peak_fds, open_fds() - fds_before)
        created = time.perf_counter() - start
        # A second pass reads every partition back (files reopen on demand).
        for p in range(args.partitions):
            log = logs.get(TopicPartition("wide", p))
            assert log is not None and log.read(0, 10_000).records is not None
        peak_fds = max(peak_fds, open_fds() - fds_before)
        current, peak_memory = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"partitions:                    {args.partitions}")
        print(f"max open files (configured):   {args.max_open}")
        print(f"peak open descriptors (added): {peak_fds}")
        print(f"file opens (with reopening):   {logs.files.opens}")
        print(
            f"Python memory per partition:   {current / args.partitions / 1024:.1f} KiB "
            f"(peak {peak_memory / args.partitions / 1024:.1f} KiB)"
        )
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"max RSS of the process:        {rss_mib:.0f} MiB")
        print(f"create + append, per partition: {created / args.partitions * 1e3:.2f} ms")
        logs.close()
        verdict = "OK" if peak_fds <= args.max_open else "OVER THE LIMIT"
        print(f"descriptors within the limit:  {verdict}")


if __name__ == "__main__":
    main()
