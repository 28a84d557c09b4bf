"""A broker's side of KRaft: register, heartbeat, and follow the metadata log.

Kafka's ``BrokerLifecycleManager`` in a small pure core. A broker registers with
the active controller (which answers with its broker epoch), then heartbeats
every ``broker.heartbeat.interval.ms``; each answer says whether the broker is
fenced and carries the metadata batches it lacks, which it applies to its own
:class:`MetadataImage`. A broker that stops heartbeating for
``broker.session.timeout.ms`` is fenced by the controller.

Whom to ask: the controller named as leader in the last answer; on NOT_CONTROLLER
without a hint, or no answer within the request timeout, the next voter in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reflog.controller.image import MetadataImage
from reflog.controller.records import decode_records
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.quorum import (
    BrokerHeartbeatRequest,
    BrokerHeartbeatResponse,
    BrokerRegistrationRequest,
    BrokerRegistrationResponse,
)

__all__ = ["BrokerLifecycle", "BrokerState", "ControllerRequest"]

RETRY_BACKOFF_MS = 50


class BrokerState(Enum):
    REGISTERING = "Registering"  # no broker epoch yet
    FENCED = "Fenced"  # registered; clients are not sent here yet
    RUNNING = "Running"  # unfenced: listed in Metadata, may lead partitions


@dataclass(frozen=True)
class ControllerRequest:
    controller_id: int
    request: BrokerRegistrationRequest | BrokerHeartbeatRequest


class BrokerLifecycle:
    def __init__(
        self,
        broker_id: int,
        host: str,
        port: int,
        controllers: list[int],
        now_ms: int,
        heartbeat_interval_ms: int = 2_000,
        request_timeout_ms: int | None = None,
    ) -> None:
        self.broker_id = broker_id
        self.host = host
        self.port = port
        self.controllers = sorted(controllers)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        # Give up on a controller after one heartbeat interval without an answer, so a
        # broker finds the new active controller well within its session timeout.
        self.request_timeout_ms = request_timeout_ms or heartbeat_interval_ms
        self.state = BrokerState.REGISTERING
        self.broker_epoch = -1
        self.image = MetadataImage()
        self.controller_id = self.controllers[0]
        self.next_send_ms = now_ms
        self.waiting_since_ms: int | None = None

    # -- entry points -----------------------------------------------------------------
    def tick(self, now_ms: int) -> list[ControllerRequest]:
        """The request to send now, if one is due (one outstanding at a time)."""
        if self.waiting_since_ms is not None:
            if now_ms - self.waiting_since_ms < self.request_timeout_ms:
                return []
            self._try_next_controller()  # no answer: that controller may be down
            self.waiting_since_ms = None
        if now_ms < self.next_send_ms:
            return []
        self.waiting_since_ms = now_ms
        request: BrokerRegistrationRequest | BrokerHeartbeatRequest
        if self.state == BrokerState.REGISTERING:
            request = BrokerRegistrationRequest(
                broker_id=self.broker_id, host=self.host, port=self.port
            )
        else:
            request = BrokerHeartbeatRequest(
                broker_id=self.broker_id,
                broker_epoch=self.broker_epoch,
                metadata_offset=self.image.offset,
            )
        return [ControllerRequest(self.controller_id, request)]

    def on_registration(self, now_ms: int, response: BrokerRegistrationResponse) -> None:
        self.waiting_since_ms = None
        if response.error_code == ErrorCode.NONE:
            self.broker_epoch = response.broker_epoch
            self.state = BrokerState.FENCED
            self.next_send_ms = now_ms  # heartbeat at once: that is how we catch up
        else:
            self._redirect(now_ms, response.leader_id)

    def on_heartbeat(self, now_ms: int, response: BrokerHeartbeatResponse) -> bool:
        """Apply the answer; True if the metadata image changed."""
        self.waiting_since_ms = None
        if response.error_code == ErrorCode.STALE_BROKER_EPOCH:
            self.state = BrokerState.REGISTERING  # the controller forgot us: register anew
            self.next_send_ms = now_ms
            return False
        if response.error_code != ErrorCode.NONE:
            self._redirect(now_ms, response.leader_id)
            return False
        changed = self._apply_metadata(response)
        self.state = BrokerState.FENCED if response.is_fenced else BrokerState.RUNNING
        # Behind on metadata, or still fenced: ask again at once instead of waiting.
        more = len(response.batches) > 0 or self.state == BrokerState.FENCED
        self.next_send_ms = now_ms + (RETRY_BACKOFF_MS if more else self.heartbeat_interval_ms)
        return changed

    def next_deadline_ms(self) -> int:
        if self.waiting_since_ms is not None:
            return self.waiting_since_ms + self.request_timeout_ms
        return self.next_send_ms

    def request_metadata_soon(self, now_ms: int) -> None:
        """Heartbeat now rather than at the next interval (after a topic was created)."""
        self.next_send_ms = min(self.next_send_ms, now_ms)

    # -- helpers ----------------------------------------------------------------------
    def _apply_metadata(self, response: BrokerHeartbeatResponse) -> bool:
        changed = False
        if response.snapshot is not None and response.snapshot_offset > self.image.offset:
            records = decode_records(bytes(response.snapshot))
            self.image = MetadataImage.from_records(response.snapshot_offset, records)
            changed = True
        for batch in response.batches:
            if batch.offset == self.image.offset + 1:  # in order, each once
                self.image.apply(batch.offset, decode_records(bytes(batch.data)))
                changed = True
        return changed

    def _redirect(self, now_ms: int, leader_id: int) -> None:
        if leader_id in self.controllers and leader_id != self.controller_id:
            self.controller_id = leader_id
        else:
            self._try_next_controller()
        self.next_send_ms = now_ms + RETRY_BACKOFF_MS

    def _try_next_controller(self) -> None:
        position = self.controllers.index(self.controller_id)
        self.controller_id = self.controllers[(position + 1) % len(self.controllers)]
