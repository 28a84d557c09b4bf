"""``reflog consumer-groups`` against a real ``reflog broker`` process, with a reflog
consumer in the group over real sockets: list, describe (offsets, members, state), and
offsets reset only once the group is empty, printed as kafka-consumer-groups.sh prints them."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflog.consumer import Consumer, ConsumerConfig, ConsumerRecord
from reflog.net.client import ClientRunner
from tests.broker_process import BrokerProcess, running_broker

from .test_reflog_clients import reflog_cli as cli

pytestmark = pytest.mark.clients

TOPIC = "orders"
GROUP = "billing"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("broker")
    with running_broker(data_dir, "--num-partitions", "3") as b:
        yield b


def groups_cli(broker: BrokerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("consumer-groups", "--bootstrap-server", broker.bootstrap, *args)


def table(output: str) -> list[list[str]]:
    """The printed table's rows split into cells (after the blank line before it)."""
    lines = output.splitlines()
    assert lines[0] == "", "kafka-consumer-groups.sh prints a blank line before a table"
    return [line.split() for line in lines[1:]]


async def in_the_group(broker: BrokerProcess, records: int, while_member: object) -> list[str]:
    """A reflog consumer joins GROUP, reads ``records`` records, commits, and stays in
    the group while ``while_member()`` runs the CLI in a thread; then it leaves. Returns
    its member id."""
    consumer = Consumer(
        ConsumerConfig(
            bootstrap_servers=((broker.host, broker.port),),
            client_id="billing-1",
            auto_offset_reset="earliest",
            group_id=GROUP,
            enable_auto_commit=False,
        )
    )
    consumer.subscribe([TOPIC])
    runner = ClientRunner(consumer)
    got: list[ConsumerRecord] = []
    committed: list[int] = []

    def read_all() -> bool:
        got.extend(consumer.poll())
        return len(got) >= records

    assert await runner.run_until(read_all, timeout_s=30)
    consumer.commit(callback=lambda offsets, error: committed.append(error))
    assert await runner.run_until(lambda: committed == [0], timeout_s=10)
    assert consumer.group is not None
    member_id = consumer.group.member_id
    stop = asyncio.Event()
    background = asyncio.create_task(runner.run_until(stop.is_set, timeout_s=60))
    try:
        await asyncio.to_thread(while_member)  # type: ignore[arg-type]
    finally:
        stop.set()
        await background
    consumer.close()
    assert await runner.run_until(lambda: consumer.group is not None and consumer.group.closed, 10)
    await runner.run_until(lambda: False, timeout_s=0.5)  # the LeaveGroup goes out
    await runner.close()
    return [member_id]


def test_consumer_groups_lists_describes_and_resets_an_empty_groups_offsets(
    broker: BrokerProcess,
) -> None:
    created = cli("topics", "create", "--topic", TOPIC, "--partitions", "3",
                  "--bootstrap-server", broker.bootstrap)  # fmt: skip
    assert created.returncode == 0, created.stderr
    lines = "".join(f"k{i % 6}:v{i}\n" for i in range(30))
    produced = cli("produce", TOPIC, "--key-separator", ":",
                   "--bootstrap-server", broker.bootstrap, stdin=lines)  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    seen: dict[str, subprocess.CompletedProcess[str]] = {}

    def while_member() -> None:
        seen["list"] = groups_cli(broker, "--list")
        seen["describe"] = groups_cli(broker, "--describe", "--group", GROUP)
        seen["members"] = groups_cli(
            broker, "--describe", "--group", GROUP, "--members", "--verbose"
        )
        seen["state"] = groups_cli(broker, "--describe", "--group", GROUP, "--state")
        seen["reset"] = groups_cli(
            broker,
            "--reset-offsets",
            "--group",
            GROUP,
            "--all-topics",
            "--to-earliest",
            "--execute",
        )

    [member_id] = asyncio.run(in_the_group(broker, 30, while_member))

    assert seen["list"].stdout.split() == [GROUP]
    rows = table(seen["describe"].stdout)
    assert rows[0] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                       "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]  # fmt: skip
    assert [r[2] for r in rows[1:]] == ["0", "1", "2"]
    for row in rows[1:]:
        assert row[0] == GROUP and row[1] == TOPIC
        assert row[3] == row[4] and row[5] == "0"  # all read and committed: no lag
        assert row[6] == member_id and row[8] == "billing-1"
    assert sum(int(r[4]) for r in rows[1:]) == 30
    members = table(seen["members"].stdout)
    assert members[0] == ["GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID",
                          "#PARTITIONS", "ASSIGNMENT"]  # fmt: skip
    assert members[1][1] == member_id and members[1][-2:] == ["3", f"{TOPIC}(0,1,2)"]
    state = table(seen["state"].stdout)
    assert state[0] == ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
    assert state[1][-3:] == ["range", "Stable", "1"]
    # Kafka refuses to reset the offsets of a group with members.
    assert seen["reset"].returncode == 1
    assert seen["reset"].stderr == (
        f"reflog consumer-groups: Error: Assignments can only be reset if the group '{GROUP}' "
        "is inactive, but the current state is Stable.\n"
    )

    # The member has left: the group is Empty, and its offsets can be reset.
    empty = groups_cli(broker, "--describe", "--group", GROUP)
    assert f"Consumer group '{GROUP}' has no active members." in empty.stderr
    assert [r[6:] for r in table(empty.stdout)[1:]] == [["-", "-", "-"]] * 3
    log_ends = [int(r[4]) for r in table(empty.stdout)[1:]]

    dry = groups_cli(broker, "--reset-offsets", "--group", GROUP, "--topic", TOPIC, "--to-earliest")
    assert dry.returncode == 0, dry.stderr
    assert "--execute option is missing" in dry.stderr
    assert (
        dry.stdout.splitlines()[1]
        == f"{'GROUP':<30} {'TOPIC':<30} {'PARTITION':<10} {'NEW-OFFSET':<15}"
    )
    assert [r[3] for r in table(dry.stdout)[1:]] == ["0", "0", "0"]
    unchanged = table(groups_cli(broker, "--describe", "--group", GROUP).stdout)
    assert [int(r[3]) for r in unchanged[1:]] == log_ends

    reset = groups_cli(broker, "--reset-offsets", "--group", GROUP, "--topic", TOPIC,
                       "--to-earliest", "--execute")  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    after = table(groups_cli(broker, "--describe", "--group", GROUP).stdout)
    assert [(r[3], r[5]) for r in after[1:]] == [("0", str(end)) for end in log_ends]

    to_offset = groups_cli(broker, "--reset-offsets", "--group", GROUP, "--all-topics",
                           "--to-offset", "2", "--execute")  # fmt: skip
    assert to_offset.returncode == 0, to_offset.stderr
    latest = groups_cli(broker, "--reset-offsets", "--group", GROUP, "--topic", TOPIC,
                        "--to-latest", "--execute")  # fmt: skip
    assert [int(r[3]) for r in table(latest.stdout)[1:]] == log_ends
    final = table(groups_cli(broker, "--describe", "--group", GROUP).stdout)
    assert [r[5] for r in final[1:]] == ["0", "0", "0"]


def test_describing_a_group_that_does_not_exist_is_an_error(broker: BrokerProcess) -> None:
    result = groups_cli(broker, "--describe", "--group", "nobody")
    assert result.returncode == 1
    assert (
        result.stderr == "reflog consumer-groups: Error: Consumer group 'nobody' does not exist.\n"
    )


def test_reset_offsets_needs_a_scope_and_a_target(broker: BrokerProcess) -> None:
    no_scope = groups_cli(broker, "--reset-offsets", "--group", GROUP, "--to-earliest")
    assert (
        no_scope.stderr == "reflog consumer-groups: --reset-offsets needs --topic or --all-topics\n"
    )
    no_target = groups_cli(broker, "--reset-offsets", "--group", GROUP, "--all-topics")
    assert (
        no_target.returncode == 1
        and "--to-earliest, --to-latest or --to-offset" in no_target.stderr
    )
