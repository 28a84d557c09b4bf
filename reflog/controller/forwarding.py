"""Admin requests a broker forwards to the active controller, until one answers (KIP-590).

A broker in a cluster cannot create topics (nor delete them, nor change configs, move
partitions or elect leaders) itself: it forwards the request to the controller it
believes active. That controller may die, or turn out not to lead (NOT_CONTROLLER);
the request is then sent again to whichever controller the broker's lifecycle now
names, until the client's own ``timeout_ms`` runs out (REQUEST_TIMED_OUT). Like Kafka,
a request that committed but whose answer was lost is sent again and may come back
TOPIC_ALREADY_EXISTS.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from reflog.broker_actions import Forward, Respond
from reflog.controller.admin import AdminRequest, error_answer, has_error
from reflog.wire.errors import ErrorCode
from reflog.wire.schema import Response

__all__ = ["ForwardQueue", "PendingForward"]

# AlterConfigs and IncrementalAlterConfigs carry no timeout of their own.
DEFAULT_TIMEOUT_MS = 30_000


@dataclass
class PendingForward:
    forward: Forward
    deadline_ms: int
    sent_to: int | None = None  # the controller it was last sent to; None: send it


class ForwardQueue:
    def __init__(self) -> None:
        self.pending: dict[int, PendingForward] = {}
        self._ids = itertools.count(1)

    def add(self, now_ms: int, forward: Forward) -> None:
        timeout_ms = getattr(forward.request, "timeout_ms", DEFAULT_TIMEOUT_MS)
        deadline = now_ms + max(timeout_ms, 1)
        self.pending[next(self._ids)] = PendingForward(forward, deadline)

    def to_send(self, controller_id: int) -> list[tuple[int, AdminRequest]]:
        """Requests not yet sent to ``controller_id`` (new ones, or sent to another one)."""
        out = []
        for forward_id, p in self.pending.items():
            if p.sent_to != controller_id:
                p.sent_to = controller_id
                out.append((forward_id, p.forward.request))
        return out

    def answered(self, forward_id: int, response: Response) -> list[Respond]:
        p = self.pending.get(forward_id)
        if p is None:
            return []  # answered already, or timed out
        if has_error(response, ErrorCode.NOT_CONTROLLER):
            p.sent_to = None  # send it again, to whoever leads next
            return []
        del self.pending[forward_id]
        if p.forward.reply_to is None:
            return []
        return [Respond(*p.forward.reply_to, response)]

    def resend(self, forward_id: int) -> None:
        """The controller could not be reached: send it again with the next round."""
        p = self.pending.get(forward_id)
        if p is not None:
            p.sent_to = None

    def expired(self, now_ms: int) -> list[Respond]:
        actions = []
        for forward_id, p in list(self.pending.items()):
            if now_ms >= p.deadline_ms:
                del self.pending[forward_id]
                if p.forward.reply_to is not None:
                    timed_out = error_answer(p.forward.request, ErrorCode.REQUEST_TIMED_OUT)
                    actions.append(Respond(*p.forward.reply_to, timed_out))
        return actions

    def next_deadline_ms(self) -> int | None:
        # Asked after every message the broker handles: nothing to scan when nothing waits.
        if not self.pending:
            return None
        return min(p.deadline_ms for p in self.pending.values())
