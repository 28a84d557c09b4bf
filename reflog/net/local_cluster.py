"""A whole cluster inside the running asyncio loop: one controller and N brokers.

``reflog cluster up`` runs a cluster as OS processes; :class:`LocalCluster` runs
the same servers — :class:`ControllerServer`, and per broker a
:class:`BrokerServer` with its :class:`ClusterBroker` — as tasks of the loop it is
started on, such as a Jupyter kernel's. Everything between them is real: TCP on
127.0.0.1 (ephemeral ports), Kafka's framing, partition logs in files under a
temporary directory, follower fetches served by ``os.sendfile``. Real Kafka
clients connect to :attr:`LocalCluster.bootstrap_servers`.

Each broker's server counts the record bytes it sent by ``sendfile``, apart for
consumers and for followers (:meth:`LocalCluster.sendfile_bytes`), which is what
the zero-copy notebook draws.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.controller.config import ControllerConfig
from reflog.net.cluster_broker import ClusterBroker
from reflog.net.controller_server import ControllerServer
from reflog.net.peer_link import PeerLink
from reflog.net.server import BrokerServer, SendStats, now_ms
from reflog.raft.core import RaftConfig
from reflog.wire.apis import API_TABLE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)

__all__ = ["LocalCluster"]

HOST = "127.0.0.1"
CONTROLLER_ID = 3000  # as `reflog cluster up` numbers them: apart from the brokers' ids


@dataclass
class _BrokerNode:
    """One broker of the cluster; ``server`` is None while it is stopped."""

    node_id: int
    port: int = 0  # 0 until first bound; a restart binds the same port again
    server: BrokerServer | None = None
    member: ClusterBroker | None = None


class LocalCluster:
    """In a notebook cell (the kernel's loop is already running)::

    cluster = LocalCluster(brokers=3)
    await cluster.start()
    await cluster.create_topic("clicks", partitions=1, replication_factor=3)
    ...  # any Kafka client, bootstrap_servers=cluster.bootstrap_servers
    cluster.sendfile_bytes(1)  # SendStats(consumer_sendfile_bytes=..., ...)
    await cluster.stop()
    """

    def __init__(
        self,
        brokers: int = 3,
        *,
        data_dir: Path | None = None,
        num_partitions: int = 1,
        default_replication_factor: int | None = None,
        broker_heartbeat_interval_ms: int = 500,
        broker_session_timeout_ms: int = 3_000,
        zero_copy: bool = True,
        start_timeout_s: float = 20.0,
    ) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="reflog-cluster-")
            data_dir = Path(self._tmp.name)
        self.data_dir = data_dir
        self.num_partitions = num_partitions
        self.default_replication_factor = default_replication_factor or min(3, brokers)
        self.broker_heartbeat_interval_ms = broker_heartbeat_interval_ms
        self.broker_session_timeout_ms = broker_session_timeout_ms
        self.zero_copy = zero_copy
        self.start_timeout_s = start_timeout_s
        self.controller: ControllerServer | None = None
        self.voters: dict[int, tuple[str, int]] = {}
        self.brokers = {b: _BrokerNode(b) for b in range(1, brokers + 1)}

    # -- the whole cluster ----------------------------------------------------------------
    async def start(self) -> None:
        """Start the controller, then every broker; return once all brokers serve."""
        config = ControllerConfig(
            node_id=CONTROLLER_ID,
            voters=(CONTROLLER_ID,),
            broker_session_timeout_ms=self.broker_session_timeout_ms,
            num_partitions=self.num_partitions,
            default_replication_factor=self.default_replication_factor,
            raft=RaftConfig(election_timeout_ms=1_000, heartbeat_interval_ms=100),
        )
        directory = self.data_dir / f"controller-{CONTROLLER_ID}"
        self.controller = ControllerServer(config, {CONTROLLER_ID: (HOST, 0)}, directory, HOST, 0)
        port = await self.controller.start()
        self.voters = {CONTROLLER_ID: (HOST, port)}
        await asyncio.gather(*(self.start_broker(b) for b in self.brokers))

    async def stop(self) -> None:
        # Every broker's links to the others first: a broker then stops with no follower
        # still fetching from it, instead of cutting their connections short.
        running = [n.server for n in self.brokers.values() if n.server is not None]
        for node in self.brokers.values():
            if node.member is not None:
                await node.member.stop()
        # Let the brokers see those connections (and clients already closed) go; a client
        # still connected after that is cut off, with a warning.
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: all(s.connection_count == 0 for s in running), 1.0)
        for b in self.brokers:
            await self.stop_broker(b)
        if self.controller is not None:
            await self.controller.stop()
            self.controller = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def bootstrap_servers(self) -> str:
        """The running brokers' addresses, for a client's ``bootstrap.servers``."""
        return ",".join(
            f"{HOST}:{node.port}" for node in self.brokers.values() if node.server is not None
        )

    def server(self, broker_id: int) -> BrokerServer:
        server = self.brokers[broker_id].server
        if server is None:
            raise ValueError(f"broker {broker_id} is not running")
        return server

    def sendfile_bytes(self, broker_id: int) -> SendStats:
        """Record bytes broker ``broker_id`` sent by sendfile since it (re)started."""
        return self.server(broker_id).stats

    def set_zero_copy(self, on: bool) -> None:
        """Send record slices with sendfile (on) or read them into Python and write them
        (off), on every running broker, from the next response on."""
        self.zero_copy = on
        for node in self.brokers.values():
            if node.server is not None:
                node.server.zero_copy = on

    # -- one broker -----------------------------------------------------------------------
    async def start_broker(self, broker_id: int) -> None:
        """Start (or restart, on its old port and data) one broker; return once it serves:
        registered, caught up with the metadata log, unfenced."""
        node = self.brokers[broker_id]
        if node.server is not None:
            return
        config = BrokerConfig(
            node_id=broker_id,
            log_dir=self.data_dir / f"broker-{broker_id}",
            host=HOST,
            port=node.port,
            num_partitions=self.num_partitions,
        )
        broker = Broker(config, now_ms(), flush_in_background=True)
        server = BrokerServer(broker, HOST, node.port, zero_copy=self.zero_copy)
        node.port = await server.start(serve=False)
        server.broker.config = replace(config, port=node.port)
        member = ClusterBroker(server, self.voters, self.broker_heartbeat_interval_ms)
        node.server, node.member = server, member
        await member.start()
        await asyncio.wait_for(member.running.wait(), self.start_timeout_s)
        await server.serve()

    async def stop_broker(self, broker_id: int) -> None:
        """Stop one broker: its sockets close, its logs are closed (nothing is lost that
        was written). The controller fences it once its session times out."""
        node = self.brokers[broker_id]
        if node.member is not None:
            await node.member.stop()
        if node.server is not None:
            await node.server.stop()
        node.server, node.member = None, None

    async def kill_broker(self, broker_id: int) -> None:
        """What ``kill -9`` does to a broker process: its sockets close; what it wrote to
        its files stays (the page cache outlives a process), and it sends no goodbye."""
        await self.stop_broker(broker_id)

    async def restart_broker(self, broker_id: int) -> None:
        """Start a stopped broker again on its port: it recovers its logs from its data
        directory, registers anew and catches up with the metadata log."""
        await self.start_broker(broker_id)

    # -- topics ---------------------------------------------------------------------------
    async def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        replication_factor: int | None = None,
        configs: dict[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Create a topic with a CreateTopics request to a broker, as an admin client does,
        and wait until every broker hosting it knows its leaders; ValueError if refused."""
        topic = CreatableTopic(
            name=name,
            num_partitions=-1 if partitions is None else partitions,
            replication_factor=-1 if replication_factor is None else replication_factor,
            configs=[CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
        )
        node = next(n for n in self.brokers.values() if n.server is not None)
        link = PeerLink(HOST, node.port, "local-cluster-admin", apis=API_TABLE)
        try:
            request = CreateTopicsRequest(topics=[topic], timeout_ms=int(timeout_s * 1000))
            response = await link.call(request, timeout_s)
        finally:
            await link.close()
        assert isinstance(response, CreateTopicsResponse)
        [result] = response.topics
        if result.error_code != ErrorCode.NONE:
            raise ValueError(f"cannot create {name}: {result.error_message or result.error_code}")
        await self._until(lambda: self._topic_led_everywhere(name), timeout_s)

    def _topic_led_everywhere(self, name: str) -> bool:
        running = [n.server.broker for n in self.brokers.values() if n.server is not None]
        for broker in running:
            topic = broker.image.topics.get(name)
            if topic is None or any(s.leader < 0 for s in topic.partitions.values()):
                return False
        return True

    @staticmethod
    async def _until(condition: Callable[[], bool], timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError("the brokers did not learn of the change in time")
            await asyncio.sleep(0.01)  # a poll interval; the deadline decides
