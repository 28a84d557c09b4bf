"""A fetch response carries on-disk record batches as file slices, never copied into bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from reflog.records import FileSlice, build_batch
from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import decode_response, encode_response
from reflog.wire.codec import Reader, chunks_size, chunks_to_bytes
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import FetchableTopicResponse, FetchResponse, PartitionData
from reflog.wire.schema import RecordsValue

FIRST = build_batch([(b"k", b"v" * 100, 1)])
SECOND = build_batch([(b"k2", b"w" * 50, 2)], base_offset=1)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[IO[bytes]]:
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(b"x" * 10 + FIRST + SECOND)
    with open(path, "rb") as f:
        yield f


def fetch_response(first: RecordsValue, second: RecordsValue) -> FetchResponse:
    return FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="t",
                partitions=[
                    PartitionData(partition_index=0, error_code=0, high_watermark=1, records=first),
                    PartitionData(
                        partition_index=1, error_code=0, high_watermark=2, records=second
                    ),
                ],
            )
        ]
    )


@pytest.mark.parametrize("version", [0, 4, 11])
def test_a_file_slice_is_its_own_chunk_and_reads_back_like_bytes(
    log_file: IO[bytes], version: int
) -> None:
    first = FileSlice(log_file, 10, len(FIRST))
    second = FileSlice(log_file, 10 + len(FIRST), len(SECOND))
    chunks = fetch_response(first, second).encode(version)

    # Both slices are handed over as they are (for sendfile), each between byte chunks.
    slices = [c for c in chunks if isinstance(c, FileSlice)]
    assert slices == [first, second] and slices[0] is first and slices[1] is second
    assert not any(isinstance(c, bytes) and (FIRST in c or SECOND in c) for c in chunks)

    in_memory = chunks_to_bytes(fetch_response(FIRST, SECOND).encode(version))
    assert chunks_to_bytes(chunks) == in_memory
    assert chunks_size(chunks) == len(in_memory)
    decoded = FetchResponse.decode(Reader(chunks_to_bytes(chunks)), version)
    assert [p.records for p in decoded.responses[0].partitions] == [FIRST, SECOND]


def test_a_whole_response_frame_keeps_the_slice_out_of_the_header_bytes(
    log_file: IO[bytes],
) -> None:
    first = FileSlice(log_file, 10, len(FIRST))
    chunks = encode_response(RequestHeader(ApiKey.FETCH, 11, 42, "c"), fetch_response(first, b""))
    assert any(c is first for c in chunks)
    header, body = decode_response(ApiKey.FETCH, 11, chunks_to_bytes(chunks))
    assert header.correlation_id == 42
    assert isinstance(body, FetchResponse)
    assert [p.records for p in body.responses[0].partitions] == [FIRST, b""]
