"""Produce throughput of one `reflog broker` process over loopback, next to the machine's limit.

Both figures are measured in the same run on the same bytes:

* broker: 1 KiB records in 64 KiB batches, acks=1; each Produce request carries one batch for
  each of 16 partitions (1 MiB, Kafka's default max.request.size, as a producer under load
  sends), pipelined over one connection (prebuilt: this measures the broker, not a client);
* raw:    the same request bytes copied from a socket into a file by a minimal Python server
  (recv_into + write): what any Python broker reading sockets into files could at best do;
* idempotent: the broker again, with the batches an idempotent producer sends (a producer id
  from InitProducerId, epoch 0, the next sequence number per partition), which the broker
  checks against its producer-state table before appending;
* transactional: the broker again, with a transactional producer's batches (producer id and
  epoch from its transaction coordinator, the transactional flag set) in transactions
  committed every 100 ms, as a producer calling commit_transaction on a 100 ms timer: at each
  commit the requests in flight are answered first, then EndTxn, then AddPartitionsToTxn
  for the 16 partitions of the next transaction (sent again after 20 ms while the last
  one's markers are still being written: CONCURRENT_TRANSACTIONS, as Kafka's producer does);
* layout: the same copy, but each request's 16 record sets appended to 16 files, as a log per
  partition lays them out (no checks, no answers): where the raw copy's figure drops before a
  broker does any work of its own. The target is against raw; this line explains the gap.

Before measuring, a file twice a round's size is written and deleted: on a virtual machine the
first write into memory the guest has never touched runs several times slower (the host backs
it only then), and whichever measurement came first would pay for it.

The idempotent figure is judged by the broker process's CPU time per gigabyte (from
/proc/PID/stat) next to the plain one's: on a machine shared with other work, one process's
wall-clock throughput varies from run to run by more than the 10% being measured.

Run: `.venv/bin/python benchmarks/produce.py [--megabytes 512] [--rounds 5]`.
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
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reflog.records import build_batch
from reflog.records.batch import NO_PRODUCER_ID
from reflog.wire.apis import decode_request, decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.find_coordinator import (
    TRANSACTION_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from reflog.wire.messages.transactions import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnTopic,
    EndTxnRequest,
    EndTxnResponse,
)
from tests.broker_process import running_broker
from tests.net.wire_client import WireClient

RECORD = 1024
BATCH = 64 * 1024
PARTITIONS = 16
WINDOW = 4  # requests in flight on the connection
COMMIT_INTERVAL_S = 0.1  # the transactional run commits every 100 ms
TRANSACTIONAL_ID = "bench"


Records = list[tuple[None, bytes, int]]


def batch_records() -> Records:
    """One 64 KiB batch's records: 1 KiB values."""
    return [
        (None, os.urandom(RECORD), 1_700_000_000_000 + i) for i in range(BATCH // (RECORD + 12))
    ]


def produce_frames(
    count: int,
    records: Records,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = 0,
    transactional_id: str | None = None,
) -> list[bytes]:
    """``count`` Produce requests, each one 64 KiB batch for every partition (1 MiB, Kafka's
    default max.request.size): what a producer under load sends to a broker. With a
    ``producer_id``, as an idempotent producer sends them: each batch stamped with the id,
    the epoch and the partition's next sequence number; with a ``transactional_id`` too,
    as a transactional producer's (the batches flagged transactional)."""
    batch = build_batch(records)
    partitions = [PartitionProduceData(index=p, records=batch) for p in range(PARTITIONS)]
    frames = []
    for i in range(count):
        if producer_id != NO_PRODUCER_ID:  # the same records, under the i-th sequence
            batch = build_batch(
                records,
                producer_id=producer_id,
                producer_epoch=producer_epoch,
                base_sequence=i * len(records),
                is_transactional=transactional_id is not None,
            )
            partitions = [PartitionProduceData(index=p, records=batch) for p in range(PARTITIONS)]
        request = ProduceRequest(
            transactional_id=transactional_id,
            acks=1,
            timeout_ms=30_000,
            topic_data=[TopicProduceData(name="bench", partition_data=partitions)],
        )
        body = chunks_to_bytes(encode_request(RequestHeader(0, 7, i, "bench"), request))
        frames.append(struct.pack(">i", len(body)) + body)
    return frames


def read_frame(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return bytes(data)

    return exactly(struct.unpack(">i", exactly(4))[0])


def init_producer_id(bootstrap: str) -> int:
    """A producer id from the broker, as an idempotent producer asks for one first."""
    client = WireClient(bootstrap)
    try:
        answer = client.call(InitProducerIdRequest(transaction_timeout_ms=60_000), version=1)
    finally:
        client.close()
    assert isinstance(answer, InitProducerIdResponse) and answer.error_code == 0, answer
    return answer.producer_id


class Transactions:
    """The transactional producer's requests to its coordinator (the same broker), on a
    connection of their own."""

    def __init__(self, bootstrap: str) -> None:
        self.client = WireClient(bootstrap)
        self.commits = 0
        # The first FindCoordinator creates __transaction_state; asked until it is led.
        deadline = time.monotonic() + 60
        while True:
            found = self.client.call(
                FindCoordinatorRequest(key=TRANSACTIONAL_ID, key_type=TRANSACTION_KEY_TYPE)
            )
            assert isinstance(found, FindCoordinatorResponse)
            init = (
                self.client.call(
                    InitProducerIdRequest(
                        transactional_id=TRANSACTIONAL_ID, transaction_timeout_ms=60_000
                    )
                )
                if found.error_code == ErrorCode.NONE
                else None
            )
            if isinstance(init, InitProducerIdResponse) and init.error_code == ErrorCode.NONE:
                self.producer_id, self.producer_epoch = init.producer_id, init.producer_epoch
                break
            assert time.monotonic() < deadline, f"no transaction coordinator: {found} {init}"
            time.sleep(0.1)

    def begin(self) -> None:
        """Register every partition in the next transaction (AddPartitionsToTxn)."""
        request = AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=TRANSACTIONAL_ID,
            v3_and_below_producer_id=self.producer_id,
            v3_and_below_producer_epoch=self.producer_epoch,
            v3_and_below_topics=[AddPartitionsToTxnTopic("bench", list(range(PARTITIONS)))],
        )
        while True:
            answer = self.client.call(request)
            assert isinstance(answer, AddPartitionsToTxnResponse)
            codes = {
                p.partition_error_code
                for t in answer.results_by_topic_v3_and_below
                for p in t.results_by_partition
            }
            if codes == {ErrorCode.NONE}:
                return
            # The last transaction's markers are still being written.
            assert codes == {ErrorCode.CONCURRENT_TRANSACTIONS}, codes
            time.sleep(0.02)  # Kafka's producer retries AddPartitionsToTxn after 20 ms

    def commit(self) -> None:
        request = EndTxnRequest(
            transactional_id=TRANSACTIONAL_ID,
            producer_id=self.producer_id,
            producer_epoch=self.producer_epoch,
            committed=True,
        )
        answer = self.client.call(request)
        assert isinstance(answer, EndTxnResponse) and answer.error_code == ErrorCode.NONE, answer
        self.commits += 1


class BrokerRun(NamedTuple):
    mb_per_s: float  # wall clock: what a client sees, and what a busy machine disturbs
    cpu_s_per_gb: float  # the broker process's own CPU time: what its code costs
    commits: int = 0  # transactions committed (the transactional run)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


FrameMaker = Callable[[str, "Transactions | None"], list[bytes]]


def bench_broker(make_frames: FrameMaker, data_dir: Path, transactional: bool = False) -> BrokerRun:
    """A fresh broker taking the frames ``make_frames(its bootstrap, transactions)`` gives
    (built before the clock starts: an idempotent producer's need the broker's producer id).
    With ``transactional``, in transactions committed every 100 ms, whose producer id and
    epoch ``transactions`` has."""
    with running_broker(data_dir, "--num-partitions", str(PARTITIONS)) as broker:
        broker.create_topic("bench")  # auto-created through Metadata, by the controller
        txns = Transactions(broker.bootstrap) if transactional else None
        frames = make_frames(broker.bootstrap, txns)
        sock = socket.create_connection((broker.host, broker.port))
        cpu_before = cpu_seconds(broker.process.pid)
        start = began = time.perf_counter()
        if txns is not None:
            txns.begin()
        sent = received = 0
        while received < len(frames):
            committing = txns is not None and time.perf_counter() - began >= COMMIT_INTERVAL_S
            while sent < len(frames) and sent - received < WINDOW and not committing:
                sock.sendall(frames[sent])
                sent += 1
            if committing and sent == received:  # every batch of the transaction answered
                assert txns is not None
                txns.commit()
                txns.begin()
                began = time.perf_counter()
                continue
            response = read_frame(sock)
            _, body = decode_response(0, 7, response)
            assert isinstance(body, ProduceResponse)
            errors = [p.error_code for t in body.responses for p in t.partition_responses]
            assert errors == [0] * PARTITIONS, f"produce failed: {errors}"
            received += 1
        if txns is not None:
            txns.commit()  # the last records count once they are committed
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(broker.process.pid) - cpu_before
        sock.close()
    total = sum(map(len, frames))
    return BrokerRun(
        total / elapsed / 1e6, cpu / (total / 1e9), 0 if txns is None else txns.commits
    )


def record_set_spans(frame: bytes) -> list[tuple[int, int]]:
    """Where each partition's record set lies in a Produce frame (after its size prefix)."""
    request = decode_request(bytearray(frame[4:]), borrow_records=True).body
    assert isinstance(request, ProduceRequest)
    body, spans = frame[4:], []
    for pdata in request.topic_data[0].partition_data:
        assert isinstance(pdata.records, memoryview)
        start = body.find(bytes(pdata.records), spans[-1][1] if spans else 0)
        spans.append((start, start + len(pdata.records)))
    return spans


RAW_SINK = """
import os, socket, sys
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
total, path = int(sys.argv[1]), sys.argv[2]
conn, _ = server.accept()
view = memoryview(bytearray(1 << 20))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
got = 0
while got < total:
    n = conn.recv_into(view)
    if not n:
        break
    os.write(fd, view[:n])
    got += n
conn.sendall(b"k")
"""


LAYOUT_SINK = """
import os, socket, struct, sys
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
total, directory = int(sys.argv[1]), sys.argv[2]
spans = [tuple(map(int, span.split(":"))) for span in sys.argv[3].split(",")]
fds = [os.open(f"{directory}/{i}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
       for i in range(len(spans))]
conn, _ = server.accept()

def receive(view):
    got = 0
    while got < len(view):
        got += conn.recv_into(view[got:])

got = 0
prefix, buffer = bytearray(4), memoryview(bytearray(1 << 21))
while got < total:
    receive(memoryview(prefix))
    body = buffer[: struct.unpack(">i", prefix)[0]]
    receive(body)
    for fd, (start, end) in zip(fds, spans):
        os.writev(fd, [body[start:end]])
    got += 4 + len(body)
conn.sendall(b"k")
"""


def bench_raw_copy(frames: list[bytes], path: Path) -> float:
    """The same bytes, socket to file, by a minimal server process (the machine's limit)."""
    return _bench_sink(frames, RAW_SINK, str(path))


def bench_layout_copy(frames: list[bytes], directory: Path) -> float:
    """The same bytes, socket to one file per partition, as a log lays them out."""
    directory.mkdir()
    spans = ",".join(f"{start}:{end}" for start, end in record_set_spans(frames[0]))
    return _bench_sink(frames, LAYOUT_SINK, str(directory), spans)


def warm_page_cache(path: Path, megabytes: int) -> None:
    """Write and delete ``megabytes``: the pages the measurements will fill are then ones the
    virtual machine has touched before (see the module docstring)."""
    chunk = os.urandom(1 << 20)
    with path.open("wb") as f:
        for _ in range(megabytes):
            f.write(chunk)
    path.unlink()


def _bench_sink(frames: list[bytes], sink_code: str, *sink_args: str) -> float:
    """MB/s of sending ``frames`` to a sink process that answers one byte when all is in."""
    total = sum(map(len, frames))
    sink = subprocess.Popen(
        [sys.executable, "-c", sink_code, str(total), *sink_args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    client = socket.create_connection(("127.0.0.1", port))
    start = time.perf_counter()
    for frame in frames:
        client.sendall(frame)
    client.recv(1)
    elapsed = time.perf_counter() - start
    client.close()
    sink.wait(timeout=30)
    return total / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    records = batch_records()
    count = max(1, args.megabytes * 1024 * 1024 // (BATCH * PARTITIONS))
    frames = produce_frames(count, records)

    def plain_frames(bootstrap: str, txns: Transactions | None) -> list[bytes]:
        return frames

    def idempotent_frames(bootstrap: str, txns: Transactions | None) -> list[bytes]:
        return produce_frames(count, records, init_producer_id(bootstrap))

    def transactional_frames(bootstrap: str, txns: Transactions | None) -> list[bytes]:
        assert txns is not None
        return produce_frames(
            count, records, txns.producer_id, txns.producer_epoch, TRANSACTIONAL_ID
        )

    batch_kib = BATCH // 1024
    print(
        f"{len(frames)} Produce requests, each a {batch_kib} KiB batch of {RECORD} B records "
        f"for each of {PARTITIONS} partitions"
    )
    with tempfile.TemporaryDirectory() as tmp:
        warm_page_cache(Path(tmp) / "warm.bin", 2 * sum(map(len, frames)) >> 20)
    raws: list[float] = []
    layouts: list[float] = []
    brokers: list[BrokerRun] = []
    idempotents: list[BrokerRun] = []
    transactionals: list[BrokerRun] = []
    for round_ in range(args.rounds):  # alternate, so all see the same machine state
        with tempfile.TemporaryDirectory() as tmp:
            raws.append(bench_raw_copy(frames, Path(tmp) / "raw.bin"))
            layouts.append(bench_layout_copy(frames, Path(tmp) / "layout"))
            # Plain, idempotent and transactional take turns going first: none always meets
            # the state (page cache, a busy neighbour) another left behind.
            runs = [
                (brokers, plain_frames, "broker", False),
                (idempotents, idempotent_frames, "idempotent", False),
                (transactionals, transactional_frames, "transactional", True),
            ]
            turn = round_ % len(runs)
            for figures, make_frames, name, transactional in runs[turn:] + runs[:turn]:
                figures.append(bench_broker(make_frames, Path(tmp) / name, transactional))
        print(
            f"round {round_ + 1}: raw {raws[-1]:7.1f} MB/s, layout {layouts[-1]:7.1f} MB/s, "
            f"broker {brokers[-1].mb_per_s:7.1f} MB/s, ratio "
            f"{brokers[-1].mb_per_s / raws[-1]:.2f}, idempotent "
            f"{idempotents[-1].mb_per_s:7.1f} MB/s, transactional "
            f"{transactionals[-1].mb_per_s:7.1f} MB/s ({transactionals[-1].commits} commits); "
            f"broker CPU per GB: plain {brokers[-1].cpu_s_per_gb:.2f} s, idempotent "
            f"{idempotents[-1].cpu_s_per_gb:.2f} s, transactional "
            f"{transactionals[-1].cpu_s_per_gb:.2f} s"
        )
    raw, layout = statistics.median(raws), statistics.median(layouts)
    broker = statistics.median(r.mb_per_s for r in brokers)
    idempotent = statistics.median(r.mb_per_s for r in idempotents)
    print(f"raw socket-to-file copy (median):        {raw:8.1f} MB/s")
    print(
        f"the same into {PARTITIONS} partition files (median): {layout:8.1f} MB/s"
        f"   ({layout / raw:.2f} of raw)"
    )
    print(f"reflog broker, acks=1 (median):          {broker:8.1f} MB/s")
    print(f"ratio broker / raw:                      {broker / raw:8.2f}   (target >= 0.5)")
    print(
        f"reflog broker, idempotent batches (median): {idempotent:8.1f} MB/s"
        f"   ({1 - idempotent / broker:.0%} slower than plain)"
    )
    transactional_mb = statistics.median(r.mb_per_s for r in transactionals)
    commits = statistics.median(r.commits for r in transactionals)
    print(
        f"reflog broker, transactional, commit every {COMMIT_INTERVAL_S * 1000:.0f} ms (median): "
        f"{transactional_mb:8.1f} MB/s   ({1 - transactional_mb / broker:.0%} slower than plain, "
        f"{commits:.0f} commits a run)"
    )
    # The target is judged on the broker's CPU time per byte: on a machine shared with other
    # work the wall clock of a single process varies by more than the cost being measured.
    plain_cpu = statistics.median(r.cpu_s_per_gb for r in brokers)
    idempotent_cpu = statistics.median(r.cpu_s_per_gb for r in idempotents)
    cost = idempotent_cpu / plain_cpu - 1
    verdict = "met" if cost <= 0.10 else "NOT MET"
    print(
        f"broker CPU per GB (median): plain {plain_cpu:.2f} s, idempotent {idempotent_cpu:.2f} s"
        f"   (idempotence costs {cost:+.0%}; target <= 10%: {verdict})"
    )
    transactional_cpu = statistics.median(r.cpu_s_per_gb for r in transactionals)
    print(
        f"broker CPU per GB (median): transactional {transactional_cpu:.2f} s"
        f"   (transactions cost {transactional_cpu / plain_cpu - 1:+.0%} over plain)"
    )


if __name__ == "__main__":
    main()
