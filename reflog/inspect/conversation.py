"""One client connection through the inspector, without I/O: frames in, what they say out.

A :class:`Conversation` sees each request frame the client sends and each response frame the
broker sends back, in order, and turns each into a :class:`WireEvent` (one line of the
inspector's output). It remembers the requests in flight by correlation id: a response carries
only its correlation id, so its API, version and round-trip time come from its request.

It decodes with ``reflog.wire``'s broker API table; a request of an API or version reflog does
not decode is still named (Kafka's API name, its version, correlation and client id: the
request header reads the same for every API) and passed through unaltered, and so is its
response. A frame that does not decode is reported as bad and passed through.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from reflog.inspect.api_names import api_name
from reflog.inspect.describe import errors_in, summarize, to_json
from reflog.records.file_slice import FileSlice
from reflog.wire.api_keys import ApiKey
from reflog.wire.apis import API_TABLE, Api, decode_request, decode_response, encode_response
from reflog.wire.codec import Reader
from reflog.wire.errors import UnsupportedApiError, WireDecodeError
from reflog.wire.headers import RequestHeader
from reflog.wire.schema import Response

__all__ = ["Conversation", "Direction", "InFlight", "ResponseSeen", "WireEvent", "encode_body"]

Direction = Literal["request", "response"]


@dataclass(frozen=True)
class WireEvent:
    """One request or response as the inspector saw it."""

    connection: int
    direction: Direction
    at_ms: float
    api_key: int
    api: str  # "Produce", or Kafka's name for an API reflog does not decode
    api_version: int
    correlation_id: int
    client_id: str | None
    size: int  # bytes in the frame, after its size prefix
    summary: str = ""  # the fields that matter, when decoded
    errors: tuple[str, ...] = ()  # non-zero error codes anywhere in it, by name
    body: dict[str, Any] | None = None  # every field, JSON-ready, when decoded
    problem: str = ""  # why it was not decoded ("" when it was)
    rtt_ms: float | None = None  # responses: since the request reached the inspector
    fault: str = ""  # what the inspector did to it: dropped, delayed, rewrote addresses

    @property
    def decoded(self) -> bool:
        return self.body is not None

    def line(self) -> str:
        arrow = "→" if self.direction == "request" else "←"
        head = f"[{self.connection}] {arrow} {self.api} v{self.api_version} #{self.correlation_id}"
        parts = [head]
        if self.direction == "request" and self.client_id:
            parts.append(f"client={self.client_id}")
        if self.rtt_ms is not None:
            parts.append(f"{self.rtt_ms:.1f} ms")
        if self.summary:
            parts.append(self.summary)
        if self.problem:
            parts.append(f"({self.problem})")
        if self.fault:
            parts.append(f"[{self.fault}]")
        return " ".join(parts)

    def json(self) -> str:
        return json.dumps(dataclasses.asdict(self), default=str)


@dataclass(frozen=True)
class InFlight:
    """A request forwarded to the broker and not yet answered."""

    header: RequestHeader
    at_ms: float


@dataclass(frozen=True)
class ResponseSeen:
    event: WireEvent
    request: InFlight | None  # None: a response to no request the inspector forwarded
    body: Response | None  # decoded, when reflog.wire knows the API and version


class Conversation:
    def __init__(self, connection: int, apis: dict[int, Api] = API_TABLE) -> None:
        self.connection = connection
        self.apis = apis
        self.in_flight: dict[int, InFlight] = {}

    # -- requests ----------------------------------------------------------------------
    def on_request(self, frame: bytes | bytearray | memoryview, now_ms: float) -> WireEvent:
        """A request the client sent; call :meth:`forwarded` if it goes on to the broker."""
        try:
            header = _read_request_header(frame)
        except WireDecodeError as exc:
            return self.bad(len(frame), now_ms, "request", f"bad request header: {exc}")
        event = WireEvent(
            self.connection,
            "request",
            now_ms,
            header.api_key,
            api_name(header.api_key),
            header.api_version,
            header.correlation_id,
            header.client_id,
            len(frame),
        )
        try:
            decoded = decode_request(frame, self.apis)
        except UnsupportedApiError:
            return dataclasses.replace(event, problem="not decoded: reflog.wire lacks it")
        except WireDecodeError as exc:
            return dataclasses.replace(event, problem=f"bad frame: {exc}")
        body = decoded.body
        return dataclasses.replace(
            event, summary=summarize(body), errors=tuple(errors_in(body)), body=to_json(body)
        )

    def forwarded(self, event: WireEvent) -> None:
        """The request went on to the broker: its response is awaited (a Produce with
        acks=0 gets none)."""
        if event.api_key < 0:
            return  # a request without a readable header: no response can be matched to it
        if event.api_key == ApiKey.PRODUCE and event.body is not None and event.body["acks"] == 0:
            return
        header = RequestHeader(
            event.api_key, event.api_version, event.correlation_id, event.client_id
        )
        self.in_flight[event.correlation_id] = InFlight(header, event.at_ms)

    # -- responses ---------------------------------------------------------------------
    def on_response(self, frame: bytes | bytearray | memoryview, now_ms: float) -> ResponseSeen:
        if len(frame) < 4:
            return ResponseSeen(
                self.bad(len(frame), now_ms, "response", "shorter than a header"), None, None
            )
        correlation_id = Reader(frame).int32()
        request = self.in_flight.pop(correlation_id, None)
        if request is None:
            problem = f"answers no request in flight (correlation id {correlation_id})"
            return ResponseSeen(self.bad(len(frame), now_ms, "response", problem), None, None)
        h = request.header
        event = WireEvent(
            self.connection,
            "response",
            now_ms,
            h.api_key,
            api_name(h.api_key),
            h.api_version,
            correlation_id,
            h.client_id,
            len(frame),
            rtt_ms=now_ms - request.at_ms,
        )
        version = _response_version(h, self.apis)
        if version is None:
            return ResponseSeen(dataclasses.replace(event, problem="not decoded"), request, None)
        try:
            _, body = decode_response(h.api_key, version, frame, self.apis)
        except WireDecodeError as exc:
            return ResponseSeen(
                dataclasses.replace(event, problem=f"bad frame: {exc}"), request, None
            )
        described = dataclasses.replace(
            event, summary=summarize(body), errors=tuple(errors_in(body)), body=to_json(body)
        )
        return ResponseSeen(described, request, body)

    def bad(self, size: int, now_ms: float, direction: Direction, why: str) -> WireEvent:
        """A frame without a readable header: only its size and what is wrong with it."""
        return WireEvent(
            self.connection, direction, now_ms, -1, "?", -1, -1, None, size, problem=why
        )


def _read_request_header(frame: bytes | bytearray | memoryview) -> RequestHeader:
    """The v1 header every request starts with (a flexible request's tagged fields follow it)."""
    return RequestHeader.read(Reader(frame), flexible=False)


def _response_version(header: RequestHeader, apis: dict[int, Api]) -> int | None:
    """The version to decode a response with, or None when reflog.wire cannot."""
    api = apis.get(header.api_key)
    if api is None:
        return None
    if api.response.supports(header.api_version):
        return header.api_version
    if header.api_key == ApiKey.API_VERSIONS:
        return 0  # pitfall 2: an unsupported ApiVersions request is answered in v0
    return None


def encode_body(request: InFlight, body: Response, apis: dict[int, Api] = API_TABLE) -> bytes:
    """A response frame (without its size prefix) for ``request``, e.g. after a rewrite."""
    chunks = encode_response(request.header, body, apis)
    return b"".join(c.read() if isinstance(c, FileSlice) else bytes(c) for c in chunks)
