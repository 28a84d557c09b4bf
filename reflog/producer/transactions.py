"""A transactional producer's side of KIP-98 (Kafka's ``TransactionManager``).

With a ``transactional.id`` the producer finds its transaction coordinator
(FindCoordinator, key type 1) and gets its producer id and epoch from it
(InitProducerId), which fences any older instance with the same id. In a transaction,
each partition is registered with the coordinator (AddPartitionsToTxn) before its first
batch goes out; consumed offsets join the transaction with AddOffsetsToTxn and go to the
group's coordinator with TxnOffsetCommit; EndTxn commits or aborts once every batch has
its answer.

Requests to the coordinators go one at a time, in the order the application caused them,
from one queue; a retriable error sends the same request again after ``retry.backoff.ms``
(finding the coordinator again first when it moved).

``abort_transaction`` fails the records given to ``send`` that have not gone out (the
producer's side, :meth:`Producer.abort_transaction`); only what is already on the wire, or
to be sent again, is answered first. A transaction that never reached its coordinator (no
partition, no offsets added) ends without EndTxn, as in Kafka.

A sequence error inside a transaction (a batch lost: the broker's numbers and the
producer's disagree) makes the transaction abortable; once the application has aborted
it, the producer asks its coordinator for a new epoch (InitProducerId naming its current
id and epoch, KIP-360) and every partition's sequences start again at 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from reflog.client.network import ClientNetwork
from reflog.producer.batch import ProducerIdAndEpoch
from reflog.producer.idempotence import IdempotenceManager
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.find_coordinator import (
    GROUP_KEY_TYPE,
    TRANSACTION_KEY_TYPE,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnTopic,
    EndTxnRequest,
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
    TxnOffsetCommitResponse,
)
from reflog.wire.schema import Request, Response

__all__ = ["TransactionManager", "TransactionState", "TransactionStateError"]

# Answers after which the same request goes again (to a coordinator found again for the
# first three).
_FIND_AGAIN = {
    ErrorCode.NOT_COORDINATOR,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
}
_RETRY = {
    *_FIND_AGAIN,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.CONCURRENT_TRANSACTIONS,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.REQUEST_TIMED_OUT,
}
_FENCED = {ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED}


class TransactionState(Enum):
    UNINITIALIZED = "Uninitialized"
    INITIALIZING = "Initializing"
    READY = "Ready"
    IN_TRANSACTION = "InTransaction"
    COMMITTING_TRANSACTION = "CommittingTransaction"
    ABORTING_TRANSACTION = "AbortingTransaction"
    ABORTABLE_ERROR = "AbortableError"
    FATAL_ERROR = "FatalError"


S = TransactionState


class TransactionStateError(Exception):
    """A transactional call made in a state that does not allow it (Kafka's
    IllegalStateException)."""


@dataclass
class _Step:
    """One request for a coordinator: the transaction's, or a group's (``group_id``)."""

    build: Callable[[], Request]
    on_done: Callable[[Response], int]  # the error code the answer carries
    group_id: str | None = None
    # AddPartitionsToTxn's partitions: a partition that needs adding joins the step while
    # it is not on the wire, so one request adds all a tick's batches need (as Kafka's does).
    partitions: set[TopicPartition] | None = None


class TransactionManager:
    def __init__(
        self,
        network: ClientNetwork,
        idempotence: IdempotenceManager,
        transactional_id: str,
        transaction_timeout_ms: int,
        retry_backoff_ms: int,
    ) -> None:
        self.network = network
        self.idempotence = idempotence
        self.transactional_id = transactional_id
        self.transaction_timeout_ms = transaction_timeout_ms
        self.retry_backoff_ms = retry_backoff_ms
        self.state = S.UNINITIALIZED
        self.error: int | None = None
        self.coordinators: dict[str | None, int] = {}  # None: the transaction's
        self.added: set[TopicPartition] = set()
        self.started = False  # the coordinator knows the transaction (a partition or offsets added)
        self._steps: deque[_Step] = deque()
        self._in_flight = False
        self._retry_at_ms = 0
        self._end_queued = False
        idempotence.producer_id_from_coordinator()

    # -- the application's calls --------------------------------------------------------
    def init_transactions(self) -> None:
        self._require(S.UNINITIALIZED)
        self.state = S.INITIALIZING
        self._steps.append(_Step(self._init_request, self._on_init))

    def begin_transaction(self) -> None:
        self._require(S.READY)
        self.state = S.IN_TRANSACTION
        self.added.clear()
        self.started = False

    def send_offsets_to_transaction(
        self, offsets: dict[TopicPartition, int], group_id: str
    ) -> None:
        self._require(S.IN_TRANSACTION)
        self._steps.append(_Step(lambda: self._add_offsets(group_id), self._on_offsets_added))
        self._steps.append(
            _Step(lambda: self._txn_offset_commit(offsets, group_id), self._on_offsets, group_id)
        )

    def commit_transaction(self) -> None:
        self._require(S.IN_TRANSACTION)
        self.state = S.COMMITTING_TRANSACTION
        self._end_queued = False

    def abort_transaction(self) -> None:
        self._require(S.IN_TRANSACTION, S.ABORTABLE_ERROR)
        self.state = S.ABORTING_TRANSACTION
        self._end_queued = False
        # Partitions not yet asked for stay out: their records fail unsent (the producer's).
        on_the_wire = self._steps[0] if self._in_flight else None
        self._steps = deque(s for s in self._steps if s.partitions is None or s is on_the_wire)

    @property
    def is_idle(self) -> bool:
        """Nothing in flight or queued: an init, commit or abort has its answer."""
        return not self._steps and not self._in_flight and self.state in (
            S.READY, S.IN_TRANSACTION, S.ABORTABLE_ERROR, S.FATAL_ERROR,
        )  # fmt: skip

    def _require(self, *states: TransactionState) -> None:
        if self.state not in states:
            raise TransactionStateError(
                f"not allowed in state {self.state.value} (needs {[s.value for s in states]})"
            )

    # -- the producer's calls ------------------------------------------------------------
    def may_send(self, tp: TopicPartition) -> bool:
        """Whether a batch for ``tp`` may go: its partition is in the transaction. The first
        batch for a partition queues AddPartitionsToTxn for it."""
        if self.state not in (S.IN_TRANSACTION, S.COMMITTING_TRANSACTION, S.ABORTING_TRANSACTION):
            return False
        if tp in self.added:
            return True
        adding = [s for s in self._steps if s.partitions is not None]
        if any(tp in s.partitions for s in adding if s.partitions is not None):
            return False
        on_the_wire = self._steps[0] if self._in_flight else None
        waiting = [s for s in adding if s is not on_the_wire]
        if waiting:
            assert waiting[-1].partitions is not None
            waiting[-1].partitions.add(tp)
            return False
        step = _Step(
            lambda: self._add_partitions(step.partitions or set()),
            lambda r: self._on_added(step.partitions or set(), r),
            partitions={tp},
        )
        self._steps.append(step)
        return False

    def tick(self, now_ms: int, batches_pending: bool) -> None:
        """Send the next request; EndTxn once every batch of the transaction is answered."""
        if self.idempotence.fatal_error is not None and self.state is not S.FATAL_ERROR:
            self.state, self.error = S.FATAL_ERROR, self.idempotence.fatal_error
            self._steps.clear()
        in_txn = self.state in (S.IN_TRANSACTION, S.COMMITTING_TRANSACTION)
        if self.idempotence.bump_requested and in_txn and not self._in_flight:
            self.state, self.error = S.ABORTABLE_ERROR, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
            self._steps.clear()
        ending = self.state in (S.COMMITTING_TRANSACTION, S.ABORTING_TRANSACTION)
        if ending and not self._end_queued and not batches_pending and not self._steps:
            self._end_queued = True
            if not self.started:  # nothing to end at the coordinator
                self.state = S.READY
                return
            self._steps.append(_Step(self._end_request, self._on_end))
        if self._in_flight or not self._steps or now_ms < self._retry_at_ms:
            return
        step = self._steps[0]
        coordinator = self.coordinators.get(step.group_id)
        self._in_flight = True
        if coordinator is None:
            key_type = GROUP_KEY_TYPE if step.group_id is not None else TRANSACTION_KEY_TYPE
            key = step.group_id if step.group_id is not None else self.transactional_id
            find = FindCoordinatorRequest(key=key, key_type=key_type)
            self.network.request(
                self.network.any_node(), find, now_ms, lambda r, e: self._on_find(step, r)
            )
            return
        self.network.request(
            coordinator, step.build(), now_ms, lambda r, e: self._answer(step, r, e)
        )

    def next_deadline_ms(self) -> int | None:
        if self._in_flight or not self._steps:
            return None
        return self._retry_at_ms

    # -- answers ---------------------------------------------------------------------------
    def _on_find(self, step: _Step, response: Response | None) -> None:
        self._in_flight = False
        if isinstance(response, FindCoordinatorResponse) and response.error_code == ErrorCode.NONE:
            # Reached at the address the answer gives, as Kafka's TransactionManager does:
            # metadata may not list that broker (yet).
            self.network.add_node(response.node_id, response.host, response.port)
            self.coordinators[step.group_id] = response.node_id
        else:
            self._retry_at_ms = self.network.now_ms + self.retry_backoff_ms

    def _answer(self, step: _Step, response: Response | None, error: int) -> None:
        self._in_flight = False
        code = error if response is None else step.on_done(response)
        if code == ErrorCode.NONE:
            self._steps.popleft()
            return
        if response is None or code in _FIND_AGAIN:
            self.coordinators.pop(step.group_id, None)
        if response is None or code in _RETRY:
            self._retry_at_ms = self.network.now_ms + self.retry_backoff_ms
            return
        self._steps.clear()
        self.error = code
        if code in _FENCED or self.state == S.INITIALIZING:
            self.state = S.FATAL_ERROR
            self.idempotence.fatal_error = code
        else:
            self.state = S.ABORTABLE_ERROR

    @staticmethod
    def _error_of(response: Response) -> int:
        code: int = getattr(response, "error_code", ErrorCode.UNKNOWN_SERVER_ERROR)
        return code

    def _on_init(self, response: Response) -> int:
        assert isinstance(response, InitProducerIdResponse)
        if response.error_code == ErrorCode.NONE:
            self.idempotence.restart_transactional(
                ProducerIdAndEpoch(response.producer_id, response.producer_epoch)
            )
            self.state = S.READY
        return response.error_code

    def _on_added(self, partitions: set[TopicPartition], response: Response) -> int:
        assert isinstance(response, AddPartitionsToTxnResponse)
        codes = [p.partition_error_code for t in response.results_by_topic_v3_and_below
                 for p in t.results_by_partition]  # fmt: skip
        code = next((c for c in codes if c != ErrorCode.NONE), ErrorCode.NONE)
        if code == ErrorCode.NONE:
            self.added |= partitions
            self.started = True
        return code

    def _on_offsets_added(self, response: Response) -> int:
        code = self._error_of(response)
        if code == ErrorCode.NONE:
            self.started = True
        return code

    def _on_offsets(self, response: Response) -> int:
        assert isinstance(response, TxnOffsetCommitResponse)
        codes = [p.error_code for t in response.topics for p in t.partitions]
        return next((c for c in codes if c != ErrorCode.NONE), ErrorCode.NONE)

    def _on_end(self, response: Response) -> int:
        code = self._error_of(response)
        if code == ErrorCode.NONE:
            self.added.clear()
            if self.idempotence.bump_requested:  # READY once the coordinator bumped the epoch
                self._steps.append(_Step(self._bump_request, self._on_init))
            else:
                self.state = S.READY
        return code

    # -- requests ----------------------------------------------------------------------------
    @property
    def _producer(self) -> ProducerIdAndEpoch:
        return self.idempotence.producer

    def _init_request(self) -> Request:
        return InitProducerIdRequest(
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self.transaction_timeout_ms,
        )

    def _bump_request(self) -> Request:
        return InitProducerIdRequest(
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self.transaction_timeout_ms,
            producer_id=self._producer.producer_id,
            producer_epoch=self._producer.epoch,
        )

    def _add_partitions(self, partitions: set[TopicPartition]) -> Request:
        by_topic: dict[str, list[int]] = {}
        for tp in sorted(partitions):
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        return AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=self.transactional_id,
            v3_and_below_producer_id=self._producer.producer_id,
            v3_and_below_producer_epoch=self._producer.epoch,
            v3_and_below_topics=[AddPartitionsToTxnTopic(t, p) for t, p in by_topic.items()],
        )

    def _add_offsets(self, group_id: str) -> Request:
        return AddOffsetsToTxnRequest(
            transactional_id=self.transactional_id,
            producer_id=self._producer.producer_id,
            producer_epoch=self._producer.epoch,
            group_id=group_id,
        )

    def _txn_offset_commit(self, offsets: dict[TopicPartition, int], group_id: str) -> Request:
        by_topic: dict[str, list[TxnOffsetCommitRequestPartition]] = {}
        for tp, offset in sorted(offsets.items()):
            by_topic.setdefault(tp.topic, []).append(
                TxnOffsetCommitRequestPartition(tp.partition, committed_offset=offset)
            )
        return TxnOffsetCommitRequest(
            transactional_id=self.transactional_id,
            group_id=group_id,
            producer_id=self._producer.producer_id,
            producer_epoch=self._producer.epoch,
            topics=[TxnOffsetCommitRequestTopic(t, p) for t, p in by_topic.items()],
        )

    def _end_request(self) -> Request:
        return EndTxnRequest(
            transactional_id=self.transactional_id,
            producer_id=self._producer.producer_id,
            producer_epoch=self._producer.epoch,
            committed=self.state == S.COMMITTING_TRANSACTION,
        )
