"""Transactions in the simulated cluster: a consume-transform-produce processor commits its
results with its input offsets while processors, brokers and the network fail, and the
output read read_committed holds each input's result exactly once."""

from __future__ import annotations

from pathlib import Path

from reflog.consumer import ConsumerConfig
from reflog.groups.config import GroupConfig
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.producer import ProducerConfig
from reflog.sim import Cluster
from reflog.sim.network import LinkConfig
from reflog.sim.workloads import ConsumerWorkload
from reflog.topic_partition import TopicPartition
from reflog.transactions.config import TxnConfig

from .sim_processor import GROUP, INPUT, OUTPUT, TxnProcessor

PARTITIONS = 3


def txn_cluster(seed: int, data_dir: Path, loss: float = 0.0) -> Cluster:
    cluster = Cluster(
        seed=seed,
        brokers=3,
        data_dir=data_dir,
        record=False,
        network=LinkConfig(loss=loss),
        groups=GroupConfig(offsets_topic_num_partitions=3),
        transactions=TxnConfig(
            transaction_state_log_num_partitions=3,
            transaction_abort_timed_out_transaction_cleanup_interval_ms=500,
        ),
        replica_lag_time_max_ms=2_000,
    )
    cluster.create_topic(
        OUTPUT, PARTITIONS, replication_factor=3, configs={"min.insync.replicas": "2"}
    )
    cluster.create_topic(INPUT.topic, 1, replication_factor=3)
    return cluster


def committed_offset(cluster: Cluster) -> int | None:
    """The group's committed input offset, as its coordinator would answer OffsetFetch
    (None while no coordinator can answer)."""
    tp = TopicPartition(OFFSETS_TOPIC, partition_for(GROUP, 3))
    if OFFSETS_TOPIC not in cluster.image().topics:
        return 0  # no group topic yet: nothing committed
    leader = cluster.leader_of(tp)
    if leader < 0 or leader not in cluster._live_brokers():
        return None
    host = cluster.broker(leader).groups
    if host.group_error(GROUP) is not None:
        return None
    committed = host.coordinator.offsets.get(GROUP, {}).get(INPUT)
    return 0 if committed is None else committed.offset


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


def test_a_processor_without_faults_writes_each_result_once_and_no_aborted_one(
    tmp_path: Path,
) -> None:
    cluster = txn_cluster(0, tmp_path)
    processor = add_processor(cluster, "p1", total=30, abort_probability=0.3)
    assert cluster.run_until(lambda: processor.done, 60_000), (
        processor.phase,
        processor.next_input,
    )
    reader = read_committed(cluster, "reader")
    assert cluster.run_until(lambda: len(reader.records) >= 30, 20_000)
    cluster.run_for(500)
    values = [r.value or b"" for r in reader.records]
    results = sorted(int(v.split(b"-")[1]) for v in values)
    assert results == list(range(30))
    assert not set(values) & processor.aborted
    assert processor.aborted  # some transactions did abort
