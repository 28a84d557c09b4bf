"""Consumer group members built from real Kafka clients, each polling in its own thread
(kcat: its own process), recording what it read and what it owns.

Every member commits after it has processed what it read (kcat: auto-commit every 100 ms),
so the members left after one goes away continue from the committed offsets.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import threading
from collections.abc import Callable

SESSION_TIMEOUT_MS = 6_000  # Kafka's group.min.session.timeout.ms: the shortest allowed
HEARTBEAT_INTERVAL_MS = 500


class Member:
    """What a test sees of a member: its reads, its current assignment, and its end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.read: list[tuple[int, int, bytes]] = []  # (partition, offset, value)
        self.owned: set[int] = set()
        self.failure: BaseException | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.rebalances = 0  # assignments received (confluent-kafka members count them)

    def start(self, target: Callable[[], None]) -> None:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported by the test, not lost in a thread
                self.failure = exc

        self.thread = threading.Thread(target=run, name=self.name, daemon=True)
        self.thread.start()

    def record(self, partition: int, offset: int, value: bytes) -> None:
        with self.lock:
            self.read.append((partition, offset, value))

    def set_owned(self, partitions: set[int]) -> None:
        with self.lock:
            self.owned = set(partitions)

    def snapshot(self) -> tuple[list[tuple[int, int, bytes]], set[int]]:
        with self.lock:
            return list(self.read), set(self.owned)

    def leave(self, timeout: float = 30) -> None:
        """Close the client: it commits and sends LeaveGroup."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), f"{self.name} did not close"

    def kill(self) -> None:
        raise NotImplementedError(f"{self.name} runs in this process: it can only leave")


def confluent_member(
    name: str,
    bootstrap: str,
    group: str,
    topic: str,
    strategy: str,
    instance_id: str | None = None,
) -> Member:
    import confluent_kafka

    member = Member(name)
    config: dict[str, str | int | bool] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "partition.assignment.strategy": strategy,
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    if instance_id is not None:
        config["group.instance.id"] = instance_id  # a static member (KIP-345)

    def on_assign(consumer: object, partitions: object) -> None:
        member.rebalances += 1

    def run() -> None:
        consumer = confluent_kafka.Consumer(config)
        consumer.subscribe([topic], on_assign=on_assign)
        try:
            while not member.stop.is_set():
                message = consumer.poll(0.1)
                member.set_owned({tp.partition for tp in consumer.assignment()})
                if message is None or message.error() is not None:
                    continue
                member.record(message.partition(), message.offset(), message.value())
                consumer.commit(message, asynchronous=False)
        finally:
            consumer.close()

    member.start(run)
    return member


def kafka_python_member(name: str, bootstrap: str, group: str, topic: str) -> Member:
    from kafka import KafkaConsumer

    member = Member(name)

    def run() -> None:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        try:
            while not member.stop.is_set():
                # Not 100 ms: kafka-python 3.0.12's leader then sometimes never finishes a
                # rebalance (poll keeps "returning early" while its SyncGroup answer is
                # dropped), stops heartbeating and is left out of the group for good.
                batches = consumer.poll(timeout_ms=1_000)
                for messages in batches.values():
                    for m in messages:
                        member.record(m.partition, m.offset, m.value)
                if batches:
                    consumer.commit()
                member.set_owned({tp.partition for tp in consumer.assignment()})
        finally:
            consumer.close()

    member.start(run)
    return member


def aiokafka_member(name: str, bootstrap: str, group: str, topic: str) -> Member:
    from aiokafka import AIOKafkaConsumer

    member = Member(name)

    async def consume() -> None:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            while not member.stop.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                for messages in batches.values():
                    for m in messages:
                        member.record(m.partition, m.offset, m.value)
                if batches:
                    await consumer.commit()
                member.set_owned({tp.partition for tp in consumer.assignment()})
        finally:
            await consumer.stop()

    member.start(lambda: asyncio.run(consume()))
    return member


_KCAT_GROUP_EVENT = re.compile(r"rebalanced .*: (assigned|revoked): (.*)$")
_KCAT_PARTITION = re.compile(r"\[(\d+)\]")


class KcatMember(Member):
    """``kcat -G``: a librdkafka balanced consumer in its own process."""

    def __init__(self, name: str, bootstrap: str, group: str, topic: str) -> None:
        super().__init__(name)
        self.process = subprocess.Popen(
            [
                "kcat",
                "-b",
                bootstrap,
                "-G",
                group,
                topic,
                "-u",  # unbuffered output: each record as it is read
                "-f",
                "%p %o %s\n",
                "-X",
                f"session.timeout.ms={SESSION_TIMEOUT_MS}",
                "-X",
                f"heartbeat.interval.ms={HEARTBEAT_INTERVAL_MS}",
                "-X",
                "auto.commit.interval.ms=100",
                "-X",
                "auto.offset.reset=earliest",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        threading.Thread(target=self._read_records, daemon=True).start()
        threading.Thread(target=self._read_events, daemon=True).start()

    def _read_records(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            partition, offset, value = line.rstrip("\n").split(" ", 2)
            self.record(int(partition), int(offset), value.encode())

    def _read_events(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            match = _KCAT_GROUP_EVENT.search(line)
            if match is None:
                continue
            partitions = {int(p) for p in _KCAT_PARTITION.findall(match.group(2))}
            with self.lock:
                if match.group(1) == "assigned":
                    self.owned |= partitions
                else:
                    self.owned -= partitions

    def leave(self, timeout: float = 30) -> None:
        self.process.send_signal(signal.SIGTERM)  # kcat commits and leaves the group
        self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no commit, no LeaveGroup; its session must run out
        self.process.wait(10)
