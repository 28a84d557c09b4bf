"""A cluster someone else started: ``reflog cluster up --data-dir D`` writes ``D/cluster.json``
(each node's name, pid and command line); ``reflog chaos --attach D`` reads it and faults those
processes.

The nemesis needs of it what it needs of a :class:`~reflog.chaos.nodes.ProcessCluster`: kill
(SIGKILL), pause (SIGSTOP) and resume (SIGCONT) a node by pid, and start a killed one again
with its own command line (it rejoins from its disk; ``cluster.json`` then names the new pid,
so a later attach finds it). When the run ends every node is running and none is paused; the
cluster is left up, as it was found.

A pid is only signalled while ``/proc/<pid>/cmdline`` is still that node's command line: a
node that exited and whose pid was reused by another program is never touched.

reflog simplification: no network faults on an attached cluster; its nodes talk to each other
directly, with no relay the nemesis could cut (``reflog chaos`` starting its own cluster has
them).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AttachError", "AttachedCluster"]

STATE = "cluster.json"
START_TIMEOUT_S = 30.0


class AttachError(Exception):
    """The directory holds no cluster that can be attached to (said in one line)."""


@dataclass
class _Attached:
    name: str
    argv: list[str]
    pid: int
    paused: bool = False
    process: subprocess.Popen[bytes] | None = None  # when restarted by us


class AttachedCluster:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        state_file = data_dir / STATE
        try:
            state = json.loads(state_file.read_text())
            nodes = [(n["name"], list(n["argv"]), int(n["pid"])) for n in state["nodes"]]
        except FileNotFoundError as exc:
            raise AttachError(f"no {STATE} in {data_dir}: is `reflog cluster up` running?") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise AttachError(f"{state_file} is not a reflog cluster's state: {exc}") from exc
        self.nodes = {name: _Attached(name, argv, pid) for name, argv, pid in nodes}
        self.routes: dict[str, tuple[tuple[str, int], tuple[str, int]]] = {}  # no relays
        self._addresses: dict[int, tuple[str, int]] = {}
        for node in self.nodes.values():
            if node.name.startswith("broker-"):
                address = _option(node.argv, "--advertised-listener") or _option(
                    node.argv, "--listen"
                )
                if address is None:
                    raise AttachError(f"{node.name} has no --listen address in {state_file}")
                host, _, port = address.rpartition(":")
                self._addresses[int(_option(node.argv, "--node-id") or 0)] = (host, int(port))
        self.broker_ids = sorted(self._addresses)
        dead = [n.name for n in self.nodes.values() if not self._running(n)]
        if not self.broker_ids:
            raise AttachError(f"{state_file} names no broker")
        if dead:
            raise AttachError(f"not running: {', '.join(dead)} (start them, or the cluster, first)")

    def broker_address(self, broker_id: int) -> tuple[str, int]:
        return self._addresses[broker_id]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in map(self.broker_address, self.broker_ids))

    def start(self) -> None:
        """Already running (checked when attaching)."""

    def stop(self) -> None:
        """Leave the cluster as it was found: up (see :meth:`heal`)."""
        self.heal()

    def kill(self, name: str) -> None:
        node = self.nodes[name]
        if self._running(node):
            self._signal(node, signal.SIGKILL)
            if node.process is not None:
                node.process.wait()

    def pause(self, name: str) -> None:
        node = self.nodes[name]
        if self._running(node):
            self._signal(node, signal.SIGSTOP)
            node.paused = True

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        if node.paused and self._running(node):
            self._signal(node, signal.SIGCONT)
        node.paused = False

    def restart(self, name: str) -> None:
        """Start a killed node again with its own command line and wait until it listens."""
        node = self.nodes[name]
        if self._running(node):
            return
        log = self.data_dir / f"{name}.chaos.log"
        with log.open("ab") as out:
            # Its own session: it outlives this run, as the nodes `cluster up` started do.
            node.process = subprocess.Popen(
                node.argv, stdout=out, stderr=out, start_new_session=True
            )
        node.pid, node.paused = node.process.pid, False
        self._save()
        self._wait_listening(node)

    def heal(self) -> None:
        for name in self.nodes:
            self.resume(name)
            self.restart(name)

    # -- helpers -------------------------------------------------------------------------
    def _running(self, node: _Attached) -> bool:
        if node.process is not None:
            return node.process.poll() is None
        try:
            cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes()
        except OSError:
            return False
        # Exited but not yet reaped by its parent: a zombie has an empty command line.
        return cmdline.split(b"\0")[:-1] == [a.encode() for a in node.argv]

    def _signal(self, node: _Attached, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, sig)

    def _save(self) -> None:
        state = {
            "nodes": [{"name": n.name, "pid": n.pid, "argv": n.argv} for n in self.nodes.values()]
        }
        tmp = self.data_dir / f"{STATE}.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.data_dir / STATE)

    def _wait_listening(self, node: _Attached) -> None:
        address = _option(node.argv, "--listen")
        if address is None:  # a controller listens at its voter address
            voters = _option(node.argv, "--controller-quorum-voters") or ""
            node_id = _option(node.argv, "--node-id")
            address = next(
                (v.split("@", 1)[1] for v in voters.split(",") if v.startswith(f"{node_id}@")), ""
            )
        host, _, port = address.rpartition(":")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if node.process is not None and node.process.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.5):
                return
            time.sleep(0.1)  # polling a port of a process we do not control, bounded
        raise RuntimeError(f"{node.name} did not start again; see {self.data_dir}")


def _option(argv: list[str], option: str) -> str | None:
    if option in argv and argv.index(option) + 1 < len(argv):
        return argv[argv.index(option) + 1]
    return None
