"""Records handed over together that only join the open batch end up as if each was sent."""

from __future__ import annotations

from reflog.producer import Producer

from .scripted import ScriptedBroker, producer_config


def scripted() -> ScriptedBroker:
    # batch.size 150: a batch holds five 10-byte values (30 bytes each, with the overhead).
    broker = ScriptedBroker(producer_config(linger_ms=50, batch_size=150), partitions=3)
    broker.run()  # metadata and the producer id
    return broker


def hand_over(producer: Producer, records: list[tuple[bytes, int]]) -> None:
    """As the simulated workload does: joiners together, any other record through send."""
    handed = 0
    while handed < len(records):
        handed += producer.join_open_batch("t", records[handed:])
        if handed < len(records):
            value, sent_ms = records[handed]
            producer.send("t", value, now_ms=sent_ms)
            handed += 1


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


def test_records_joining_the_open_batch_together_make_the_batches_one_by_one_sends_make() -> None:
    one_by_one, together = scripted(), scripted()
    records = [(b"value-%04d" % i, i // 2) for i in range(23)]  # two a millisecond
    for value, sent_ms in records:
        one_by_one.producer.send("t", value, now_ms=sent_ms)
    hand_over(together.producer, records)
    sent = delivered(one_by_one)
    assert delivered(together) == sent
    assert [len(values) for _, values, _ in sent] == [5, 5, 5, 5, 3]  # full ones, then the rest
    results = one_by_one.producer.take_results()
    assert together.producer.take_results() == results  # the same send ids, where they landed
    assert sorted(r.send_id for r in results) == list(range(23))


def test_only_records_that_fit_the_open_batch_join_it() -> None:
    broker = scripted()
    assert broker.producer.join_open_batch("t", [(b"value-0000", 0)]) == 0  # no batch open
    broker.producer.send("t", b"value-0000", now_ms=0)  # opens one
    joining = [(b"value-%04d" % i, 1) for i in range(1, 10)]
    assert broker.producer.join_open_batch("t", joining) == 4  # then it is full
    assert broker.producer.pending_count == 5
