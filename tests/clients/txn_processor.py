"""A consume-transform-produce processor with confluent-kafka, as an OS process of its own,
for the test that kills it with SIGKILL and starts it again.

Run: ``python -m tests.clients.txn_processor BOOTSTRAP``. It reads ``txn-in`` (its
``PARTITIONS`` partitions, from the offsets group ``GROUP`` committed) and writes, for each
input record ``v`` at partition p, ``result-v`` to partition p of ``txn-out``. Each batch
read is one transaction: its results and the input offsets after them
(send_offsets_to_transaction), committed together. A new instance's init_transactions
fences a killed one and aborts what it left open, so the offsets it resumes from and the
results already committed always agree: each input's result is committed exactly once.
"""

from __future__ import annotations

import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

INPUT = "txn-in"
OUTPUT = "txn-out"
PARTITIONS = 3
GROUP = "txn-processor"
TRANSACTIONAL_ID = "txn-processor"
BATCH = 20  # input records per transaction, at most
TIMEOUT_S = 30


def rewind(consumer: Consumer, partitions: list[TopicPartition]) -> None:
    """After an abort: read again from the offsets last committed."""
    for tp in consumer.committed(partitions, timeout=TIMEOUT_S):
        if tp.offset < 0:
            tp.offset = 0  # nothing committed yet: from the start, as auto.offset.reset says
        consumer.seek(tp)


def run(bootstrap: str) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": TRANSACTIONAL_ID,
            "transaction.timeout.ms": 10_000,
        }
    )
    # Before reading any offset: fences the killed instance and waits for what it left
    # open to be aborted, so the committed offsets read next are final.
    producer.init_transactions(TIMEOUT_S)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    partitions = [TopicPartition(INPUT, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    while True:
        messages = [m for m in consumer.consume(BATCH, 1.0) if m.error() is None]
        if not messages:
            continue
        producer.begin_transaction()
        after: dict[int, int] = {}
        for m in messages:
            partition, offset, value = m.partition(), m.offset(), m.value()
            assert partition is not None and offset is not None and isinstance(value, bytes)
            producer.produce(OUTPUT, value=b"result-" + value, partition=partition)
            after[partition] = offset + 1
        offsets = [TopicPartition(INPUT, p, o) for p, o in sorted(after.items())]
        try:
            producer.send_offsets_to_transaction(
                offsets, consumer.consumer_group_metadata(), TIMEOUT_S
            )
            producer.commit_transaction(TIMEOUT_S)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if not error.txn_requires_abort():
                raise  # fatal (fenced) or out of retries: the process ends, to be restarted
            producer.abort_transaction(TIMEOUT_S)
            rewind(consumer, partitions)


if __name__ == "__main__":
    run(sys.argv[1])
