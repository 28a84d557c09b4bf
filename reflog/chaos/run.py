"""A chaos run from start to verdict: cluster up, topic, workload under the nemesis, heal,
final reads, the checker."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reflog.chaos.attach import AttachedCluster
from reflog.chaos.confluent_workload import ConfluentWorkload
from reflog.chaos.links import Links
from reflog.chaos.nemesis import NETWORK_FAULTS, Fault, Nemesis
from reflog.chaos.nodes import Nodes, ProcessCluster, free_port_range
from reflog.chaos.workload import Clock, Workload
from reflog.check import History, Verdict, check
from reflog.net.peer_link import PeerLink
from reflog.wire.apis import API_TABLE
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from reflog.wire.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse

__all__ = ["CLIENTS", "PRESETS", "ChaosResult", "Preset", "run_chaos"]

CLIENTS = ("reflog", "confluent-kafka")

TOPIC = "chaos"


@dataclass(frozen=True)
class Preset:
    name: str
    acks: int
    topic_configs: dict[str, str]
    expect: str  # what Kafka's rules predict, said in the report
    faults: tuple[str, ...] = ("kill", "pause")  # the nemesis's, unless the run names others
    # The producers': without retries each value is sent once (a request that fails or gets
    # no answer stays indeterminate), so only the retry presets can write a value twice.
    retries: int = 0
    enable_idempotence: bool = False


# Nothing acknowledged can be lost: acks=all waits for two in-sync replicas, and only an
# in-sync replica may lead.
SAFE_TOPIC = {"unclean.leader.election.enable": "false", "min.insync.replicas": "2"}
RETRIES = 2_147_483_647  # Kafka's default: retry until delivery.timeout.ms


def _retrying(name: str, *, idempotent: bool, expect: str) -> Preset:
    """Producers that retry, with or without idempotence, while lossy links lose answers."""
    return Preset(
        name, acks=-1, topic_configs=SAFE_TOPIC, faults=("lossy",), retries=RETRIES,
        enable_idempotence=idempotent, expect=expect,
    )  # fmt: skip


PRESETS = {
    "acks1-unclean": Preset(
        "acks1-unclean",
        acks=1,
        topic_configs={"unclean.leader.election.enable": "true", "min.insync.replicas": "1"},
        expect="may lose acknowledged records: a leader acknowledges before any follower has "
        "the record, and a new leader without it may be elected",
    ),
    "acks-all-min-insync-2": Preset(
        "acks-all-min-insync-2",
        acks=-1,
        topic_configs=SAFE_TOPIC,
        expect="loses nothing acknowledged: a record is acknowledged only once two in-sync "
        "replicas hold it, and only an in-sync replica can become leader",
    ),
    "retries-no-idempotence": _retrying(
        "retries-no-idempotence",
        idempotent=False,
        expect="may write a record twice: a producer whose answer was lost sends the batch "
        "again, and the leader, which already wrote it, cannot tell the retry from a new batch",
    ),
    "retries-idempotence": _retrying(
        "retries-idempotence",
        idempotent=True,
        expect="writes each record once: a retried batch keeps its producer id and sequence "
        "numbers, and the leader answers a batch it already wrote with the original offsets",
    ),
}


@dataclass(frozen=True)
class ChaosResult:
    preset: Preset
    seed: int
    seconds: float
    history: History
    faults: list[Fault]
    verdict: Verdict
    final_reads_done: bool
    answers_lost: int = 0  # answers to clients the lossy links lost
    retried_batches: int | None = None  # batches reflog's producers sent again (None: not
    # counted, librdkafka's producers retry on their own)


class _Admin:
    """CreateTopics and Metadata to whichever broker answers."""

    def __init__(self, cluster: Nodes, topic: str = TOPIC) -> None:
        self.topic = topic
        self.links = [
            PeerLink(*cluster.broker_address(b), "reflog-chaos", apis=API_TABLE)
            for b in cluster.broker_ids
        ]

    async def create_topic(self, partitions: int, configs: dict[str, str]) -> None:
        topic = CreatableTopic(
            name=self.topic,
            num_partitions=partitions,
            replication_factor=len(self.links),
            configs=[CreatableTopicConfig(name=k, value=v) for k, v in configs.items()],
        )
        request = CreateTopicsRequest(topics=[topic], timeout_ms=10_000)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # brokers may still be registering
            with contextlib.suppress(ConnectionError, TimeoutError):
                response = await self.links[0].call(request, 10)
                assert isinstance(response, CreateTopicsResponse)
                if response.topics[0].error_code in (
                    ErrorCode.NONE,
                    ErrorCode.TOPIC_ALREADY_EXISTS,
                ):
                    return
            await asyncio.sleep(0.5)
        raise RuntimeError("could not create the chaos topic")

    async def metadata(self) -> MetadataResponse | None:
        request = MetadataRequest(
            topics=[MetadataRequestTopic(name=self.topic)], allow_auto_topic_creation=False
        )
        for link in self.links:
            with contextlib.suppress(ConnectionError, TimeoutError):
                response = await link.call(request, 1)
                assert isinstance(response, MetadataResponse)
                return response
        return None

    async def leader_of(self, partition: int) -> int:
        metadata = await self.metadata()
        for topic in metadata.topics if metadata else []:
            for p in topic.partitions:
                if p.partition_index == partition:
                    return p.leader_id
        return -1

    async def settled(self, partitions: int, timeout_s: float) -> bool:
        """Every partition led, with every replica in sync."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            metadata = await self.metadata()
            if metadata is not None and metadata.topics:
                parts = metadata.topics[0].partitions
                if len(parts) == partitions and all(
                    p.leader_id > 0 and len(p.isr_nodes) == len(self.links) for p in parts
                ):
                    return True
            await asyncio.sleep(0.5)
        return False

    async def close(self) -> None:
        for link in self.links:
            await link.close()


async def run_chaos(
    preset: Preset,
    seed: int,
    seconds: float,
    data_dir: Path,
    *,
    brokers: int = 3,
    controllers: int = 1,
    partitions: int = 3,
    rate_per_s: float = 20.0,
    clients: str = "reflog",
    faults: tuple[str, ...] | None = None,
    attach: Path | None = None,
    say: Callable[[str], None] = print,
) -> ChaosResult:
    """``clients``: "reflog" (reflog's own producers and consumer) or "confluent-kafka";
    ``faults``: the nemesis's kinds, the preset's by default (network ones start the cluster
    behind relays);
    ``attach``: the data directory of a running ``reflog cluster up`` to fault instead of
    starting a cluster in ``data_dir``."""
    rng = random.Random(seed)
    faults = preset.faults if faults is None else faults
    relayed = bool(NETWORK_FAULTS & set(faults))
    cluster: Nodes
    links = None
    topic = TOPIC
    if attach is not None:
        if relayed:
            raise ValueError("network faults need relays: let reflog chaos start its cluster")
        cluster = AttachedCluster(attach)
        # A topic of its own: an earlier run's records must not meet this run's history.
        topic = f"{TOPIC}-{seed}-{int(time.time())}"
        say(f"attached to {len(cluster.broker_ids)} brokers at {cluster.bootstrap}")
    else:
        cluster = ProcessCluster(
            data_dir,
            brokers=brokers,
            controllers=controllers,
            port=free_port_range(ProcessCluster.ports_needed(brokers, controllers, relayed)),
            links=relayed,
        )
        if relayed:
            links = Links(cluster.routes, random.Random(seed))
            await links.start()
            say("every link between nodes goes through a relay the nemesis can cut or slow")
        say(f"starting {controllers} controller(s) and {brokers} brokers at {cluster.bootstrap}")
    try:
        await asyncio.to_thread(cluster.start)
    except BaseException:
        if links is not None:
            await links.close()
        raise
    admin = _Admin(cluster, topic)
    try:
        await admin.create_topic(partitions, preset.topic_configs)
        await admin.settled(partitions, 30)
        clock = Clock(time.monotonic())
        history = History()
        bootstrap = [cluster.broker_address(b) for b in cluster.broker_ids]
        workload = Workload(
            bootstrap, topic, partitions, acks=preset.acks, history=history, clock=clock,
            rng=rng, rate_per_s=rate_per_s, retries=preset.retries,
            enable_idempotence=preset.enable_idempotence,
        )  # fmt: skip
        clients_run = workload.run
        if clients == "confluent-kafka":
            real = ConfluentWorkload(
                cluster.bootstrap, topic, partitions, acks=preset.acks, history=history,
                clock=clock, rate_per_s=rate_per_s, retries=preset.retries,
                enable_idempotence=preset.enable_idempotence,
            )  # fmt: skip
            clients_run = real.run
        nemesis = Nemesis(cluster, rng, clock, admin.leader_of, partitions, faults, links)
        say(f"{preset.name}: {clients} clients and nemesis for {seconds:g} s (seed {seed})")
        await asyncio.gather(clients_run(seconds), nemesis.run(seconds))
        say("healing: every process running, every link whole, waiting for full ISRs")
        if links is not None:
            links.heal()
        await asyncio.to_thread(cluster.heal)
        await admin.settled(partitions, 30)
        done = await workload.final_reads()
    finally:
        await admin.close()
        await asyncio.to_thread(cluster.stop)
        if links is not None:
            await links.close()
    return ChaosResult(
        preset, seed, seconds, history, nemesis.faults, check(history), done,
        answers_lost=0 if links is None else links.answers_lost,
        retried_batches=workload.retried_batches if clients == "reflog" else None,
    )  # fmt: skip
