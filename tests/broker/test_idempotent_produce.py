"""Idempotent produce on a broker: retries get their original offsets, gaps and zombies
are refused, and the producer table survives restarts (snapshot plus log tail)."""

from __future__ import annotations

from pathlib import Path

from reflog.broker import Broker
from reflog.config import BrokerConfig
from reflog.records import build_batch
from reflog.storage.log_config import LogConfig
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.produce import PartitionProduceResponse, ProduceResponse

from .conftest import Client, LoneBroker
from .test_broker_core import create, produce

TP = TopicPartition("t", 0)
PID = 1000


def idempotent(seq: int, count: int = 2, epoch: int = 0, pid: int = PID) -> bytes:
    return build_batch(
        [(None, b"%d" % (seq + i), 1000 + seq + i) for i in range(count)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
    )


def send(client: Client, records: bytes) -> PartitionProduceResponse:
    [answer] = client.send(produce(TP.topic, TP.partition, records))
    assert isinstance(answer.response, ProduceResponse)
    return answer.response.responses[0].partition_responses[0]


def log_end(broker: Broker) -> int:
    log = broker.partition_log(TP)
    assert log is not None
    return log.log_end_offset


def test_a_retried_batch_gets_its_original_offsets_and_is_not_written_twice(
    client: Client, broker: Broker
) -> None:
    create(client, "t")
    firsts = [send(client, idempotent(seq)).base_offset for seq in (0, 2, 4)]
    assert firsts == [0, 2, 4]
    retry = send(client, idempotent(2))
    assert (retry.error_code, retry.base_offset) == (ErrorCode.NONE, 2)
    assert log_end(broker) == 6


def test_a_sequence_gap_is_out_of_order_and_an_old_epoch_is_fenced(
    client: Client, broker: Broker
) -> None:
    create(client, "t")
    send(client, idempotent(0, epoch=1))
    gap = send(client, idempotent(5, epoch=1))
    assert gap.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    zombie = send(client, idempotent(2, epoch=0))
    assert zombie.error_code == ErrorCode.INVALID_PRODUCER_EPOCH
    not_from_zero = send(client, idempotent(2, epoch=2))
    assert not_from_zero.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert send(client, idempotent(0, epoch=2)).error_code == ErrorCode.NONE
    assert log_end(broker) == 4


def test_an_idempotent_batch_must_come_alone_and_carry_a_sequence(client: Client) -> None:
    create(client, "t")
    two = send(client, idempotent(0) + idempotent(2))
    assert two.error_code == ErrorCode.INVALID_RECORD
    no_sequence = send(client, idempotent(-1))
    assert no_sequence.error_code == ErrorCode.INVALID_RECORD
    plain = build_batch([(None, b"a", 1)])
    assert send(client, plain + plain).error_code == ErrorCode.NONE  # as before


def test_the_producer_table_survives_a_clean_restart_and_a_crash(tmp_path: Path) -> None:
    config = BrokerConfig(node_id=0, log_dir=tmp_path, log=LogConfig(segment_bytes=300))
    lone = LoneBroker(config)
    create(Client(lone), "t")
    for seq in range(0, 20, 2):  # several segments, so snapshots at their rolls
        send(Client(lone), idempotent(seq))
    lone.restart()  # clean: a snapshot at the log end
    assert send(Client(lone), idempotent(18)).base_offset == 18
    send(Client(lone), idempotent(20))
    lone.broker.logs.flush_all()
    lone.broker.crash()  # no snapshot at the end: the tail after the last one is replayed
    lone.broker = lone._join(0)
    for seq in (12, 20):
        retry = send(Client(lone), idempotent(seq))
        assert (retry.error_code, retry.base_offset) == (ErrorCode.NONE, seq)
    assert send(Client(lone), idempotent(24)).error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log_end(lone.broker) == 22


def test_idle_producers_expire_on_the_broker_tick(tmp_path: Path) -> None:
    config = BrokerConfig(
        node_id=0,
        log_dir=tmp_path,
        producer_id_expiration_ms=60_000,
        producer_id_expiration_check_interval_ms=1_000,
    )
    lone = LoneBroker(config)
    create(Client(lone), "t")
    send(Client(lone), idempotent(0))  # record time 1000
    log = lone.broker.partition_log(TP)
    assert log is not None and PID in log.producer_state.producers
    lone.broker.tick(60_000)
    assert PID in log.producer_state.producers
    lone.broker.tick(61_002)
    assert PID not in log.producer_state.producers
    # Forgotten: a batch at any sequence is taken again (Kafka 2.5+).
    assert send(Client(lone), idempotent(2)).error_code == ErrorCode.NONE
