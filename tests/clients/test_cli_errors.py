"""The `reflog` CLI's answers to bad input and unusual situations, run as real processes:
one line on stderr and a non-zero status for an error, never a traceback, and Kafka's
console tools' behaviour (kafka-console-producer, kafka-console-consumer, kafka-topics)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path

import pytest

from reflog.net.client import ClientRunner, now_ms
from reflog.producer import Producer, ProducerConfig
from tests.broker_process import BrokerProcess, running_broker

pytestmark = pytest.mark.clients


def reflog(*args: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run the CLI to completion; bytes in and out, so that any byte can be checked."""
    return subprocess.run(
        [sys.executable, "-m", "reflog", *args], input=stdin, capture_output=True, timeout=60
    )


def one_line_error(result: subprocess.CompletedProcess[bytes], command: str) -> str:
    """The error's text, after checking it is one `reflog COMMAND: ...` line and status 1."""
    assert result.returncode == 1, result
    err = result.stderr.decode()
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"reflog {command}: "), err
    return err.removeprefix(f"reflog {command}: ").strip()


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        ("127.0.0.1:99999", "port must be 1..65535"),
        ("127.0.0.1:0", "port must be 1..65535"),
        (":9092", "HOST:PORT"),
        ("127.0.0.1:", "HOST:PORT"),
    ],
)
def test_a_bootstrap_server_out_of_range_or_incomplete_is_refused_at_once(
    server: str, problem: str
) -> None:
    # Before: port 99999 reached the socket layer, which printed a 21-line OverflowError
    # from a background task and gave up only after a 10 s wait.
    for command in (["topics", "list"], ["consume", "t"], ["produce", "t"]):
        result = reflog(*command, "--bootstrap-server", server, stdin=b"x\n")
        assert problem in one_line_error(result, command[0])


@pytest.mark.parametrize("action", ["list", "create", "describe"])
def test_topics_says_why_it_cannot_reach_the_broker(action: str) -> None:
    # Nothing listens on port 1. Before: "reflog topics: error 13" (NETWORK_EXCEPTION).
    result = reflog("topics", action, "--topic", "t", "--bootstrap-server", "127.0.0.1:1")
    assert one_line_error(result, "topics").startswith("cannot connect to 127.0.0.1:1: ")


def create_topic(broker: BrokerProcess, topic: str, partitions: int = 1) -> None:
    created = reflog(
        "topics", "create", "--topic", topic, "--partitions", str(partitions),
        "--bootstrap-server", broker.bootstrap,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr


def produce(
    broker: BrokerProcess, topic: str, records: list[tuple[bytes | None, bytes | None]]
) -> None:
    """Store ``(key, value)`` records with reflog's producer (the CLI cannot send a null value)."""

    async def go() -> None:
        config = ProducerConfig(bootstrap_servers=((broker.host, broker.port),))
        producer = Producer(config, random.Random(1))
        for key, value in records:
            producer.send(topic, value, key=key, partition=0, now_ms=now_ms())
        producer.flush()
        runner = ClientRunner(producer)
        results = []

        def all_acked() -> bool:
            results.extend(producer.take_results())
            return len(results) == len(records)

        assert await runner.run_until(all_acked, timeout_s=20)
        await runner.close()
        assert all(r.error == 0 for r in results)

    asyncio.run(go())


def test_consume_prints_null_for_a_null_key_or_value_as_kafka_does(broker: BrokerProcess) -> None:
    # Kafka's DefaultMessageFormatter: "null" for null, nothing for empty. Before, a null
    # value printed as an empty line and an empty key as "null".
    create_topic(broker, "nulls")
    produce(broker, "nulls", [(None, b"v"), (b"", b""), (b"k", None), (b"k", b"")])
    b = ["--bootstrap-server", broker.bootstrap, "--from-beginning", "--max-messages", "4"]
    with_keys = reflog("consume", "nulls", *b, "--print-key")
    assert with_keys.returncode == 0, with_keys.stderr
    assert with_keys.stdout == b"null\tv\n\t\nk\tnull\nk\t\n"
    values = reflog("consume", "nulls", *b)
    assert values.returncode == 0, values.stderr
    assert values.stdout == b"v\n\nnull\n\n"


def test_consume_takes_a_negative_limit_or_timeout_as_none_as_kafka_does(
    broker: BrokerProcess,
) -> None:
    # kafka-console-consumer's defaults are --max-messages -1 and --timeout-ms -1: no limit.
    # Before, -1 printed nothing and exited 0.
    create_topic(broker, "three")
    produce(broker, "three", [(None, b"1"), (None, b"2"), (None, b"3")])
    b = ["--bootstrap-server", broker.bootstrap, "--from-beginning"]
    unlimited = reflog("consume", "three", *b, "--max-messages", "-1", "--timeout-ms", "2000")
    assert (unlimited.returncode, unlimited.stdout) == (0, b"1\n2\n3\n"), unlimited.stderr
    no_timeout = reflog("consume", "three", *b, "--max-messages", "3", "--timeout-ms", "-1")
    assert (no_timeout.returncode, no_timeout.stdout) == (0, b"1\n2\n3\n"), no_timeout.stderr


def test_consume_into_a_closed_pipe_exits_quietly_like_a_unix_tool(broker: BrokerProcess) -> None:
    # `reflog consume ... | head -1`. Before: a BrokenPipeError traceback.
    create_topic(broker, "many")
    lines = b"".join(b"%0100d\n" % i for i in range(5000))  # 500 kB: more than a pipe holds
    assert (
        reflog("produce", "many", "--bootstrap-server", broker.bootstrap, stdin=lines).returncode
        == 0
    )
    consumer = subprocess.Popen(
        [sys.executable, "-m", "reflog", "consume", "many", "--bootstrap-server", broker.bootstrap,
         "--from-beginning", "--max-messages", "5000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert consumer.stdout is not None and consumer.stderr is not None
    assert consumer.stdout.readline() == b"%0100d\n" % 0
    consumer.stdout.close()  # as `head -1` does after its line
    assert consumer.wait(timeout=60) == 128 + 13  # killed by SIGPIPE, as the shell reports it
    assert consumer.stderr.read() == b""


def start_producer(broker: BrokerProcess, topic: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "reflog", "produce", topic, "--bootstrap-server", broker.bootstrap],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_produce_sends_each_line_as_it_is_read(broker: BrokerProcess) -> None:
    # Like kafka-console-producer: a line is stored while stdin is still open (`tail -f |
    # reflog produce`, a terminal). Before, nothing was sent until the end of stdin.
    create_topic(broker, "live")
    producer = start_producer(broker, "live")
    assert producer.stdin is not None
    try:
        producer.stdin.write(b"first\n")
        producer.stdin.flush()
        first = reflog(
            "consume", "live", "--bootstrap-server", broker.bootstrap, "--from-beginning",
            "--max-messages", "1", "--timeout-ms", "20000",
        )  # fmt: skip
        assert first.stdout == b"first\n", first.stderr
        assert producer.poll() is None  # stdin is still open: the producer still runs
        producer.stdin.write(b"second\n")
    finally:
        producer.stdin.close()
    assert producer.wait(timeout=30) == 0
    both = reflog(
        "consume", "live", "--bootstrap-server", broker.bootstrap, "--from-beginning",
        "--max-messages", "2",
    )  # fmt: skip
    assert both.stdout == b"first\nsecond\n"


def test_produce_key_separator_is_any_non_empty_bytes(broker: BrokerProcess) -> None:
    b = ["--bootstrap-server", broker.bootstrap]
    # Before: "ValueError: empty separator" traceback.
    empty = reflog("produce", "keys", *b, "--key-separator", "", stdin=b"a:b\n")
    assert one_line_error(empty, "produce") == "--key-separator must not be empty"
    # A byte that is not UTF-8. Before: UnicodeEncodeError traceback (surrogates).
    create_topic(broker, "keys")
    sent = reflog("produce", "keys", *b, "--key-separator", b"\xff", stdin=b"k\xffv\n")
    assert sent.returncode == 0, sent.stderr
    read = reflog("consume", "keys", *b, "--from-beginning", "--max-messages", "1", "--print-key")
    assert read.stdout == b"k\tv\n"


def test_produce_to_an_invalid_topic_fails_at_once(broker: BrokerProcess) -> None:
    # Before: the records were retried until --timeout-ms, then "timed out ... waiting for
    # 1 records to be acknowledged". Here stdin stays open: the error must not wait for it.
    producer = start_producer(broker, "bad/name")
    assert producer.stdin is not None and producer.stderr is not None
    producer.stdin.write(b"x\n")
    producer.stdin.flush()
    assert producer.wait(timeout=30) == 1
    assert producer.stderr.read() == b"reflog produce: INVALID_TOPIC_EXCEPTION: topic 'bad/name'\n"
    producer.stdin.close()
    long_name = "t" * 250  # Kafka's limit is 249 characters
    result = reflog("produce", long_name, "--bootstrap-server", broker.bootstrap, stdin=b"x\n")
    assert one_line_error(result, "produce").startswith("INVALID_TOPIC_EXCEPTION: topic ")


def test_produce_to_a_missing_topic_without_auto_creation_fails_at_once(tmp_path: Path) -> None:
    with running_broker(tmp_path, "--auto-create-topics-enable", "false") as broker:
        result = reflog("produce", "missing", "--bootstrap-server", broker.bootstrap,
                        "--timeout-ms", "60000", stdin=b"x\n")  # fmt: skip
        assert one_line_error(result, "produce") == "UNKNOWN_TOPIC_OR_PARTITION: topic 'missing'"


def test_a_broker_with_a_negative_node_id_is_refused_at_once(tmp_path: Path) -> None:
    # Before: broker -1 started and led its partitions as -1, the protocol's "no leader",
    # so every client waited on a partition it was told had no leader.
    result = reflog("broker", "--node-id", "-1", "--listen", "127.0.0.1:0",
                    "--data-dir", str(tmp_path))  # fmt: skip
    assert one_line_error(result, "broker") == "--node-id must be at least 0"


def test_produce_refuses_idempotence_with_acks_other_than_all_as_kafka_does() -> None:
    result = reflog(
        "produce", "t", "--bootstrap-server", "127.0.0.1:1", "--acks", "1",
        "--enable-idempotence", "true",
    )  # fmt: skip
    assert one_line_error(result, "produce") == "--enable-idempotence true needs --acks all"
