"""Serving a fetch sends record bytes with os.sendfile: none of them is read into Python.

The broker may read batch *headers* (61 bytes each) to find where a read starts and ends;
the records themselves must go from the page cache to the socket inside the kernel.
"""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import pytest

from reflog.net.local_cluster import LocalCluster
from reflog.records import HEADER_SIZE, build_batch, iter_batches
from reflog.wire.apis import decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic
from reflog.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from reflog.wire.schema import Request, Response


class ByteCounter:
    def __init__(self) -> None:
        self.read_bytes = 0
        self.read_calls = 0
        self.sendfile_bytes = 0


async def call(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: Request,
    correlation_id: int,
) -> Response:
    header = RequestHeader(
        request.API_KEY, type(request).MAX_VERSION, correlation_id, "zero-copy-test"
    )
    body = chunks_to_bytes(encode_request(header, request))
    writer.write(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    _, response = decode_response(
        request.API_KEY, header.api_version, await reader.readexactly(size)
    )
    return response


def test_a_fetch_sends_records_with_sendfile_and_reads_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = ByteCounter()
    real_pread, real_read, real_sendfile = os.pread, os.read, os.sendfile

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        data = real_pread(fd, n, offset)
        counter.read_bytes += len(data)
        counter.read_calls += 1
        return data

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        counter.read_bytes += len(data)
        return data

    def counting_sendfile(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent = real_sendfile(out_fd, in_fd, offset, count)
        counter.sendfile_bytes += sent
        return sent

    batches = [
        build_batch([(b"k%d" % i, os.urandom(1000), i) for _ in range(16)]) for i in range(64)
    ]

    async def scenario() -> tuple[int, bytes]:
        cluster = LocalCluster(brokers=1, data_dir=tmp_path)
        await cluster.start()
        await cluster.create_topic("t", 1)
        reader, writer = await asyncio.open_connection(*cluster.bootstrap_servers.split(":"))
        for i, batch in enumerate(batches):
            produce = ProduceRequest(
                acks=1,
                timeout_ms=1000,
                topic_data=[
                    TopicProduceData(
                        name="t", partition_data=[PartitionProduceData(index=0, records=batch)]
                    )
                ],
            )
            await call(reader, writer, produce, i)
        monkeypatch.setattr(os, "pread", counting_pread)
        monkeypatch.setattr(os, "read", counting_read)
        monkeypatch.setattr(os, "sendfile", counting_sendfile)
        fetch = FetchRequest(
            max_wait_ms=0,
            min_bytes=1,
            max_bytes=50_000_000,
            topics=[
                FetchTopic(
                    topic="t",
                    partitions=[
                        FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=50_000_000)
                    ],
                )
            ],
        )
        response = await call(reader, writer, fetch, 999)
        monkeypatch.undo()
        stats = cluster.sendfile_bytes(1)
        writer.close()
        await cluster.stop()
        assert isinstance(response, FetchResponse)
        records = response.responses[0].partitions[0].records
        assert isinstance(records, bytes)
        # The server's own count says the same: all to a consumer, none to a follower.
        assert stats.consumer_sendfile_bytes == counter.sendfile_bytes
        assert stats.follower_sendfile_bytes == 0
        return counter.sendfile_bytes, records

    sent, records = asyncio.run(scenario())
    stored = b"".join(batches)
    assert len(records) == len(stored)
    # The client got every batch intact (with the offsets the broker assigned).
    got = list(iter_batches(records, allow_partial_tail=False))
    assert len(got) == len(batches)
    for b in got:
        b.validate()
    # The record bytes went through sendfile...
    assert sent >= len(stored)
    # ...and what Python read of the log was batch headers at most, never records.
    assert counter.read_bytes <= counter.read_calls * HEADER_SIZE
    assert counter.read_bytes < len(stored) / 20


@pytest.mark.parametrize("batches", [1, 6])  # sent at once / mostly left to the write loop
def test_a_log_cut_short_under_a_read_closes_the_connection_instead_of_a_short_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batches: int
) -> None:
    # The size prefix promises the slice's bytes; if the file ends first (truncated between
    # the read and the send), the client would lose its place in the stream.
    from reflog.records.file_slice import FileSlice
    from reflog.storage.segment import LogSegment

    real_read = LogSegment.read

    def read_past_the_end(
        segment: LogSegment, offset: int, max_bytes: int, max_offset: int | None = None
    ) -> FileSlice | None:
        found = real_read(segment, offset, max_bytes, max_offset)
        if found is None:
            return None
        return FileSlice(found.file, found.position, found.length + 1000)

    batch = build_batch([(b"k", os.urandom(1024), 1) for _ in range(900)])

    async def scenario() -> bytes:
        cluster = LocalCluster(brokers=1, data_dir=tmp_path)
        await cluster.start()
        await cluster.create_topic("t", 1)
        reader, writer = await asyncio.open_connection(*cluster.bootstrap_servers.split(":"))
        produce = ProduceRequest(
            acks=1,
            timeout_ms=1000,
            topic_data=[
                TopicProduceData(name="t", partition_data=[PartitionProduceData(0, batch)])
            ],
        )
        for i in range(batches):
            await call(reader, writer, produce, i)
        monkeypatch.setattr(LogSegment, "read", read_past_the_end)
        partition = FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=50_000_000)
        fetch = FetchRequest(
            max_wait_ms=0,
            min_bytes=1,
            max_bytes=50_000_000,
            topics=[FetchTopic(topic="t", partitions=[partition])],
        )
        header = RequestHeader(fetch.API_KEY, FetchRequest.MAX_VERSION, 99, "test")
        body = chunks_to_bytes(encode_request(header, fetch))
        writer.write(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        got = await asyncio.wait_for(reader.read(), timeout=10)  # until the broker closes
        writer.close()
        await cluster.stop()
        assert len(got) < size  # the promised bytes never came: the connection was closed
        return got

    asyncio.run(scenario())
