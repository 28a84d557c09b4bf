# %% [markdown]
# # Zero-copy reads: sendfile and the page cache
#
# Kafka serves consumers fast because a fetch never copies record bytes through the broker's own
# memory. The log is a file; the records a consumer asks for are a **byte range** of it; the
# broker asks the kernel to send that range straight from the page cache to the socket
# (`sendfile(2)`). A read-then-send path would copy every byte into the process and back out.
#
# Here a reflog broker of the **network runtime** runs inside this kernel on a real loopback
# socket, and a consumer fetches the same data twice: once with `sendfile`, once through a
# read-then-send path that the server can switch to for this comparison. The timings are this
# machine's and vary from run to run; the checks printed as text do not.

# %%
import os
import socket
import struct
import tempfile
import time
from pathlib import Path

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.net.server import BrokerServer
from reflog.records import build_batch, iter_batches
from reflog.wire.apis import decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

data_dir = Path(tempfile.mkdtemp(prefix="reflog-zero-copy-"))
broker = Broker(BrokerConfig(node_id=0, log_dir=data_dir))
broker.create_topic("clicks", 1)
log = broker.logs.get(("clicks", 0))
batch = build_batch([(None, bytes(1000), i) for i in range(60)])
for _ in range(1000):  # about 60 MB
    log.append(batch, 0)
log.flush()
server = BrokerServer(broker, "127.0.0.1", 0)
port = await server.start()
print(f"broker listening on 127.0.0.1; {log.log_end_offset} records, "
      f"{log.size_in_bytes // 1_000_000} MB in {len(log.segments)} segment(s)")


# %%
def fetch_all(budget=16 * 1024 * 1024):
    """Fetch the whole partition over a real socket; return the bytes of the record sets."""
    sock = socket.create_connection(("127.0.0.1", port))
    offset, correlation, chunks = 0, 0, []
    while offset < log.log_end_offset:
        correlation += 1
        partition = FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=budget)
        request = FetchRequest(
            max_wait_ms=0,
            max_bytes=budget,
            topics=[FetchTopic(topic="clicks", partitions=[partition])],
        )
        body = chunks_to_bytes(encode_request(RequestHeader(1, 11, correlation, "nb"), request))
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _exactly(sock, 4))[0]
        _, response = decode_response(1, 11, _exactly(sock, size))
        records = response.responses[0].partitions[0].records
        chunks.append(records)
        offset = list(iter_batches(records))[-1].next_offset
    sock.close()
    return b"".join(chunks)

def _exactly(sock, n):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        got += sock.recv_into(view[got:])
    return bytes(buf)

async def timed(zero_copy):
    import asyncio
    server.zero_copy = zero_copy
    started, cpu = time.perf_counter(), time.process_time()
    data = await asyncio.to_thread(fetch_all)
    return data, time.perf_counter() - started, time.process_time() - cpu

with_sendfile, t_zero, cpu_zero = await timed(True)
with_copy, t_copy, cpu_copy = await timed(False)
print("both paths delivered the same bytes:", with_sendfile == with_copy)
print("every batch arrived intact:", all(b.is_valid() for b in iter_batches(with_sendfile)))

# %% [markdown]
# ## What the broker read into Python
#
# Counting every byte the process reads from files while serving one full fetch: with `sendfile`,
# only batch *headers* are read (to find where the requested offsets start and end); the records
# never enter Python. With read-then-send, every record byte is read.

# %%
import asyncio

real_pread, real_read = os.pread, os.read

async def bytes_read_while_fetching(zero_copy):
    counted = 0
    def pread(fd, n, offset):
        nonlocal counted
        data = real_pread(fd, n, offset)
        counted += len(data)
        return data
    def read(fd, n):
        nonlocal counted
        data = real_read(fd, n)
        counted += len(data)
        return data
    server.zero_copy = zero_copy
    os.pread, os.read = pread, read
    try:
        await asyncio.to_thread(fetch_all)
    finally:
        os.pread, os.read = real_pread, real_read
    return counted

total = log.size_in_bytes
zero_copy_reads = await bytes_read_while_fetching(True)
copy_reads = await bytes_read_while_fetching(False)
print(f"sendfile path: read only batch headers into Python: {zero_copy_reads < total / 100}")
print(f"read-then-send path: read every record byte into Python: {copy_reads >= total}")

# %% tags=["nbval-ignore-output"]
import plotly.graph_objects as go

mb = len(with_sendfile) / 1e6
figure = go.FigureWidget(
    data=[
        go.Bar(name="MB/s", x=["sendfile", "read then send"], y=[mb / t_zero, mb / t_copy],
               yaxis="y"),
        go.Bar(name="CPU ms per MB", x=["sendfile", "read then send"],
               y=[1e3 * cpu_zero / mb, 1e3 * cpu_copy / mb], yaxis="y2"),
    ],
    layout=go.Layout(title="One consumer fetching the whole partition over loopback",
                     barmode="group", yaxis={"title": "MB/s"},
                     yaxis2={"title": "CPU ms per MB", "overlaying": "y", "side": "right"},
                     height=380),
)
figure


# %% [markdown]
# ## The page cache: cold and warm
#
# `sendfile` copies from the **page cache**. Right after the broker wrote the log, its pages are
# in memory ("warm"); after `posix_fadvise(POSIX_FADV_DONTNEED)` evicts them ("cold"), the first
# fetch must go to the disk. Kafka relies on this: recent data — what most consumers read — is
# served from memory without the broker caching anything itself.

# %% tags=["nbval-ignore-output"]
def evict_page_cache():
    for segment in log.segments:
        fd = os.open(segment.log_path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)

server.zero_copy = True
evict_page_cache()
_, t_cold, _ = await timed(True)
_, t_warm, _ = await timed(True)
print(f"cold (from disk): {mb / t_cold:8.0f} MB/s")
print(f"warm (page cache): {mb / t_warm:7.0f} MB/s")

# %%
await server.stop()
print("broker stopped")
