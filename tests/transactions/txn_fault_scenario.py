"""The transaction fault scenario: a consume-transform-produce processor on the simulated
cluster commits its results with its input offsets while processors, brokers (coordinators
among them) and messages fail, and the output read read_committed holds each input's result
exactly once.

One seed is one run of :func:`run_fault_scenario`; the test files run 300 seeds of it, split
in two files so that pytest-xdist (``--dist loadfile``) gives each of its workers half.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from reflog.consumer import ConsumerConfig
from reflog.groups.config import GroupConfig
from reflog.producer import ProducerConfig
from reflog.records import iter_batches
from reflog.sim import Cluster, processor
from reflog.sim.network import LinkConfig
from reflog.sim.workloads import ConsumerWorkload
from reflog.storage.log_config import LogConfig
from reflog.storage.txn_index import marker_type
from reflog.topic_partition import TopicPartition
from reflog.transactions.config import TxnConfig

from .sim_processor import GROUP, INPUT, OUTPUT, TxnProcessor

PARTITIONS = 3
SEEDS = 300  # the fault search runs seeds 0 to SEEDS - 1


def txn_cluster(seed: int, data_dir: Path, loss: float = 0.0) -> Cluster:
    cluster = Cluster(
        seed=seed,
        brokers=3,
        data_dir=data_dir,
        record=False,
        groups=GroupConfig(offsets_topic_num_partitions=3),
        transactions=TxnConfig(
            transaction_state_log_num_partitions=3,
            transaction_abort_timed_out_transaction_cleanup_interval_ms=500,
        ),
        replica_lag_time_max_ms=2_000,
        # Every write fsynced: a crashed broker keeps what it acknowledged, so an internal
        # topic whose ISR shrank to its leader loses nothing when that leader crashes.
        log=LogConfig(flush_messages=1),
    )
    cluster.create_topic(
        OUTPUT, PARTITIONS, replication_factor=3, configs={"min.insync.replicas": "2"}
    )
    cluster.create_topic(INPUT.topic, 1, replication_factor=3)
    cluster.sim.network.default = LinkConfig(loss=loss)  # from now on
    return cluster


def committed_offset(cluster: Cluster) -> int | None:
    """The group's committed input offset, as its coordinator would answer OffsetFetch
    (None while no coordinator can answer)."""
    return processor.committed_offset(cluster, GROUP, INPUT)


def add_processor(
    cluster: Cluster, name: str, total: int, abort_probability: float
) -> TxnProcessor:
    config = ProducerConfig(
        bootstrap_servers=cluster.bootstrap,
        client_id=name,
        transactional_id="processor",
        transaction_timeout_ms=3_000,
        request_timeout_ms=1_000,
    )
    processor = TxnProcessor(
        name, config, total, lambda: committed_offset(cluster), abort_probability
    )
    cluster.sim.add_node(processor)
    return processor


def read_committed(cluster: Cluster, name: str) -> ConsumerWorkload:
    config = ConsumerConfig(
        bootstrap_servers=cluster.bootstrap,
        client_id=name,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=100,
        request_timeout_ms=1_000,
    )
    reader = ConsumerWorkload(name, config, [TopicPartition(OUTPUT, p) for p in range(PARTITIONS)])
    cluster.sim.add_node(reader)
    return reader


def open_transaction_starts(cluster: Cluster, broker_id: int, tp: TopicPartition) -> list[int]:
    """From the log itself: the first offset of each transaction with no marker yet."""
    log = cluster.broker(broker_id).logs.get(tp)
    assert log is not None
    first: dict[int, int] = {}
    for segment in log.segments:
        for batch in iter_batches(segment.log_path.read_bytes()[: segment.size]):
            if not batch.is_transactional:
                continue
            if batch.is_control and marker_type(batch) >= 0:
                first.pop(batch.producer_id, None)
            elif not batch.is_control:
                first.setdefault(batch.producer_id, batch.base_offset)
    return sorted(first.values())


def check_lso(cluster: Cluster) -> None:
    """The last stable offset a leader reports never passes a transaction still open."""
    for p in range(PARTITIONS):
        tp = TopicPartition(OUTPUT, p)
        leader = cluster.leader_of(tp)
        if leader < 0 or not cluster.sim.is_up(f"broker-{leader}"):
            continue
        starts = open_transaction_starts(cluster, leader, tp)
        lso = cluster.broker(leader).last_stable_offset(tp)
        assert not starts or lso <= starts[0], f"{tp}: LSO {lso} passes open {starts}"


@contextmanager
def fsync_as_bookkeeping() -> Iterator[None]:
    """No real fsync while the scenario runs. No simulated machine loses power: what a
    crashed broker keeps is decided by its logs' flush bookkeeping (``Log.crash`` truncates
    each segment to what its last flush covered), and everything else a node wrote stays in
    its files. The real call changes no outcome; it only cost each seed seconds of waiting
    for the disk (about a thousand fsyncs a seed: logs with ``flush.messages=1``, the
    controllers' Raft state)."""
    with mock.patch("os.fsync", lambda fd: None):
        yield


def run_fault_scenario(seed: int, data_dir: Path) -> None:
    """Eight rounds of faults chosen by ``seed`` (a processor crashed and replaced, a broker
    crashed for 0.2-1.5 s, or none) with 2% of messages lost throughout; then the input is
    finished, replacing each fenced processor. Checked all along: the LSO never passes an
    open transaction; at the end: each input's result read read_committed exactly once, and
    no aborted one."""
    with fsync_as_bookkeeping():
        _run(seed, data_dir)


def _run(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    cluster = txn_cluster(seed, tmp_path, loss=0.02)
    total = 30  # inputs: the fault rounds are timed, and the rest only finishes the input
    processors = [add_processor(cluster, f"p{seed}-0", total, abort_probability=0.2)]
    aborted: set[bytes] = set()
    for round_ in range(8):
        for _ in range(rng.randint(2, 6)):
            cluster.run_for(100)
            check_lso(cluster)
        fault = rng.choice(["processor", "broker", "none"])
        if fault == "processor" or processors[-1].fenced:  # a new instance takes over
            old = processors[-1]
            aborted |= old.aborted
            cluster.crash(old.name)
            processors.append(add_processor(cluster, f"p{seed}-{round_ + 1}", total, 0.2))
        elif fault == "broker":
            victim = f"broker-{rng.randint(1, 3)}"
            if cluster.sim.is_up(victim):
                cluster.crash(victim)
                cluster.run_for(rng.randint(200, 1_500))
                check_lso(cluster)
                cluster.restart(victim)
    # Finish the input; a fenced instance (its transaction timed out while brokers were
    # down, or a successor fenced it) is replaced, as a supervisor restarts a processor.
    deadline = cluster.now_ms + 120_000
    while not processors[-1].done:
        current = processors[-1]
        txns = current.producer.transactions
        assert txns is not None
        assert cluster.now_ms < deadline, (
            current.phase, current.next_input, txns.state, txns.error, txns.coordinators,
            len(txns._steps), txns._in_flight, committed_offset(cluster),
        )  # fmt: skip
        cluster.run_until(lambda c=current: c.done or c.fenced, 5_000)
        check_lso(cluster)
        if current.fenced:
            aborted |= current.aborted
            cluster.crash(current.name)
            processors.append(add_processor(cluster, f"{current.name}+", total, 0.2))
    current = processors[-1]
    aborted |= current.aborted
    reader = read_committed(cluster, "reader")
    assert cluster.run_until(lambda: len(reader.records) >= total, 30_000)
    cluster.run_for(1_000)
    check_lso(cluster)
    values = [r.value or b"" for r in reader.records]
    results = sorted(int(v.split(b"-")[1]) for v in values)
    assert results == list(range(total)), "each input's result exactly once"
    assert not set(values) & aborted, "an aborted record was returned to read_committed"
