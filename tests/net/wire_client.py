"""A minimal blocking client built from reflog's wire classes, for poking a broker."""

from __future__ import annotations

import socket
import struct

from reflog.wire.apis import API_TABLE, Api, decode_response, encode_request
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from reflog.wire.schema import Request, Response


class WireClient:
    def __init__(self, address: str, timeout: float = 10, apis: dict[int, Api] = API_TABLE) -> None:
        self.apis = apis
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self._correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, request: Request, version: int | None = None) -> tuple[int, int, int]:
        """Send a request; return (api_key, version, correlation_id) to read its answer."""
        self._correlation_id += 1
        v = type(request).MAX_VERSION if version is None else version
        header = RequestHeader(request.API_KEY, v, self._correlation_id, "reflog-tests")
        body = chunks_to_bytes(encode_request(header, request))
        self.sock.sendall(struct.pack(">i", len(body)) + body)
        return request.API_KEY, v, self._correlation_id

    def read_frame(self) -> bytes:
        size = struct.unpack(">i", self._read_exactly(4))[0]
        return self._read_exactly(size)

    def receive(self, sent: tuple[int, int, int]) -> Response:
        api_key, version, correlation_id = sent
        header, body = decode_response(api_key, version, self.read_frame(), self.apis)
        assert header.correlation_id == correlation_id
        return body

    def call(self, request: Request, version: int | None = None) -> Response:
        return self.receive(self.send(request, version))

    def is_closed_by_peer(self) -> bool:
        """True once the broker has closed this connection (EOF or reset)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return True

    def _read_exactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return bytes(data)


def create_topic(client: WireClient, topic: str, timeout: float = 10) -> None:
    """Have the broker auto-create ``topic`` as a client does: ask Metadata for it until
    the controller has created it and every partition has a leader."""
    from tests.cluster_process import wait_for

    def led() -> bool:
        response = client.call(MetadataRequest(topics=[MetadataRequestTopic(name=topic)]))
        assert isinstance(response, MetadataResponse)
        [answer] = response.topics
        assert answer.error_code in (ErrorCode.NONE, ErrorCode.LEADER_NOT_AVAILABLE)
        return answer.error_code == ErrorCode.NONE and all(
            p.error_code == ErrorCode.NONE for p in answer.partitions
        )

    wait_for(led, timeout, f"topic {topic} to be created")
