"""reflog's own transactional producer and read_committed consumer over real sockets,
against a reflog broker process."""

from __future__ import annotations

import asyncio
import importlib
import random

import pytest

from reflog.consumer import Consumer, ConsumerConfig, ConsumerRecord
from reflog.net.client import ClientRunner, now_ms
from reflog.producer import Producer, ProducerConfig
from reflog.producer.transactions import TransactionState
from reflog.topic_partition import TopicPartition
from tests.broker_process import BrokerProcess

pytestmark = pytest.mark.clients


def read(bootstrap: tuple[tuple[str, int], ...], topic: str, isolation: str, n: int) -> list[bytes]:
    async def scenario() -> list[bytes]:
        consumer = Consumer(
            ConsumerConfig(
                bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level=isolation
            )
        )
        consumer.assign([TopicPartition(topic, 0)], now_ms())
        records: list[ConsumerRecord] = []

        def enough() -> bool:
            records.extend(consumer.poll())
            return len(records) >= n

        runner = ClientRunner(consumer)
        await runner.run_until(enough, timeout_s=5)
        await runner.close()
        return [r.value or b"" for r in records]

    return asyncio.run(scenario())


def test_reflogs_producer_commits_and_aborts_and_its_read_committed_consumer_sees_the_commits(
    broker: BrokerProcess,
) -> None:
    bootstrap = (("127.0.0.1", broker.port),)
    topic = "reflog-txn"

    async def scenario() -> None:
        config = ProducerConfig(bootstrap_servers=bootstrap, transactional_id="reflog-txn-1")
        producer = Producer(config, random.Random(1))
        runner = ClientRunner(producer)
        txns = producer.transactions
        assert txns is not None
        producer.init_transactions()
        assert await runner.run_until(lambda: producer.transaction_idle, timeout_s=20)
        assert txns.state is TransactionState.READY
        for label, commit in ((b"committed", True), (b"aborted", False), (b"again", True)):
            producer.begin_transaction()
            for i in range(3):
                producer.send(topic, label + b"-%d" % i, partition=0, now_ms=now_ms())
            if commit:
                producer.commit_transaction()
            else:  # once written: abort fails the records not yet sent
                producer.flush()
                assert await runner.run_until(lambda: producer.pending_count == 0, timeout_s=20)
                producer.abort_transaction()
            assert await runner.run_until(lambda: producer.transaction_idle, timeout_s=20)
            assert txns.state is TransactionState.READY, txns.error
        await runner.close()

    asyncio.run(scenario())
    committed = [b"committed-0", b"committed-1", b"committed-2", b"again-0", b"again-1", b"again-2"]
    assert read(bootstrap, topic, "read_committed", 6) == committed
    assert len(read(bootstrap, topic, "read_uncommitted", 9)) == 9


def test_reflogs_producer_commits_consumed_offsets_only_with_its_transaction(
    broker: BrokerProcess,
) -> None:
    bootstrap = (("127.0.0.1", broker.port),)
    ck = importlib.import_module("confluent_kafka")  # missing: the test fails

    async def scenario() -> None:
        config = ProducerConfig(bootstrap_servers=bootstrap, transactional_id="reflog-txn-2")
        producer = Producer(config, random.Random(1))
        runner = ClientRunner(producer)
        producer.init_transactions()
        assert await runner.run_until(lambda: producer.transaction_idle, timeout_s=20)
        for offset, commit in ((3, True), (7, False)):
            producer.begin_transaction()
            producer.send("reflog-txn-out", b"x", partition=0, now_ms=now_ms())
            producer.send_offsets_to_transaction({TopicPartition("reflog-txn-in", 0): offset}, "g2")
            if commit:
                producer.commit_transaction()
            else:  # once written: abort fails the records not yet sent
                producer.flush()
                assert await runner.run_until(lambda: producer.pending_count == 0, timeout_s=20)
                producer.abort_transaction()
            assert await runner.run_until(lambda: producer.transaction_idle, timeout_s=20)
            assert producer.transactions is not None
            assert producer.transactions.state is TransactionState.READY
        await runner.close()

    asyncio.run(scenario())
    view = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g2"})
    [committed] = view.committed([ck.TopicPartition("reflog-txn-in", 0)], timeout=20)
    view.close()
    assert committed.offset == 3  # the aborted transaction's 7 never counted
