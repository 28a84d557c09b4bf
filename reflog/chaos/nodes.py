"""The cluster a chaos run attacks: real ``reflog controller`` and ``reflog broker`` processes,
started with the same command lines as ``reflog cluster up``, that can be killed (SIGKILL),
paused (SIGSTOP), resumed (SIGCONT) and restarted (the same command: it rejoins from its disk).

With ``links=True`` every node listens on a hidden port behind a relay of
:mod:`reflog.chaos.links`: a broker advertises its relay's address (the one clients bootstrap
from and followers fetch from), and every node's quorum voters name the controllers' relays, so
every broker-to-broker, broker-to-controller, controller-to-controller and client-to-broker
connection goes through a link the nemesis can cut or slow.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reflog.cli.cluster_cmd import node_commands
from reflog.groups.config import GroupConfig

__all__ = ["Nodes", "ProcessCluster", "free_port_range"]

HOST = "127.0.0.1"
Address = tuple[str, int]
START_TIMEOUT_S = 30.0


class Nodes(Protocol):
    """What a chaos run needs of a cluster: this module's, or one it attached to
    (:mod:`reflog.chaos.attach`)."""

    broker_ids: list[int]
    routes: dict[str, tuple[Address, Address]]

    @property
    def nodes(self) -> Mapping[str, object]: ...

    @property
    def bootstrap(self) -> str: ...

    def broker_address(self, broker_id: int) -> Address: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def kill(self, name: str) -> None: ...

    def pause(self, name: str) -> None: ...

    def resume(self, name: str) -> None: ...

    def restart(self, name: str) -> None: ...

    def heal(self) -> None: ...


@dataclass
class _Node:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class ProcessCluster:
    def __init__(
        self,
        data_dir: Path,
        *,
        brokers: int,
        controllers: int,
        port: int,
        broker_session_timeout_ms: int = 2_000,
        broker_heartbeat_interval_ms: int = 400,
        links: bool = False,
    ) -> None:
        """Nodes use ports ``port`` .. ``port + brokers + controllers - 1``, and as many again
        after them with ``links`` (see :meth:`ports_needed`)."""
        args = argparse.Namespace(
            brokers=brokers,
            controllers=controllers,
            port=port,
            broker_session_timeout_ms=broker_session_timeout_ms,
            broker_heartbeat_interval_ms=broker_heartbeat_interval_ms,
            election_timeout_ms=1_000,
            num_partitions=1,
            default_replication_factor=None,
            offsets_topic_num_partitions=GroupConfig.offsets_topic_num_partitions,
            log_level="WARNING",
        )
        self.port = port
        self.broker_ids = list(range(1, brokers + 1))
        commands = node_commands(args, data_dir)
        # node -> (relay address, node's own address): empty without links.
        self.routes: dict[str, tuple[Address, Address]] = {}
        if links:
            commands = self._behind_relays(commands, brokers, controllers)
        self.nodes = {name: _Node(name, argv, data_dir / f"{name}.log") for name, argv in commands}

    @staticmethod
    def ports_needed(brokers: int, controllers: int, links: bool) -> int:
        return (brokers + controllers) * (2 if links else 1)

    def _behind_relays(
        self, commands: list[tuple[str, list[str]]], brokers: int, controllers: int
    ) -> list[tuple[str, list[str]]]:
        """Every node listens on a hidden port; brokers advertise their relays', and brokers
        and controllers reach the controllers through theirs."""
        hidden_broker = self.port + brokers + controllers  # then the controllers' relays
        controller_relay = hidden_broker + brokers
        relayed_voters: list[str] = []
        rewritten: list[tuple[str, list[str]]] = []
        for name, _ in commands:
            if name.startswith("controller-"):
                j = len(relayed_voters)
                node_id = name.removeprefix("controller-")
                real = (HOST, self.port + brokers + j)
                self.routes[name] = ((HOST, controller_relay + j), real)
                relayed_voters.append(f"{node_id}@{HOST}:{controller_relay + j}")
        voters = ",".join(relayed_voters)
        for name, argv in commands:
            if name.startswith("controller-"):
                _, real = self.routes[name]
                argv = _with_option(argv, "--controller-quorum-voters", voters)
                argv = [*argv, "--listen", f"{HOST}:{real[1]}"]
            elif name.startswith("broker-"):
                i = int(name.removeprefix("broker-")) - 1
                public, hidden = (HOST, self.port + i), (HOST, hidden_broker + i)
                self.routes[name] = (public, hidden)
                argv = _with_option(argv, "--listen", f"{HOST}:{hidden[1]}")
                argv = _with_option(argv, "--controller-quorum-voters", voters)
                argv = [*argv, "--advertised-listener", f"{HOST}:{public[1]}"]
            rewritten.append((name, argv))
        return rewritten

    def broker_address(self, broker_id: int) -> tuple[str, int]:
        return HOST, self.port + broker_id - 1

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in map(self.broker_address, self.broker_ids))

    def start(self) -> None:
        for name in self.nodes:
            self.restart(name)

    def restart(self, name: str) -> None:
        """Start ``name`` (again) and wait until it listens."""
        node = self.nodes[name]
        if node.running:
            return
        with node.log.open("ab") as log:
            node.process = subprocess.Popen(node.argv, stdout=subprocess.PIPE, stderr=log)
        node.paused = False
        _wait_listening(node)

    def kill(self, name: str) -> None:
        node = self.nodes[name]
        if node.process is not None and node.running:
            node.process.kill()  # SIGKILL: no goodbye, no flush beyond what the OS holds
            node.process.wait()

    def pause(self, name: str) -> None:
        node = self.nodes[name]
        if node.process is not None and node.running:
            node.process.send_signal(signal.SIGSTOP)
            node.paused = True

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        if node.process is not None and node.paused:
            node.process.send_signal(signal.SIGCONT)
            node.paused = False

    def heal(self) -> None:
        """Every node running and not paused."""
        for name in self.nodes:
            self.resume(name)
            self.restart(name)

    def stop(self) -> None:
        for name in self.nodes:
            self.resume(name)
        for node in self.nodes.values():
            if node.process is not None and node.running:
                node.process.terminate()
        deadline = time.monotonic() + 10
        for node in self.nodes.values():
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
            if node.process.stdout is not None:
                node.process.stdout.close()


def _with_option(argv: list[str], option: str, value: str) -> list[str]:
    at = argv.index(option)
    return [*argv[: at + 1], value, *argv[at + 2 :]]


def _wait_listening(node: _Node) -> None:
    process = node.process
    assert process is not None and process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                line = process.stdout.readline()
                if b"listening on" in line:
                    return
                if not line:
                    break
    finally:
        selector.close()
    process.kill()
    process.wait()
    raise RuntimeError(f"{node.name} did not start; see {node.log}")


def free_port_range(count: int, first: int = 20_000, last: int = 60_000) -> int:
    """A first port such that ``count`` ports from it are free now (a small race remains)."""
    start = first + (os.getpid() * 7919) % (last - first - count)
    for base in range(start, last - count, count):
        if all(_free(p) for p in range(base, base + count)):
            return base
    raise RuntimeError("no free range of ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True
