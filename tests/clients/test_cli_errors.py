"""The `reflog` CLI's answers to bad input and unusual situations, run as real processes:
one line on stderr and a non-zero status for an error, never a traceback, and Kafka's
console tools' behaviour (kafka-console-producer, kafka-console-consumer, kafka-topics)."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
