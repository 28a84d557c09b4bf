"""A broker core on a temporary log dir, and helpers to speak to it without sockets."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.broker import Action, Broker, Forward, Respond, ToController
from reflog.config import BrokerConfig
from reflog.controller.config import ControllerConfig
from reflog.controller.image import MetadataImage
from reflog.controller.quorum_controller import QuorumController
from reflog.raft.storage import PersistentState
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.quorum import (
    AllocateProducerIdsRequest,
    AllocateProducerIdsResponse,
    BrokerHeartbeatRequest,
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
)
from reflog.wire.schema import Request


class LoneBroker:
    """A broker and a quorum of one controller, wired by hand instead of by sockets.

    This is what ``reflog broker`` runs without ``--controller-quorum-voters`` (Kafka's
    combined mode): the broker registers, is unfenced, and follows the controller's
    metadata; CreateTopics (and Metadata's auto-creation) go to the controller, whose
    committed image the broker applies at once. Restarting the broker keeps the
    controller (its metadata log) and the log dir, as a restarted process would.
    """

    def __init__(self, config: BrokerConfig, now_ms: int = 0) -> None:
        self.config = config
        controller_config = ControllerConfig(
            node_id=config.node_id,
            voters=(config.node_id,),
            num_partitions=config.num_partitions,
        )
        self.controller = QuorumController(
            controller_config, PersistentState(), random.Random(0), now_ms
        )
        self.controller.tick(now_ms)  # a lone voter elects itself at its first tick
        assert self.controller.is_active()
        self.broker = self._join(now_ms)

    def _join(self, now_ms: int) -> Broker:
        broker = Broker(self.config, now_ms)
        registration = BrokerRegistrationRequest(
            broker_id=self.config.node_id, host=self.config.host, port=self.config.port
        )
        [(_, reply)] = self.controller.register_broker(now_ms, None, registration).replies
        assert isinstance(reply, BrokerRegistrationResponse)
        # Caught up with the metadata log: the controller unfences the broker.
        heartbeat = BrokerHeartbeatRequest(
            broker_id=self.config.node_id,
            broker_epoch=reply.broker_epoch,
            metadata_offset=self.controller.image.offset,
        )
        self.controller.broker_heartbeat(now_ms, None, heartbeat)
        self.broker = broker
        assert self.carry_out(broker.apply_metadata(self._image(), now_ms), now_ms) == []
        return broker

    def _image(self) -> MetadataImage:
        """A copy of the controller's committed image, as a heartbeat would bring it."""
        image = self.controller.image
        return MetadataImage.from_records(image.offset, image.to_records())

    def restart(self, now_ms: int = 0) -> Broker:
        self.broker.close()
        self.broker = self._join(now_ms)
        return self.broker

    def handle(
        self, conn: int, header: RequestHeader, request: Request, now_ms: int
    ) -> list[Respond]:
        return self.carry_out(self.broker.handle(conn, header, request, now_ms), now_ms)

    def carry_out(self, actions: list[Action], now_ms: int) -> list[Respond]:
        """Take forwards to the controller and back; return what goes to clients."""
        out: list[Respond] = []
        for action in actions:
            if isinstance(action, Forward):
                replies = self.controller.create_topics(now_ms, None, action.request).replies
                out += self.carry_out(self.broker.apply_metadata(self._image(), now_ms), now_ms)
                if action.reply_to is not None:
                    out += [Respond(*action.reply_to, reply) for _, reply in replies]
            elif isinstance(action, ToController):
                assert isinstance(action.request, AllocateProducerIdsRequest)
                allocate = self.controller.allocate_producer_ids(now_ms, None, action.request)
                [(_, reply)] = allocate.replies
                assert isinstance(reply, AllocateProducerIdsResponse)
                out += self.carry_out(
                    self.broker.on_allocate_producer_ids_response(reply, now_ms), now_ms
                )
            else:
                assert isinstance(action, Respond), f"a lone broker sends no {action}"
                out.append(action)
        return out


class Client:
    """Sends requests straight into a broker core, as one connection would."""

    def __init__(self, lone: LoneBroker, conn: int = 1) -> None:
        self.lone = lone
        self.conn = conn
        self._correlation_id = 0

    def header(self, request: Request, version: int | None = None) -> RequestHeader:
        self._correlation_id += 1
        v = type(request).MAX_VERSION if version is None else version
        return RequestHeader(request.API_KEY, v, self._correlation_id, "test")

    def send(self, request: Request, now_ms: int = 0, version: int | None = None) -> list[Respond]:
        return self.lone.handle(self.conn, self.header(request, version), request, now_ms)


@pytest.fixture
def lone(tmp_path: Path) -> Iterator[LoneBroker]:
    b = LoneBroker(BrokerConfig(node_id=0, log_dir=tmp_path / "logs", num_partitions=2))
    yield b
    b.broker.close()


@pytest.fixture
def broker(lone: LoneBroker) -> Broker:
    return lone.broker


@pytest.fixture
def client(lone: LoneBroker) -> Client:
    return Client(lone)
