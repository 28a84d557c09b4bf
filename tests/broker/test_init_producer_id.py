"""InitProducerId on a broker: producer ids from the controller's blocks, never twice."""

from __future__ import annotations

from reflog.broker import Respond
from reflog.controller.producer_id_manager import ProducerIdManager
from reflog.controller.quorum_controller import PRODUCER_ID_BLOCK_SIZE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.quorum import AllocateProducerIdsResponse

from .conftest import Client, LoneBroker


def init_producer_id(client: Client, version: int = 4, **fields: object) -> InitProducerIdResponse:
    [answer] = client.send(InitProducerIdRequest(**fields), version=version)  # type: ignore[arg-type]
    assert isinstance(answer, Respond) and isinstance(answer.response, InitProducerIdResponse)
    return answer.response


def test_an_idempotent_producer_gets_a_producer_id_and_epoch_zero_in_every_version(
    client: Client,
) -> None:
    answers = [init_producer_id(client, version=v) for v in range(6)]
    assert [a.error_code for a in answers] == [ErrorCode.NONE] * 6
    assert [a.producer_epoch for a in answers] == [0] * 6
    assert len({a.producer_id for a in answers}) == 6


def test_the_first_producer_waits_for_the_block_and_a_restart_writes_no_record_unasked(
    lone: LoneBroker,
) -> None:
    assert lone.controller.image.next_producer_id == 0
    lone.restart()
    assert lone.controller.image.next_producer_id == 0  # nobody asked for an id
    first = init_producer_id(Client(lone))  # the block is fetched, then the answer sent
    assert (first.error_code, first.producer_id) == (ErrorCode.NONE, 0)
    assert lone.controller.image.next_producer_id == PRODUCER_ID_BLOCK_SIZE


def test_producer_ids_never_repeat_across_blocks_and_broker_restarts(lone: LoneBroker) -> None:
    client = Client(lone)
    seen = [init_producer_id(client).producer_id for _ in range(PRODUCER_ID_BLOCK_SIZE + 10)]
    lone.restart()
    client = Client(lone)
    seen += [init_producer_id(client).producer_id for _ in range(10)]
    assert len(set(seen)) == len(seen)
    assert min(seen) >= 0
    # The controller committed each block before handing it out: none is above its mark.
    assert max(seen) < lone.controller.image.next_producer_id


def test_a_v3_request_naming_its_old_producer_id_still_gets_a_new_one(client: Client) -> None:
    first = init_producer_id(client)
    again = init_producer_id(client, producer_id=first.producer_id, producer_epoch=0)
    assert again.error_code == ErrorCode.NONE
    assert (again.producer_id, again.producer_epoch) != (first.producer_id, 0)


def test_a_transactional_id_goes_to_its_transaction_coordinator_not_the_idempotent_path(
    client: Client,
) -> None:
    # __transaction_state does not exist yet: the coordinator is not available (the
    # client asks FindCoordinator first, which creates it; see tests/broker/test_transactions).
    answer = init_producer_id(client, transactional_id="txn", transaction_timeout_ms=60_000)
    assert answer.error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
    assert answer.producer_id == -1


# -- the broker's id supply on its own ------------------------------------------------------


def block(start: int, length: int = 100) -> AllocateProducerIdsResponse:
    return AllocateProducerIdsResponse(
        error_code=ErrorCode.NONE, producer_id_start=start, producer_id_len=length
    )


def test_a_broker_asks_for_ids_only_once_a_producer_wants_one() -> None:
    ids = ProducerIdManager(broker_id=1)
    assert ids.request(0, broker_epoch=7) is None  # nobody asked: no metadata write
    assert ids.generate() is None
    assert ids.request(0, broker_epoch=-1) is None  # not registered: it would be refused
    request = ids.request(0, broker_epoch=7)
    assert request is not None and (request.broker_id, request.broker_epoch) == (1, 7)
    assert ids.request(0, broker_epoch=7) is None  # one request at a time


def test_a_failed_request_is_retried_after_a_backoff() -> None:
    ids = ProducerIdManager(broker_id=1)
    assert ids.generate() is None
    assert ids.request(0, broker_epoch=7) is not None
    ids.on_response(10, AllocateProducerIdsResponse(error_code=ErrorCode.NOT_CONTROLLER))
    assert ids.generate() is None
    deadline = ids.next_deadline_ms(broker_epoch=7)
    assert deadline is not None and deadline > 10
    assert ids.request(deadline - 1, broker_epoch=7) is None
    assert ids.request(deadline, broker_epoch=7) is not None


def test_the_next_block_is_fetched_before_the_current_one_runs_out() -> None:
    ids = ProducerIdManager(broker_id=1)
    assert ids.generate() is None
    assert ids.request(0, broker_epoch=7) is not None
    ids.on_response(0, block(1000))
    handed = [ids.generate() for _ in range(89)]
    assert ids.request(0, broker_epoch=7) is None  # 11 left: not yet
    handed.append(ids.generate())
    assert ids.request(0, broker_epoch=7) is not None  # 10 left: ask now
    ids.on_response(0, block(5000))
    handed += [ids.generate() for _ in range(12)]
    assert handed == [*range(1000, 1100), 5000, 5001]
