"""Keyless records handed over together (Producer.send_keyless, as the simulated producer
workload does) end up exactly as if each had gone through send."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reflog.producer import Producer
from reflog.wire.errors import ErrorCode

from .scripted import ScriptedBroker, producer_config

Records = list[tuple[bytes, int]]


def scripted() -> ScriptedBroker:
    # batch.size 150: a batch holds five 10-byte values (30 bytes each, with the overhead).
    return ScriptedBroker(producer_config(linger_ms=50, batch_size=150), partitions=3)


def one_by_one(producer: Producer, records: Records) -> None:
    for value, sent_ms in records:
        producer.send("t", value, now_ms=sent_ms)


def together(producer: Producer, records: Records) -> None:
    producer.send_keyless("t", records)


def delivered(broker: ScriptedBroker) -> list[tuple[int, list[bytes | None], list[int]]]:
    """Flush, then answer every batch until all are written: (partition, values, timestamps)
    of each batch, in the order they went."""
    broker.producer.flush()
    broker.run(20)
    batches = []
    while broker.unanswered:
        batches += [
            (p.tp.partition, p.values, [r.timestamp for r in p.batch.records()])
            for p in broker.take_produced()
        ]
        for request in list(broker.unanswered):
            broker.answer(request, base_offset=len(batches) * 100)
    return batches


RECORDS = [(b"value-%04d" % i, i // 2) for i in range(23)]  # two a millisecond


def test_records_sent_together_make_the_batches_one_by_one_sends_make() -> None:
    singly, jointly = scripted(), scripted()
    for broker, send in ((singly, one_by_one), (jointly, together)):
        broker.run()  # metadata and the producer id: most records only join the open batch
        send(broker.producer, RECORDS)
    sent = delivered(singly)
    assert delivered(jointly) == sent
    assert [len(values) for _, values, _ in sent] == [5, 5, 5, 5, 3]  # full ones, then the rest
    results = singly.producer.take_results()
    assert jointly.producer.take_results() == results  # the same send ids, where they landed
    assert sorted(r.send_id for r in results) == list(range(23))


def start_flushing(broker: ScriptedBroker) -> None:
    broker.run()
    broker.producer.send("t", b"value-open", now_ms=0)  # an open batch, then a flush asked
    broker.producer.flush()


def no_metadata_yet(broker: ScriptedBroker) -> None:
    """Nothing run: the records wait for the topic's partitions, behind one another."""


def another_topic_waiting(broker: ScriptedBroker) -> None:
    """A batch of "t" is open while a record of topic "u" (which metadata never lists)
    waits for its partitions: send still puts records of "t" in t's batch at once."""
    broker.run()
    broker.producer.send("t", b"value-open", now_ms=0)
    broker.producer.send("u", b"value-of-u", now_ms=0)
    broker.run()


def fenced(broker: ScriptedBroker) -> None:
    """An answer fences the producer (a newer epoch exists): every record fails."""
    broker.run()
    broker.producer.send("t", b"value-first", now_ms=0)
    broker.producer.flush()
    broker.run()
    [first] = broker.take_produced()
    broker.answer(first.send, ErrorCode.INVALID_PRODUCER_EPOCH)
    assert broker.producer.fatal_error == ErrorCode.INVALID_PRODUCER_EPOCH


@pytest.mark.parametrize(
    "setup",
    [start_flushing, no_metadata_yet, another_topic_waiting, fenced],
    ids=["while a flush is asked", "before metadata", "behind another topic", "fenced"],
)
def test_records_sent_together_in_any_state_end_as_one_by_one_sends_end(
    setup: Callable[[ScriptedBroker], None],
) -> None:
    singly, jointly = scripted(), scripted()
    for broker, send in ((singly, one_by_one), (jointly, together)):
        setup(broker)
        send(broker.producer, RECORDS)
    assert jointly.producer.pending_count == singly.producer.pending_count
    assert delivered(jointly) == delivered(singly)
    assert jointly.producer.take_results() == singly.producer.take_results()


def test_only_records_that_fit_the_open_batch_join_it() -> None:
    broker = scripted()
    broker.run()
    records = [(b"value-%04d" % i, 1) for i in range(10)]
    assert broker.producer._join_open_batch("t", records, 0) == 0  # no batch open
    broker.producer.send("t", b"value-0000", now_ms=0)  # opens one
    assert broker.producer._join_open_batch("t", records, 1) == 4  # then it is full
    assert broker.producer.pending_count == 5
