"""``reflog transactions`` against a real ``reflog broker`` process while kafka-python's
transactional producer writes: list, describe and describe-producers print
kafka-transactions.sh's tables; find-hanging finds a transaction no coordinator will end,
and abort --start-offset ends it so that a read_committed consumer reads past it. Bad input
and Kafka errors are one line on stderr and exit status 1."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from reflog.records import build_batch
from reflog.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from reflog.wire.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from tests.broker_process import BrokerProcess, running_broker
from tests.cluster_process import wait_for
from tests.net.wire_client import WireClient

from .test_reflog_clients import reflog_cli as cli

pytestmark = pytest.mark.clients


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("broker")
    with running_broker(data_dir, "--num-partitions", "1") as b:
        yield b


def transactions(broker: BrokerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("transactions", "--bootstrap-server", broker.bootstrap, *args)


def table(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
    """The printed table's rows split into cells: Kafka's tools end every cell with a tab."""
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(line.endswith("\t") for line in lines), lines
    return [[cell.strip() for cell in line.split("\t")[:-1]] for line in lines]


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("reflog transactions: "), result.stderr
    return result.stderr.removeprefix("reflog transactions: ").strip()


def test_list_describe_and_describe_producers_print_kafka_transactions_tables(
    broker: BrokerProcess,
) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="cli-txn")
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(4):
        producer.send("cli-txn", value=b"v%d" % i, partition=0)
    producer.flush()

    header, *rows = table(transactions(broker, "list"))
    assert header == ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]
    [(producer_id, state)] = [(r[2], r[3]) for r in rows if r[0] == "cli-txn"]
    assert state == "Ongoing"
    # --bootstrap-server may also follow the command.
    after = cli("transactions", "list", "--bootstrap-server", broker.bootstrap)
    assert ["cli-txn", "0", producer_id, "Ongoing"] in table(after)

    header, row = table(transactions(broker, "describe", "--transactional-id", "cli-txn"))
    assert header == [
        "CoordinatorId",
        "TransactionalId",
        "ProducerId",
        "ProducerEpoch",
        "TransactionState",
        "TransactionTimeoutMs",
        "CurrentTransactionStartTimeMs",
        "TransactionDurationMs",
        "TopicPartitions",
    ]
    assert row[:6] == ["0", "cli-txn", producer_id, "0", "Ongoing", "60000"]
    started = row[6]
    assert abs(int(started) - time.time() * 1000) < 60_000
    assert 0 <= int(row[7]) < 60_000
    assert row[8] == "cli-txn-0"

    header, row = table(
        transactions(broker, "describe-producers", "--topic", "cli-txn", "--partition", "0")
    )
    assert header == [
        "ProducerId",
        "ProducerEpoch",
        "LatestCoordinatorEpoch",
        "LastSequence",
        "LastTimestamp",
        "CurrentTransactionStartOffset",
    ]
    assert [row[i] for i in (0, 1, 2, 3, 5)] == [producer_id, "0", "-1", "3", "0"]
    on_replica = transactions(
        broker, "describe-producers", "--topic", "cli-txn", "--partition", "0", "--broker-id", "0"
    )
    assert table(on_replica)[1] == row

    producer.commit_transaction()
    producer.close()

    def committed() -> bool:
        return ["cli-txn", "0", producer_id, "CompleteCommit"] in table(
            transactions(broker, "list")
        )

    wait_for(committed, 20, "CompleteCommit in the list")
    row = table(transactions(broker, "describe", "--transactional-id", "cli-txn"))[1]
    # As Kafka: a complete transaction keeps its start time, and has no partitions left.
    assert [row[i] for i in (4, 5, 6, 8)] == ["CompleteCommit", "60000", started, ""]
    row = table(
        transactions(broker, "describe-producers", "--topic", "cli-txn", "--partition", "0")
    )[1]
    assert row[5] == "None"  # no transaction open any more
    # A duration filter longer than it ran (it began moments ago) leaves it out.
    assert table(transactions(broker, "list", "--duration-filter", "86400000"))[1:] == []


def write_hanging_batch(broker: BrokerProcess, topic: str) -> int:
    """A transactional batch from a producer id no transactional id has: no coordinator
    will ever write its marker (the hanging transaction of KIP-664). Its producer id."""
    client = WireClient(broker.bootstrap)
    try:
        init = client.call(InitProducerIdRequest(transactional_id=None))
        assert isinstance(init, InitProducerIdResponse) and init.error_code == 0
        batch = build_batch(
            [(None, b"hanging", int(time.time() * 1000))],
            producer_id=init.producer_id,
            producer_epoch=init.producer_epoch,
            base_sequence=0,
            is_transactional=True,
        )
        data = TopicProduceData(name=topic, partition_data=[PartitionProduceData(0, batch)])
        produced = client.call(ProduceRequest(acks=-1, timeout_ms=5_000, topic_data=[data]))
        assert isinstance(produced, ProduceResponse)
        assert produced.responses[0].partition_responses[0].error_code == 0
        return init.producer_id
    finally:
        client.close()


def test_find_hanging_finds_a_transaction_no_coordinator_will_end_and_abort_ends_it(
    broker: BrokerProcess,
) -> None:
    broker.create_topic("cli-hanging")
    hanging_id = write_hanging_batch(broker, "cli-hanging")
    # A live transaction on the same partition: its coordinator will end it, so it is
    # not hanging.
    live = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="cli-live")
    live.init_transactions()
    live.begin_transaction()
    live.send("cli-hanging", value=b"live", partition=0)
    live.flush()
    after = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(2):
        after.send("cli-hanging", value=b"after-%d" % i, partition=0)
    after.flush()
    after.close()

    found = table(
        transactions(
            broker, "find-hanging", "--topic", "cli-hanging", "--max-transaction-timeout", "0"
        )
    )
    assert found[0] == [
        "Topic",
        "Partition",
        "ProducerId",
        "ProducerEpoch",
        "CoordinatorEpoch",
        "StartOffset",
        "LastTimestamp",
        "Duration(min)",
    ]
    assert [row[:6] for row in found[1:]] == [["cli-hanging", "0", str(hanging_id), "0", "-1", "0"]]
    # With the default 15 minutes, it is too young to count.
    young = transactions(broker, "find-hanging", "--broker-id", "0")
    assert table(young)[1:] == []

    aborted = transactions(
        broker, "abort", "--topic", "cli-hanging", "--partition", "0", "--start-offset", "0"
    )
    assert aborted.returncode == 0 and aborted.stdout == "", aborted
    again = transactions(
        broker, "find-hanging", "--topic", "cli-hanging", "--max-transaction-timeout", "0"
    )
    assert table(again)[1:] == []
    live.commit_transaction()
    live.close()

    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    consumer.assign([TopicPartition("cli-hanging", 0)])
    got: list[bytes] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(got) < 3:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(r.value for r in records)
    consumer.close()
    assert got == [b"live", b"after-0", b"after-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["describe", "--transactional-id", "no-such-id"],
            "Failed to describe transaction state of transactional-id `no-such-id`: "
            "TRANSACTIONAL_ID_NOT_FOUND",
        ),
        (
            ["describe-producers", "--topic", "no-such-topic", "--partition", "0"],
            "Failed to describe producers for partition no-such-topic-0 on leader: "
            "UNKNOWN_TOPIC_OR_PARTITION",
        ),
        (
            ["describe-producers", "--topic", "t", "--partition", "-1"],
            "--partition must not be negative",
        ),
        (
            ["abort", "--topic", "no-such-topic", "--partition", "0", "--start-offset", "3"],
            "Failed to validate producer state for partition no-such-topic-0: "
            "UNKNOWN_TOPIC_OR_PARTITION",
        ),
        (
            ["abort", "--topic", "t", "--partition", "0"],
            "The transaction to abort must be identified either with --start-offset (for "
            "brokers on 3.0 or above) or with --producer-id, --producer-epoch, and "
            "--coordinator-epoch (for older brokers)",
        ),
        (
            ["abort", "--topic", "t", "--partition", "0", "--producer-id", "5"],
            "Missing required argument --producer-epoch",
        ),
        (
            ["find-hanging"],
            "The `find-hanging` command requires either --topic or --broker-id to limit the "
            "scope of the search",
        ),
        (
            ["find-hanging", "--broker-id", "0", "--partition", "1"],
            "The --partition argument requires --topic to be provided",
        ),
    ],
)
def test_bad_input_and_kafka_errors_are_one_line_and_exit_1(
    broker: BrokerProcess, args: list[str], message: str
) -> None:
    assert one_line_error(transactions(broker, *args)) == message


def test_an_open_transaction_not_starting_at_the_offset_given_is_not_aborted(
    broker: BrokerProcess,
) -> None:
    broker.create_topic("cli-no-txn")
    result = transactions(
        broker, "abort", "--topic", "cli-no-txn", "--partition", "0", "--start-offset", "7"
    )
    assert one_line_error(result) == (
        "Could not find any open transactions starting at offset 7 on partition cli-no-txn-0"
    )


def test_the_bootstrap_server_is_required() -> None:
    result = cli("transactions", "list")
    assert one_line_error(result) == "--bootstrap-server is required"


def test_abort_by_producer_id_epoch_and_coordinator_epoch_as_for_older_brokers(
    broker: BrokerProcess,
) -> None:
    broker.create_topic("cli-hanging-ids")
    producer_id = write_hanging_batch(broker, "cli-hanging-ids")

    def open_at() -> str:
        producers = transactions(
            broker, "describe-producers", "--topic", "cli-hanging-ids", "--partition", "0"
        )
        [row] = [r for r in table(producers)[1:] if r[0] == str(producer_id)]
        return row[5]

    assert open_at() == "0"
    aborted = transactions(
        broker, "abort", "--topic", "cli-hanging-ids", "--partition", "0",
        "--producer-id", str(producer_id), "--producer-epoch", "0", "--coordinator-epoch", "-1",
    )  # fmt: skip
    assert aborted.returncode == 0, aborted.stderr
    assert open_at() == "None"
