"""Sending one admin request from a command and getting its answer, or a one-line error.

The Kafka tools' commands (``kafka-configs``, ``kafka-reassign-partitions``,
``kafka-leader-election``, ``kafka-delete-records``) each send a request or two; this
is how reflog's send them: an :class:`~reflog.client.admin.Admin` core over real sockets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from reflog.cli.client_runs import bootstrap_arg, error_name, no_answer, run_core
from reflog.cli.commands import CliError
from reflog.client.admin import Admin
from reflog.client.network import NETWORK_EXCEPTION
from reflog.net.client import now_ms
from reflog.wire.errors import ErrorCode
from reflog.wire.schema import Request, Response

__all__ = ["AdminSession", "check", "parse_pairs", "read_json"]

R = TypeVar("R", bound=Response)


class AdminSession:
    """One admin client for a command's requests, each run to its answer."""

    def __init__(self, bootstrap: str, timeout_ms: int) -> None:
        self.admin = Admin(bootstrap_arg(bootstrap))
        self.timeout_s = timeout_ms / 1000

    def call(self, request: Request, answer: type[R], node_id: int | None = None) -> R:
        """Send ``request`` (to broker ``node_id``, else any) and return its answer."""
        if node_id is not None and node_id not in self.admin.network.brokers:
            self.brokers()  # learn where that broker listens
        self.admin.send(request, now_ms(), node_id)
        runner = run_core(
            self.admin, lambda: self.admin.result is not None, self.timeout_s, "the broker"
        )
        result = self.admin.result
        assert result is not None
        if result.error_code == NETWORK_EXCEPTION:
            raise no_answer(runner, "NETWORK_EXCEPTION: the broker closed the connection")
        if result.error_code != ErrorCode.NONE or not isinstance(result.response, answer):
            raise CliError(error_name(result.error_code))
        return result.response

    def leaders(self, topics: set[str]) -> dict[tuple[str, int], int]:
        """Each partition's leader, from the client's metadata."""
        network = self.admin.network
        network.want_topics(topics, now_ms())

        def known() -> bool:
            return all(network.partitions(t) is not None for t in topics)

        run_core(self.admin, known, self.timeout_s, "metadata")
        out = {}
        for topic in topics:
            for info in network.partitions(topic) or []:
                out[(topic, info.partition)] = info.leader
        return out

    def brokers(self) -> list[int]:
        """The live brokers' ids, from the client's metadata."""
        network = self.admin.network
        network.request_metadata_update(now_ms())
        run_core(self.admin, lambda: bool(network.brokers), self.timeout_s, "metadata")
        return sorted(network.brokers)


def check(code: int, message: str | None, what: str) -> None:
    """A refusal as one line: "INVALID_CONFIG: Unknown topic config name: x"."""
    if code != ErrorCode.NONE:
        name = error_name(code)
        raise CliError(f"{what}: {name}: {message}" if message else f"{what}: {name}")


def parse_pairs(text: str | None, option: str) -> dict[str, str]:
    """``k1=v1,k2=v2`` (kafka-configs' --add-config; a value in [..] may hold commas)."""
    if not text:
        return {}
    pairs: dict[str, str] = {}
    depth, item, items = 0, "", []
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += ch
    items.append(item)
    for entry in items:
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise CliError(f"{option} needs name=value, got {entry!r}")
        pairs[name.strip()] = value.strip().removeprefix("[").removesuffix("]")
    return pairs


def read_json(path: str, option: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise CliError(f"cannot read {option} {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CliError(f"{option} {path} is not JSON: {exc.msg} at line {exc.lineno}") from exc
