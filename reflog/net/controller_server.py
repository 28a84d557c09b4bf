"""A controller as an OS process: a :class:`QuorumController` served over TCP.

It listens for its peers' Raft messages and for brokers' requests, all in
Kafka's framing with reflog's controller API table, and talks to each peer over
a :class:`PeerLink`. After every event it persists the Raft state (fsync)
before any message of the same Ready leaves, then answers whoever waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from reflog.controller.config import ControllerConfig
from reflog.controller.quorum_controller import ControllerReady, QuorumController
from reflog.controller.raft_wire import RAFT_WIRE_TYPES, from_wire, to_wire
from reflog.net.peer_link import PeerLink
from reflog.net.server import now_ms
from reflog.raft.storage import FileRaftStorage, persist_ready
from reflog.wire.apis import (
    CONTROLLER_API_TABLE,
    api_versions_response,
    decode_request,
    encode_response,
)
from reflog.wire.codec import chunks_to_bytes
from reflog.wire.errors import ErrorCode, UnsupportedApiError, WireDecodeError
from reflog.wire.headers import (
    DEFAULT_MAX_REQUEST_BYTES,
    RequestHeader,
    check_frame_size,
    frame_prefix,
)
from reflog.wire.messages.api_versions import ApiVersionsRequest
from reflog.wire.messages.create_topics import CreateTopicsRequest
from reflog.wire.messages.quorum import (
    AllocateProducerIdsRequest,
    AlterPartitionRequest,
    BrokerHeartbeatRequest,
    BrokerRegistrationRequest,
    QuorumStateRequest,
    QuorumStateResponse,
)
from reflog.wire.schema import Response

__all__ = ["ControllerServer"]

log = logging.getLogger(__name__)


@dataclass
class _Conn:
    conn_id: int
    writer: asyncio.StreamWriter
    closed: bool = False
    pending: set[int] = field(default_factory=set)


class ControllerServer:
    def __init__(
        self,
        config: ControllerConfig,
        voters: dict[int, tuple[str, int]],
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 9093,
    ) -> None:
        self.config = config
        self.voters = voters
        self.host = host
        self.port = port
        self.storage = FileRaftStorage(data_dir)
        self.controller = QuorumController(config, self.storage.load(), random.Random(), now_ms())
        self.links = {
            node: PeerLink(h, p, f"controller-{config.node_id}")
            for node, (h, p) in voters.items()
            if node != config.node_id
        }
        self._server: asyncio.Server | None = None
        self._conns: dict[int, _Conn] = {}
        self._ids = itertools.count(1)
        self._timer: asyncio.TimerHandle | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._arm()
        return self.port

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns.values()):
            conn.writer.close()
        for link in self.links.values():
            await link.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    # -- reading ------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(next(self._ids), writer)
        self._conns[conn.conn_id] = conn
        try:
            while True:
                size = check_frame_size(await reader.readexactly(4), DEFAULT_MAX_REQUEST_BYTES)
                frame = await reader.readexactly(size)
                if not self._dispatch(conn, frame):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except WireDecodeError as exc:
            log.warning("closing a controller connection: %s", exc)
        finally:
            conn.closed = True
            self._conns.pop(conn.conn_id, None)
            with contextlib.suppress(Exception):
                writer.close()

    def _dispatch(self, conn: _Conn, frame: bytes) -> bool:
        try:
            decoded = decode_request(frame, CONTROLLER_API_TABLE)
        except (UnsupportedApiError, WireDecodeError) as exc:
            log.warning("closing a controller connection: %s", exc)
            return False
        header, body = decoded.header, decoded.body
        now = now_ms()
        c = self.controller
        token = (conn.conn_id, header)
        if isinstance(body, RAFT_WIRE_TYPES):
            if body.sender not in self.links:
                log.warning("a Raft message from %d, which is not a voter", body.sender)
                return False
            sender, message = from_wire(body)
            self._do(c.step(now, sender, message))
        elif isinstance(body, BrokerRegistrationRequest):
            self._do(c.register_broker(now, token, body))
        elif isinstance(body, BrokerHeartbeatRequest):
            self._do(c.broker_heartbeat(now, token, body))
        elif isinstance(body, CreateTopicsRequest):
            self._do(c.create_topics(now, token, body))
        elif isinstance(body, AlterPartitionRequest):
            self._do(c.alter_partition(now, token, body))
        elif isinstance(body, AllocateProducerIdsRequest):
            self._do(c.allocate_producer_ids(now, token, body))
        elif isinstance(body, QuorumStateRequest):
            self._respond(token, self.quorum_state())
        elif isinstance(body, ApiVersionsRequest):
            self._respond(token, api_versions_response(CONTROLLER_API_TABLE, ErrorCode.NONE))
        return True

    def quorum_state(self) -> QuorumStateResponse:
        c = self.controller
        return QuorumStateResponse(
            node_id=self.config.node_id,
            role=c.raft.role.value,
            current_term=c.raft.current_term,
            leader_id=c.leader_id(),
            commit_index=c.raft.commit_index,
            metadata_offset=c.image.offset,
            active=c.is_active(),
        )

    # -- doing what the core says -------------------------------------------------------
    def _do(self, out: ControllerReady) -> None:
        for ready in out.raft:
            persist_ready(self.storage, ready)  # durable before anything of it leaves
            for to, message in ready.messages:
                link = self.links.get(int(to))
                if link is not None:
                    link.send(to_wire(self.config.node_id, message))
        for token, reply in out.replies:
            self._respond(token, reply)
        self._arm()

    def _respond(self, token: object, reply: Response) -> None:
        assert isinstance(token, tuple)
        conn_id, header = token
        assert isinstance(header, RequestHeader)
        conn = self._conns.get(conn_id)
        if conn is None or conn.closed:
            return  # the asker went away
        data = chunks_to_bytes(encode_response(header, reply, CONTROLLER_API_TABLE))
        conn.writer.write(frame_prefix(len(data)) + data)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, (self.controller.next_deadline_ms() - now_ms()) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._do(self.controller.tick(now_ms()))
