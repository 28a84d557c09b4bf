"""``reflog produce TOPIC``: each line of stdin becomes a record, sent as soon as it is read.

As with kafka-console-producer, a line goes to the broker when it is read, not when stdin
ends: ``tail -f app.log | reflog produce t`` streams, and a line typed at a terminal is
stored before the next one is typed. At the end of stdin the command flushes and waits
for every acknowledgement (up to ``--timeout-ms``); the exit status says whether every
record was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import random
import threading
from collections.abc import Callable

from reflog.cli.client_runs import FOREVER_S, bootstrap_arg, error_name, no_answer
from reflog.cli.commands import CliError, Subparsers
from reflog.net.client import ClientRunner, now_ms
from reflog.producer import Producer, ProducerConfig
from reflog.wire.errors import ErrorCode

__all__ = ["register"]

_STDIN_FD = 0
_READ_SIZE = 65_536
# Reading stdin pauses while this many records await their acknowledgement (Kafka's
# producer blocks send() when its buffer.memory is full), so memory stays bounded
# however much input comes.
_MAX_UNACKNOWLEDGED = 10_000


def register(sub: Subparsers) -> None:
    p = sub.add_parser("produce", help="send lines from stdin as records")
    p.add_argument("topic")
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    p.add_argument("--key-separator", help="split each line into KEY<sep>VALUE")
    p.add_argument("--acks", choices=["0", "1", "all", "-1"], default="all")
    p.add_argument("--partition", type=int, help="send every record to this partition")
    p.add_argument(
        "--enable-idempotence",
        choices=["true", "false"],
        help="enable.idempotence (default: Kafka's, on with --acks all)",
    )
    p.add_argument(
        "--timeout-ms",
        type=int,
        default=30_000,
        help="at the end of stdin, how long to wait for the acknowledgements",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    separator = _key_separator(args.key_separator)
    acks = -1 if args.acks in ("all", "-1") else int(args.acks)
    producer = Producer(
        ProducerConfig(
            bootstrap_servers=tuple(bootstrap_arg(args.bootstrap_server)),
            acks=acks,
            enable_idempotence=_idempotence(args.enable_idempotence, acks),
        ),
        random.Random(),
    )
    lines = _LineProducer(producer, args.topic, args.partition, separator, args.timeout_ms / 1000)
    return asyncio.run(lines.run())


def _idempotence(text: str | None, acks: int) -> bool | None:
    if text == "true" and acks != -1:
        raise CliError("--enable-idempotence true needs --acks all")
    return None if text is None else text == "true"


def _key_separator(text: str | None) -> bytes | None:
    if text is None:
        return None
    if not text:
        raise CliError("--key-separator must not be empty")
    # The bytes the OS gave us: os.fsencode undoes Python's decoding of the command line
    # (surrogateescape), so any byte works as a separator, e.g. $'\xff'.
    return os.fsencode(text)


class _LineProducer:
    """Sends stdin's lines with ``producer`` while it reads them, and counts the answers."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        partition: int | None,
        separator: bytes | None,
        timeout_s: float,
    ) -> None:
        self.producer = producer
        self.runner = ClientRunner(producer)
        self.topic = topic
        self.partition = partition
        self.separator = separator
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self.first_error: int = ErrorCode.NONE

    async def run(self) -> int:
        try:
            stopped_early = await self._send_stdin()
            self.producer.flush()
            await self._wait_until(lambda: self.producer.pending_count == 0, "acknowledged")
        finally:
            await self.runner.close()
        if stopped_early is not None:
            raise CliError(stopped_early)
        if self.failed:
            name = error_name(self.first_error)
            raise CliError(f"{self.failed} of {self.sent} records failed: {name}")
        return 0

    async def _send_stdin(self) -> str | None:
        """Send each line as it arrives, until the end of stdin (None) or a line that
        cannot be sent (what is wrong with it; the lines before it are still sent)."""
        stdin = _StdinLines(_STDIN_FD)
        while (lines := await self._next_lines(stdin)) is not None:
            for line in lines:
                problem = self._send(line.rstrip(b"\r"))
                if problem is not None:
                    return problem
            await self._wait_for_room()
        return None

    def _send(self, line: bytes) -> str | None:
        key = None
        if self.separator is not None:
            key, separator, line = line.partition(self.separator)
            if not separator:
                shown = os.fsdecode(self.separator)
                return f"line {self.sent + 1} has no key separator {shown!r}"
        self.producer.send(self.topic, line, key=key, partition=self.partition, now_ms=now_ms())
        self.sent += 1
        return None

    async def _next_lines(self, stdin: _StdinLines) -> list[bytes] | None:
        """Stdin's next lines (None at its end), while the producer goes on sending.

        The runner only looks at its condition when the producer has something to do, so
        it is cancelled once lines arrive; the condition also checks for them, in case
        the cancellation comes too late to stop it."""
        reading = asyncio.ensure_future(stdin.next_lines())
        driving = asyncio.ensure_future(
            self.runner.run_until(
                lambda: reading.done() or self._topic_error() != ErrorCode.NONE, FOREVER_S
            )
        )
        try:
            await asyncio.wait({reading, driving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            driving.cancel()
            reading.cancel()  # does nothing if it has its lines
        self._check_topic()  # the producer stopped first: the topic refuses records
        self._count_answers()
        return reading.result()

    async def _wait_for_room(self) -> None:
        """Pause reading while too many records await their acknowledgement."""
        await self._wait_until(
            lambda: self.producer.pending_count < _MAX_UNACKNOWLEDGED, "sent to make room"
        )

    async def _wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Drive the producer until ``condition()``; CliError if the topic is refused or
        the records do not go within --timeout-ms."""
        pending = self.producer.pending_count
        done = await self.runner.run_until(
            lambda: condition() or self._topic_error() != ErrorCode.NONE, self.timeout_s
        )
        self._check_topic()
        if not done:
            raise no_answer(
                self.runner,
                f"timed out after {self.timeout_s:g} s waiting for {pending} records to be {what}",
            )
        self._count_answers()

    def _count_answers(self) -> None:
        for result in self.producer.take_results():
            if result.error != ErrorCode.NONE:
                self.failed += 1
                if self.first_error == ErrorCode.NONE:
                    self.first_error = result.error

    def _topic_error(self) -> int:
        """The broker's error for the topic itself, if waiting cannot fix it.

        LEADER_NOT_AVAILABLE is what a broker answers while it creates a topic (automatic
        creation), so it passes; any other (INVALID_TOPIC_EXCEPTION for a bad name,
        UNKNOWN_TOPIC_OR_PARTITION when automatic creation is off) stops the command at
        once, as consume and topics create do, instead of retrying until --timeout-ms."""
        error = self.producer.network.topic_errors.get(self.topic, ErrorCode.NONE)
        return ErrorCode.NONE if error == ErrorCode.LEADER_NOT_AVAILABLE else error

    def _check_topic(self) -> None:
        error = self._topic_error()
        if error != ErrorCode.NONE:
            raise CliError(f"{error_name(error)}: topic {self.topic!r}")


class _StdinLines:
    """The lines of a file descriptor, read on a daemon thread.

    A thread, because a read blocks until a line comes (a terminal, ``tail -f``) and the
    producer must keep running meanwhile on the asyncio loop; the loop's own pipe reader
    refuses regular files (``< file``). A daemon thread, because at Ctrl-C the process must
    exit while a read is still blocked (the loop's executor threads would be waited for).
    """

    def __init__(self, fd: int) -> None:
        self._loop = asyncio.get_running_loop()
        # At most two handed-over reads wait here: the reader blocks until the loop takes
        # them, so a fast input does not pile up in memory.
        self._batches: queue.Queue[list[bytes] | OSError | None] = queue.Queue(maxsize=2)
        self._arrived = asyncio.Event()
        threading.Thread(target=self._read, args=(fd,), daemon=True).start()

    async def next_lines(self) -> list[bytes] | None:
        """The next complete lines, or None at the end of input."""
        while True:
            self._arrived.clear()
            try:
                batch = self._batches.get_nowait()
            except queue.Empty:
                await self._arrived.wait()
                continue
            if isinstance(batch, OSError):
                raise CliError(f"cannot read stdin: {batch.strerror or batch}")
            return batch

    def _read(self, fd: int) -> None:
        # os.read returns what is there (a line typed at a terminal, what a pipe holds)
        # instead of waiting for a full buffer, so each line is handed over when it comes.
        partial: list[bytes] = []  # the start of a line whose end has not come yet
        try:
            while chunk := os.read(fd, _READ_SIZE):
                *lines, rest = chunk.split(b"\n")
                if lines:
                    lines[0] = b"".join([*partial, lines[0]])
                    partial.clear()
                    self._hand_over(lines)
                partial.append(rest)
            last = b"".join(partial)  # a last line without a newline is a line too
            if last:
                self._hand_over([last])
            self._hand_over(None)
        except OSError as exc:
            self._hand_over(exc)

    def _hand_over(self, batch: list[bytes] | OSError | None) -> None:
        self._batches.put(batch)
        # The loop may have finished (the command failed): then nobody is waiting.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._arrived.set)
