"""The transaction coordinator as a pure core (Kafka: ``TransactionCoordinator`` and
``TransactionStateManager``).

One coordinator owns the transactional ids whose ``__transaction_state`` partition its
broker leads. For each id it keeps a :class:`TxnMetadata`: the producer id and epoch
handed out, the state, and the partitions of the open transaction. Each request is one
method here; each returns the answer's error code, and every change of state is queued
as a record to write (:meth:`take_writes`) and, for a transaction that ends, as markers
to send to its partitions (:meth:`take_markers`). The broker's :class:`TxnHost` does the
writing and the sending, and tells the core when a transaction's markers are all written
(:meth:`markers_written`), which completes it.

The life of one transaction::

    Empty/Complete* --AddPartitions--> Ongoing --EndTxn--> PrepareCommit/PrepareAbort
        --markers written--> CompleteCommit/CompleteAbort

A new InitProducerId for the same transactional id fences the previous instance: the
epoch goes up by one, so the zombie's requests and batches are refused, and a
transaction it left open is aborted (Ongoing -> PrepareEpochFence -> PrepareAbort). A
transaction open longer than its ``transaction.timeout.ms`` is aborted the same way.
PrepareEpochFence is a step in memory only: as in Kafka, the fence and the abort reach
``__transaction_state`` as one record (PrepareAbort at the bumped epoch).

The host answers a request, and sends a transaction's markers, only once the state change
is replicated in ``__transaction_state``.

The host stamps the markers with its coordinator epoch (the ``__transaction_state``
partition's leader epoch when it took the partition over): a partition refuses a marker
from an older coordinator than the last one's (TRANSACTION_COORDINATOR_FENCED).

reflog simplifications: a producer epoch that would overflow is not replaced by a new
producer id; a change whose write fails stays in memory (the client is
told NOT_COORDINATOR and finds the coordinator again).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace

from reflog.topic_partition import TopicPartition
from reflog.transactions.records import TxnLogValue
from reflog.transactions.state import TxnState, check_transition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.describe_transactions import TopicData
from reflog.wire.messages.describe_transactions import TransactionState as DescribedTxn
from reflog.wire.messages.list_transactions import ListTransactionsResponse
from reflog.wire.messages.list_transactions import TransactionState as ListedTxn

__all__ = ["MarkerJob", "TransactionCoordinator", "TxnMetadata"]

S = TxnState
# Kafka's transaction.max.timeout.ms: a longer transaction.timeout.ms is refused.
TRANSACTION_MAX_TIMEOUT_MS = 900_000
# Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms.
ABORT_CHECK_INTERVAL_MS = 10_000


@dataclass
class TxnMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = S.EMPTY
    partitions: set[TopicPartition] = field(default_factory=set)
    start_ms: int = -1
    last_update_ms: int = 0

    def to_log(self) -> TxnLogValue:
        return TxnLogValue(
            producer_id=self.producer_id,
            producer_epoch=self.producer_epoch,
            timeout_ms=self.timeout_ms,
            state=self.state,
            partitions=frozenset(self.partitions),
            last_update_ms=self.last_update_ms,
            start_ms=self.start_ms,
        )


@dataclass(frozen=True)
class MarkerJob:
    """COMMIT or ABORT markers to write to ``partitions`` for one transaction."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    commit: bool
    partitions: frozenset[TopicPartition]


@dataclass(frozen=True)
class InitResult:
    error_code: int
    producer_id: int = -1
    producer_epoch: int = -1


class TransactionCoordinator:
    def __init__(
        self,
        abort_check_interval_ms: int = ABORT_CHECK_INTERVAL_MS,
        max_timeout_ms: int = TRANSACTION_MAX_TIMEOUT_MS,
    ) -> None:
        self.max_timeout_ms = max_timeout_ms
        self.txns: dict[str, TxnMetadata] = {}
        self._writes: list[tuple[str, TxnLogValue]] = []
        self._markers: list[MarkerJob] = []
        self.abort_check_interval_ms = abort_check_interval_ms
        self._next_abort_check_ms = 0

    # -- the one place a state changes ----------------------------------------------------
    def _move(self, txn: TxnMetadata, new: TxnState, now_ms: int, *, logged: bool = True) -> None:
        """``txn`` goes to ``new``; unless ``logged`` is False, a record of it is queued."""
        check_transition(txn.state, new)
        txn.state = new
        txn.last_update_ms = now_ms
        if logged:
            self._writes.append((txn.transactional_id, txn.to_log()))
        if new in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
            self._markers.append(
                MarkerJob(
                    txn.transactional_id,
                    txn.producer_id,
                    txn.producer_epoch,
                    new == S.PREPARE_COMMIT,
                    frozenset(txn.partitions),
                )
            )

    # -- InitProducerId -----------------------------------------------------------------
    def needs_producer_id(self, transactional_id: str) -> bool:
        """Whether InitProducerId for this id must be given a new producer id."""
        return transactional_id not in self.txns

    def init_producer_id(
        self,
        now_ms: int,
        transactional_id: str,
        timeout_ms: int,
        new_producer_id: int | None,
        expected: tuple[int, int] | None = None,
    ) -> InitResult:
        """A (new) producer instance for ``transactional_id`` starts: the id's producer id
        with its epoch bumped, fencing any older instance (Kafka: handleInitProducerId).

        With ``expected`` (producer id, epoch), the running instance asks for the bump
        itself, after aborting a transaction a sequence error broke (KIP-360): granted only
        if those are the id's current ones, so a fenced zombie cannot use it.

        reflog simplification: a bump asked again because its answer was lost is refused
        (the producer stops); Kafka keeps the previous epoch to answer such a retry."""
        if not 0 < timeout_ms <= self.max_timeout_ms:
            return InitResult(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
        txn = self.txns.get(transactional_id)
        if expected is not None and (
            txn is None or (txn.producer_id, txn.producer_epoch) != expected
        ):
            return InitResult(ErrorCode.INVALID_PRODUCER_EPOCH)  # PRODUCER_FENCED to newer
        if txn is None:
            if new_producer_id is None:
                return InitResult(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
            txn = TxnMetadata(transactional_id, new_producer_id, -1, timeout_ms)
            self.txns[transactional_id] = txn
            txn.producer_epoch = 0
            txn.last_update_ms = now_ms
            self._writes.append((transactional_id, txn.to_log()))
            return InitResult(ErrorCode.NONE, txn.producer_id, txn.producer_epoch)
        match txn.state:
            case S.PREPARE_COMMIT | S.PREPARE_ABORT | S.PREPARE_EPOCH_FENCE:
                return InitResult(ErrorCode.CONCURRENT_TRANSACTIONS)
            case S.ONGOING:
                # Fence the old instance and abort what it left open; the new one retries.
                self._fence_and_abort(txn, now_ms)
                return InitResult(ErrorCode.CONCURRENT_TRANSACTIONS)
            case S.EMPTY | S.COMPLETE_COMMIT | S.COMPLETE_ABORT:
                txn.producer_epoch += 1
                txn.timeout_ms = timeout_ms
                txn.partitions.clear()
                txn.start_ms = -1
                self._move(txn, S.EMPTY, now_ms)
                return InitResult(ErrorCode.NONE, txn.producer_id, txn.producer_epoch)
            case S.DEAD:
                return InitResult(ErrorCode.CONCURRENT_TRANSACTIONS)

    def _fence_and_abort(self, txn: TxnMetadata, now_ms: int) -> None:
        """Kafka's prepareFenceProducerEpoch followed by the abort, under the new epoch.

        The fence is not a record of its own: each record is a separate append, and a
        follower may copy the first before the second exists. A coordinator that took over
        with a PrepareEpochFence and no PrepareAbort after it could neither send the abort's
        markers nor time the transaction out, and would answer every InitProducerId for the
        id with CONCURRENT_TRANSACTIONS, forever."""
        self._move(txn, S.PREPARE_EPOCH_FENCE, now_ms, logged=False)
        txn.producer_epoch += 1
        self._move(txn, S.PREPARE_ABORT, now_ms)

    # -- the producer's requests ----------------------------------------------------------
    def _producer_error(
        self, transactional_id: str, producer_id: int, producer_epoch: int
    ) -> int | None:
        txn = self.txns.get(transactional_id)
        if txn is None or txn.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING
        if txn.producer_epoch != producer_epoch:
            return ErrorCode.INVALID_PRODUCER_EPOCH  # PRODUCER_FENCED to newer clients
        return None

    def add_partitions(
        self,
        now_ms: int,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[TopicPartition],
    ) -> int:
        """The producer is about to write to ``partitions`` in its transaction."""
        error = self._producer_error(transactional_id, producer_id, producer_epoch)
        if error is not None:
            return error
        txn = self.txns[transactional_id]
        if txn.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT, S.PREPARE_EPOCH_FENCE):
            return ErrorCode.CONCURRENT_TRANSACTIONS
        if txn.state == S.DEAD:
            return ErrorCode.INVALID_TXN_STATE
        if txn.state == S.ONGOING:
            new = set(partitions) - txn.partitions
            if not new:
                return ErrorCode.NONE
            txn.partitions |= new
        else:
            # A new transaction: every partition named here is in it, and nothing else (a
            # Complete record that older reflog wrote still listed the last one's).
            txn.partitions = set(partitions)
            txn.start_ms = now_ms
        self._move(txn, S.ONGOING, now_ms)
        return ErrorCode.NONE

    def end_txn(
        self,
        now_ms: int,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        commit: bool,
    ) -> int:
        """EndTxn: commit or abort the open transaction (Kafka: handleEndTransaction)."""
        error = self._producer_error(transactional_id, producer_id, producer_epoch)
        if error is not None:
            return error
        txn = self.txns[transactional_id]
        match txn.state:
            case S.ONGOING:
                self._move(txn, S.PREPARE_COMMIT if commit else S.PREPARE_ABORT, now_ms)
                return ErrorCode.NONE
            case S.COMPLETE_COMMIT:  # a retry of an EndTxn that was done
                return ErrorCode.NONE if commit else ErrorCode.INVALID_TXN_STATE
            case S.COMPLETE_ABORT:
                return ErrorCode.INVALID_TXN_STATE if commit else ErrorCode.NONE
            case S.PREPARE_COMMIT:
                return ErrorCode.CONCURRENT_TRANSACTIONS if commit else ErrorCode.INVALID_TXN_STATE
            case S.PREPARE_ABORT:
                return ErrorCode.INVALID_TXN_STATE if commit else ErrorCode.CONCURRENT_TRANSACTIONS
            case S.EMPTY | S.DEAD | S.PREPARE_EPOCH_FENCE:
                return ErrorCode.INVALID_TXN_STATE

    def markers_written(self, now_ms: int, transactional_id: str, producer_epoch: int) -> None:
        """Every partition has the transaction's marker: it is complete."""
        txn = self.txns.get(transactional_id)
        if txn is None or txn.producer_epoch != producer_epoch:
            return
        if txn.state not in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
            return
        # As Kafka's prepareComplete: no partition is left in it, and it keeps its start
        # time (DescribeTransactions shows when the last transaction began).
        txn.partitions.clear()
        self._move(
            txn, S.COMPLETE_COMMIT if txn.state == S.PREPARE_COMMIT else S.COMPLETE_ABORT, now_ms
        )

    # -- time -----------------------------------------------------------------------------
    def tick(self, now_ms: int) -> None:
        """Abort every transaction open past its transaction.timeout.ms, fencing its
        producer (Kafka: abortTimedOutTransactions)."""
        if now_ms < self._next_abort_check_ms:
            return
        self._next_abort_check_ms = now_ms + self.abort_check_interval_ms
        for txn in self.txns.values():
            if txn.state == S.ONGOING and now_ms > txn.start_ms + txn.timeout_ms:
                self._fence_and_abort(txn, now_ms)

    def next_deadline_ms(self) -> int | None:
        for txn in self.txns.values():
            if txn.state == S.ONGOING:
                return self._next_abort_check_ms
        return None

    # -- what the admin tools ask (kafka-transactions, KIP-664) --------------------------------
    def list_transactions(
        self,
        now_ms: int,
        state_filters: Collection[str] = (),
        producer_id_filters: Collection[int] = (),
        duration_filter_ms: int = -1,
    ) -> ListTransactionsResponse:
        """ListTransactions: every id this coordinator owns, but Dead ones (being removed),
        kept by each filter given: a state among ``state_filters`` (Kafka's names), a
        producer id among ``producer_id_filters``, running longer than ``duration_filter_ms``
        (Kafka: ``TransactionStateManager.listTransactionStates``). A state name Kafka does
        not know is answered back in ``unknown_state_filters``; it matches nothing."""
        by_name = {state.kafka_name: state for state in TxnState}
        states = {by_name[n] for n in state_filters if n in by_name}
        unknown = [n for n in state_filters if n not in by_name]

        def kept(txn: TxnMetadata) -> bool:
            if txn.state == S.DEAD:
                return False
            if producer_id_filters and txn.producer_id not in producer_id_filters:
                return False
            if state_filters and txn.state not in states:
                return False
            # As Kafka: start_ms is -1 until the first transaction, which counts as running
            # long; a complete one keeps its start.
            return duration_filter_ms < 0 or now_ms - txn.start_ms > duration_filter_ms

        return ListTransactionsResponse(
            unknown_state_filters=unknown,
            transaction_states=[
                ListedTxn(
                    transactional_id=t.transactional_id,
                    producer_id=t.producer_id,
                    transaction_state=t.state.kafka_name,
                )
                for t in sorted(self.txns.values(), key=lambda t: t.transactional_id)
                if kept(t)
            ],
        )

    def describe_transaction(self, transactional_id: str) -> DescribedTxn:
        """DescribeTransactions for one id this coordinator owns (Kafka:
        ``TransactionCoordinator.handleDescribeTransactions``): TRANSACTIONAL_ID_NOT_FOUND
        for an id it does not know, or a Dead one."""
        txn = self.txns.get(transactional_id)
        if txn is None or txn.state == S.DEAD:
            return DescribedTxn(
                error_code=ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactional_id=transactional_id
            )
        by_topic: dict[str, list[int]] = {}
        for tp in sorted(txn.partitions):
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        return DescribedTxn(
            error_code=ErrorCode.NONE,
            transactional_id=transactional_id,
            transaction_state=txn.state.kafka_name,
            transaction_timeout_ms=txn.timeout_ms,
            transaction_start_time_ms=txn.start_ms,
            producer_id=txn.producer_id,
            producer_epoch=txn.producer_epoch,
            topics=[
                TopicData(topic=topic, partitions=partitions)
                for topic, partitions in by_topic.items()
            ],
        )

    # -- what the host does for the core ----------------------------------------------------
    def copy_of(self, transactional_id: str) -> TxnMetadata | None:
        """The id's metadata as it is now, apart from what later changes do to it."""
        txn = self.txns.get(transactional_id)
        return None if txn is None else replace(txn, partitions=set(txn.partitions))

    def revert(self, transactional_id: str, before: TxnMetadata | None) -> None:
        """The log refused the record of the id's last change: it did not happen, and the
        id is again as :meth:`copy_of` gave it (None: it was unknown)."""
        if before is None:
            self.txns.pop(transactional_id, None)
        else:
            self.txns[transactional_id] = before

    def take_writes(self) -> list[tuple[str, TxnLogValue]]:
        writes, self._writes = self._writes, []
        return writes

    def take_markers(self) -> list[MarkerJob]:
        markers, self._markers = self._markers, []
        return markers

    def pending_markers(self) -> list[MarkerJob]:
        """Markers of every transaction still in a Prepare state (after a load, say)."""
        return [
            MarkerJob(
                t.transactional_id,
                t.producer_id,
                t.producer_epoch,
                t.state == S.PREPARE_COMMIT,
                frozenset(t.partitions),
            )
            for t in self.txns.values()
            if t.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT)
        ]

    def load(self, transactional_id: str, value: TxnLogValue | None) -> None:
        """One record of ``__transaction_state`` read back (None: a tombstone)."""
        if value is None:
            self.txns.pop(transactional_id, None)
            return
        self.txns[transactional_id] = TxnMetadata(
            transactional_id,
            value.producer_id,
            value.producer_epoch,
            value.timeout_ms,
            value.state,
            set(value.partitions),
            value.start_ms,
            value.last_update_ms,
        )

    def unload(self, transactional_ids: Iterable[str]) -> None:
        for t in list(transactional_ids):
            self.txns.pop(t, None)
