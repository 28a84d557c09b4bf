"""The log's own speed next to the machine's, measured in one run on the same bytes.

* append: 1 KiB records in 64 KiB batches through ``Log.append`` (offset assignment,
  index maintenance, segment rolling) against raw ``os.write`` of the same batches;
* fetch:  a consumer reading the whole log from a ``reflog broker`` process over loopback
  (the broker sends record slices with sendfile) against a raw ``os.sendfile`` of the same
  file over a loopback socket.

Run: `.venv/bin/python benchmarks/storage.py [--megabytes 512]`.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.records import build_batch
from reflog.storage.log import Log
from reflog.storage.log_config import LogConfig
from reflog.wire.apis import encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import (
    FetchableTopicResponse,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
    PartitionData,
)
from tests.broker_process import running_broker

RECORD = 1024
BATCH = 64 * 1024


def make_batches(megabytes: int) -> list[bytes]:
    per_batch = BATCH // (RECORD + 12)
    batch = build_batch(
        [(None, os.urandom(RECORD), 1_700_000_000_000 + i) for i in range(per_batch)]
    )
    return [batch] * (megabytes * 1024 * 1024 // len(batch))


def bench_append(batches: list[bytes], directory: Path) -> float:
    log = Log(directory / "log", LogConfig())
    start = time.perf_counter()
    for batch in batches:
        log.append(batch, 0)
    elapsed = time.perf_counter() - start
    log.close()
    return sum(map(len, batches)) / elapsed / 1e6


def bench_raw_write(batches: list[bytes], path: Path) -> float:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.perf_counter()
    for batch in batches:
        os.write(fd, batch)
    elapsed = time.perf_counter() - start
    os.close(fd)
    return sum(map(len, batches)) / elapsed / 1e6


RAW_SENDER = """
import os, socket, sys
path = sys.argv[1]
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
conn, _ = server.accept()
fd = os.open(path, os.O_RDONLY)
size, offset = os.fstat(fd).st_size, 0
while offset < size:
    offset += os.sendfile(conn.fileno(), fd, offset, size - offset)
conn.close()
"""


def bench_raw_sendfile(path: Path) -> float:
    sender = subprocess.Popen(
        [sys.executable, "-c", RAW_SENDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert sender.stdout is not None
    port = int(sender.stdout.readline())
    sock = socket.create_connection(("127.0.0.1", port))
    buffer = bytearray(1 << 20)
    total = 0
    start = time.perf_counter()
    while n := sock.recv_into(buffer):
        total += n
    elapsed = time.perf_counter() - start
    sender.wait(timeout=30)
    return total / elapsed / 1e6


def bench_broker_fetch(batches: list[bytes], directory: Path) -> float:
    """A consumer as lean as the raw receiver: recv_into one buffer, no record decoding."""
    data_dir = directory / "broker"
    with running_broker(data_dir) as broker:  # the controller creates the topic...
        broker.create_topic("bench")
    log = Log(data_dir / "bench-0", LogConfig())  # ...and its log is filled while it is down
    for batch in batches:
        log.append(batch, 0)
    log.close()
    end_offset = log.log_end_offset
    records_per_batch = BATCH // (RECORD + 12)
    budget = 32 * 1024 * 1024

    def request(offset: int, correlation: int) -> bytes:
        fetch = FetchRequest(
            max_wait_ms=0,
            min_bytes=1,
            max_bytes=budget,
            topics=[
                FetchTopic(
                    topic="bench",
                    partitions=[
                        FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=budget)
                    ],
                )
            ],
        )
        body = chunks_to_bytes(encode_request(RequestHeader(1, 11, correlation, "bench"), fetch))
        return struct.pack(">i", len(body)) + body

    # Everything in a response but its records, measured once from an empty one.
    empty = FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="bench",
                partitions=[PartitionData(partition_index=0, error_code=0, records=b"")],
            )
        ]
    )
    overhead = 4 + len(chunks_to_bytes(empty.encode(11)))
    with running_broker(data_dir) as broker:
        sock = socket.create_connection((broker.host, broker.port))
        view = memoryview(bytearray(budget + 4096))
        offset, total, correlation = 0, 0, 0
        start = time.perf_counter()
        while offset < end_offset:
            correlation += 1
            sock.sendall(request(offset, correlation))
            got = 0
            while got < 4:
                got += sock.recv_into(view[got:4])
            size = struct.unpack_from(">i", view)[0]
            got = 0
            while got < size:
                got += sock.recv_into(view[got:size])
            records = size - overhead + 4
            assert records > 0
            total += records
            offset += records // len(batches[0]) * records_per_batch
        elapsed = time.perf_counter() - start
        sock.close()
    return total / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    batches = make_batches(args.megabytes)
    print(f"{len(batches)} batches of {len(batches[0]) // 1024} KiB ({RECORD} B records)")
    appends, writes, fetches, sendfiles = [], [], [], []
    for round_ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            appends.append(bench_append(batches, Path(tmp)))
            writes.append(bench_raw_write(batches, Path(tmp) / "raw.bin"))
            sendfiles.append(bench_raw_sendfile(Path(tmp) / "raw.bin"))
            fetches.append(bench_broker_fetch(batches, Path(tmp)))
        print(
            f"round {round_ + 1}: append {appends[-1]:.0f}, os.write {writes[-1]:.0f}, "
            f"broker fetch {fetches[-1]:.0f}, raw sendfile {sendfiles[-1]:.0f} MB/s"
        )
    append, write = statistics.median(appends), statistics.median(writes)
    fetch, sendfile = statistics.median(fetches), statistics.median(sendfiles)
    print(f"append via Log.append:     {append:8.1f} MB/s")
    print(
        f"raw os.write:              {write:8.1f} MB/s   ratio {append / write:.2f} (target >= 0.7)"
    )
    print(f"fetch via reflog broker:   {fetch:8.1f} MB/s")
    ratio = fetch / sendfile
    print(f"raw sendfile over loopback:{sendfile:8.1f} MB/s   ratio {ratio:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
