"""The idempotent producer core against scripted broker answers: ids, sequences, retries.

Each test plays one story from Kafka's idempotent producer (KIP-98, KIP-360): what the
producer stamps on its batches, what it sends again after a lost answer, and what it
does when the broker says a sequence is out of order, unknown or fenced.
"""

from __future__ import annotations

import pytest

from reflog.producer import ProducerConfig
from reflog.records.batch import NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE
from reflog.wire.errors import ErrorCode

from .scripted import ScriptedBroker, producer_config

BACKOFF = producer_config().retry_backoff_ms


def test_the_producer_asks_for_an_id_first_and_stamps_it_on_every_batch() -> None:
    broker = ScriptedBroker(producer_config(), partitions=2)
    broker.introduce(partition=0)
    broker.send(b"a", b"b", partition=0)
    broker.send(b"c", partition=1)
    broker.send(b"d", partition=0)
    assert broker.init_requests == 1
    sent = broker.take_produced()
    # Sequences count records per partition from 0 (the introduction was 0 in partition
    # 0): the next batch of partition 0 starts after the two records of the one before.
    assert [(p.tp.partition, p.ids) for p in sent] == [
        (0, (7, 0, 1)),
        (1, (7, 0, 0)),
        (0, (7, 0, 3)),
    ]


def test_a_partition_sends_one_batch_at_a_time_until_the_leader_knows_the_producer() -> None:
    # A leader takes any first sequence from a producer it does not know: were the first
    # batch lost and the second delivered, the second would be written first.
    broker = ScriptedBroker(producer_config())
    broker.send(b"a")
    broker.send(b"b")
    [a] = broker.take_produced()
    broker.answer(a.send, base_offset=0)
    broker.send(b"c")
    b, c = broker.take_produced()
    assert (b.values, c.values) == ([b"b"], [b"c"])


def test_records_wait_for_the_producer_id_and_init_is_retried_after_a_retriable_error() -> None:
    broker = ScriptedBroker(
        producer_config(), init_errors=(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,)
    )
    broker.send(b"a")
    assert broker.take_produced() == []  # no id yet: nothing goes
    assert broker.producer.next_deadline_ms() == BACKOFF
    broker.run(BACKOFF)
    assert broker.init_requests == 2
    [first] = broker.take_produced()
    assert first.ids == (7, 0, 0)


def test_a_lost_answer_is_retried_with_the_same_sequence_and_gets_the_original_offset() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    [send_id] = broker.send(b"a")
    [first] = broker.take_produced()
    broker.lose_connection()  # the batch may be in the log: the producer cannot know
    broker.run(BACKOFF)
    [retry] = broker.take_produced()
    assert retry.ids == first.ids  # the same numbers: a broker that has it says so
    assert retry.values == [b"a"]
    broker.answer(retry.send, ErrorCode.NONE, base_offset=41)  # the original offset
    [result] = broker.producer.take_results()
    assert (result.send_id, result.offset, result.error) == (send_id, 41, ErrorCode.NONE)


def test_a_duplicate_sequence_answer_counts_as_written() -> None:
    broker = ScriptedBroker(producer_config())
    broker.send(b"a")
    [first] = broker.take_produced()
    broker.answer(first.send, ErrorCode.DUPLICATE_SEQUENCE_NUMBER, base_offset=-1)
    [result] = broker.producer.take_results()
    assert result.error == ErrorCode.NONE


def test_up_to_five_batches_of_a_partition_are_in_flight_and_the_sixth_waits() -> None:
    broker = ScriptedBroker(producer_config(linger_ms=1_000, batch_size=10))
    broker.introduce()
    for i in range(6):
        broker.send(b"%d" % i)
        broker.producer.flush()
        broker.run()
    sent = broker.take_produced()
    assert [p.batch.base_sequence for p in sent] == [1, 2, 3, 4, 5]
    broker.answer(sent[0].send, base_offset=1)
    [sixth] = broker.take_produced()
    assert sixth.batch.base_sequence == 6


def test_retries_after_a_broken_connection_go_one_at_a_time_in_send_order() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    for value in (b"a", b"b", b"c"):
        broker.send(value)
    assert [p.batch.base_sequence for p in broker.take_produced()] == [1, 2, 3]
    broker.lose_connection()
    broker.run(BACKOFF)
    # Only the first goes again: the others wait for its answer, so that however the
    # retries fare, the log gets a, b, c in this order.
    [again] = broker.take_produced()
    assert again.values == [b"a"]
    broker.answer(again.send, base_offset=1)
    [b] = broker.take_produced()
    assert b.values == [b"b"]
    broker.answer(b.send, base_offset=2)
    [c] = broker.take_produced()
    assert (c.values, c.batch.base_sequence) == ([b"c"], 3)


def test_out_of_order_for_a_batch_behind_an_unanswered_one_is_retried_as_it_is() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    broker.send(b"a")
    broker.send(b"b")
    a, b = broker.take_produced()
    broker.answer(a.send, ErrorCode.NOT_LEADER_OR_FOLLOWER)  # a was not written...
    broker.answer(b.send, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)  # ...so b came too early
    broker.run(BACKOFF)
    [a_again] = broker.take_produced()
    assert a_again.ids == a.ids  # no new epoch: the gap is a's, and a is on its way
    broker.answer(a_again.send, base_offset=1)
    [b_again] = broker.take_produced()
    assert b_again.ids == b.ids
    assert broker.producer.idempotence is not None
    assert broker.producer.idempotence.epoch_bumps == 0


def test_a_gap_right_after_acknowledged_batches_bumps_the_epoch_and_renumbers_from_zero() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    broker.send(b"a")
    broker.send(b"b")
    a, b = broker.take_produced()
    broker.answer(a.send, base_offset=1)
    # The broker acknowledged a, yet wants another number than b's: it lost what it
    # acknowledged (an unclean election). KIP-360: a new epoch, sequences from 0.
    broker.answer(b.send, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    broker.run(BACKOFF)
    [b_again] = broker.take_produced()
    assert b_again.ids == (7, 1, 0)
    assert b_again.values == [b"b"]
    broker.send(b"c")
    [c] = broker.take_produced()
    assert c.ids == (7, 1, 1)


def test_unknown_producer_id_bumps_the_epoch_only_after_the_partition_s_answers_are_back() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    broker.send(b"a")
    broker.send(b"b")
    a, b = broker.take_produced()
    broker.answer(a.send, ErrorCode.UNKNOWN_PRODUCER_ID, log_start_offset=10)
    broker.run(BACKOFF)
    # b is still on the wire under epoch 0: renumbering now could give a and b the same
    # numbers under two epochs. The producer waits for b's answer.
    assert broker.take_produced() == []
    broker.answer(b.send, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    broker.run(2 * BACKOFF)
    [a_again] = broker.take_produced()
    assert a_again.ids == (7, 1, 0)
    broker.answer(a_again.send, base_offset=10)
    [b_again] = broker.take_produced()
    assert b_again.ids == (7, 1, 1)


def test_unknown_producer_id_without_a_log_start_offset_is_retried_unchanged() -> None:
    broker = ScriptedBroker(producer_config())
    broker.send(b"a")
    [a] = broker.take_produced()
    broker.answer(a.send, ErrorCode.UNKNOWN_PRODUCER_ID, log_start_offset=-1)
    broker.run(BACKOFF)
    [a_again] = broker.take_produced()
    assert a_again.ids == a.ids


def test_a_batch_refused_for_good_fails_and_the_batches_behind_it_are_renumbered() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    [too_big_id] = broker.send(b"a")
    broker.send(b"b")
    a, b = broker.take_produced()
    broker.answer(a.send, ErrorCode.MESSAGE_TOO_LARGE)
    [failed] = broker.producer.take_results()
    assert (failed.send_id, failed.error) == (too_big_id, ErrorCode.MESSAGE_TOO_LARGE)
    # b's number now follows a hole that will never be filled: after its answer, b is
    # renumbered under a new epoch.
    broker.answer(b.send, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    broker.run(BACKOFF)
    [b_again] = broker.take_produced()
    assert b_again.ids == (7, 1, 0)


def test_a_batch_whose_answer_was_lost_counts_as_written_once_a_later_one_is_acknowledged() -> None:
    broker = ScriptedBroker(producer_config())
    broker.introduce()
    [a_id] = broker.send(b"a")
    broker.send(b"b")
    _, b = broker.take_produced()
    # The simulated network lost a's answer but delivered b's: the leader appends a
    # producer's batches only in sequence order, so b in the log means a is there too.
    broker.answer(b.send, base_offset=2)
    broker.lose_connection()  # a's request times out
    # No retry: one would be too old for the leader's last five batches to recognise once
    # more batches follow, and refused as out of order.
    assert broker.take_produced() == []
    results = {r.send_id: r for r in broker.producer.take_results()}
    assert results[a_id].error == ErrorCode.NONE
    assert results[a_id].offset == -1  # written, at an offset only its lost answer said
    assert broker.producer.pending_count == 0


def test_a_fenced_producer_fails_its_records_and_every_later_send() -> None:
    broker = ScriptedBroker(producer_config(linger_ms=1_000))
    broker.send(b"a")
    broker.producer.flush()
    broker.run()
    [a] = broker.take_produced()
    broker.producer.send("t", b"waiting", now_ms=0)  # in an open batch
    broker.answer(a.send, ErrorCode.INVALID_PRODUCER_EPOCH)
    results = broker.producer.take_results()
    assert [r.error for r in results] == [ErrorCode.INVALID_PRODUCER_EPOCH] * 2
    assert broker.producer.fatal_error == ErrorCode.INVALID_PRODUCER_EPOCH
    broker.producer.send("t", b"later", now_ms=0)
    [later] = broker.producer.take_results()
    assert later.error == ErrorCode.INVALID_PRODUCER_EPOCH
    assert broker.producer.pending_count == 0


def test_a_broker_without_init_producer_id_fails_an_idempotent_producer() -> None:
    broker = ScriptedBroker(producer_config(), offer_init_producer_id=False)
    broker.send(b"a")
    [result] = broker.producer.take_results()
    assert result.error == ErrorCode.UNSUPPORTED_VERSION


def test_without_idempotence_batches_carry_no_ids_and_one_per_partition_is_in_flight() -> None:
    broker = ScriptedBroker(producer_config(enable_idempotence=False))
    broker.send(b"a")
    broker.send(b"b")
    [a] = broker.take_produced()
    assert broker.init_requests == 0
    assert a.ids == (NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE)
    broker.answer(a.send, base_offset=0)
    [b] = broker.take_produced()
    assert b.values == [b"b"]


def test_idempotence_is_on_by_default_and_quietly_off_with_acks_1_as_in_kafka() -> None:
    servers = (("b", 1),)
    assert ProducerConfig(bootstrap_servers=servers).idempotent
    assert not ProducerConfig(bootstrap_servers=servers, acks=1).idempotent
    assert not ProducerConfig(bootstrap_servers=servers, enable_idempotence=False).idempotent
    with pytest.raises(ValueError, match="acks to all"):
        ProducerConfig(bootstrap_servers=servers, acks=1, enable_idempotence=True)
    with pytest.raises(ValueError, match="at most 5"):
        ProducerConfig(
            bootstrap_servers=servers,
            enable_idempotence=True,
            max_in_flight_requests_per_connection=6,
        )
