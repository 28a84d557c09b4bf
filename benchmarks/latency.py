"""End-to-end latency on a real 3-broker cluster: producer send to consumer receive.

`reflog cluster up` runs 3 controllers and 3 brokers as processes on loopback.
For each of acks=1 and acks=all, a confluent-kafka producer sends one record at a
time to a topic with 3 replicas, and a consumer (already waiting in a long-poll
fetch) receives it; the next record goes once the last arrived. A consumer only
sees records below the high watermark, so with 3 replicas even acks=1 records
reach it only after both followers copied them.

Printed per mode: end-to-end p50/p99; the produce acknowledgement p50/p99; and
the replication lag, measured with acks=1 as the time from the leader's
acknowledgement (the leader has it) to the consumer receiving it (every in-sync
replica has it). Next to them, this machine's loopback round trip measured in
the same run. Targets (issue 5): p50 <= 1 ms (acks=1), <= 3 ms (acks=all);
replication lag p99 < 10 ms.

Run: `.venv/bin/python benchmarks/latency.py [--records 2000]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.controller_commit import loopback_rtt_ms, percentile
from tests.cluster_process import running_cluster, wait_for


def create(admin: AdminClient, name: str) -> bool:
    try:
        admin.create_topics([NewTopic(name, 1, 3)])[name].result(timeout=15)
    except Exception:
        return False
    return True


def in_sync(admin: AdminClient, name: str) -> bool:
    topic = admin.list_topics(name, timeout=5).topics.get(name)
    partition = None if topic is None else topic.partitions.get(0)
    return partition is not None and len(partition.isrs) == 3


def measure(bootstrap: str, topic: str, acks: str, records: int) -> dict[str, list[float]]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0})
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"latency-{topic}",
            "fetch.wait.max.ms": 500,
            "fetch.min.bytes": 1,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    acked_at: dict[int, float] = {}

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is None:
            acked_at[int(message.value() or b"0")] = time.perf_counter()

    # The producer's delivery callbacks run in its own thread, blocked in poll() until an
    # event comes, so neither side's timestamps wait on the other's polling.
    stop = threading.Event()

    def serve_producer() -> None:
        while not stop.is_set():
            producer.poll(0.05)

    poller = threading.Thread(target=serve_producer, daemon=True)
    poller.start()
    end_to_end, ack, lag = [], [], []
    warmup = 50
    for i in range(records + warmup):
        expected = str(i).encode()
        sent = time.perf_counter()
        producer.produce(topic, expected, partition=0, on_delivery=delivered)
        received = None
        deadline = sent + 10
        while received is None and time.perf_counter() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None and message.value() == expected:
                received = time.perf_counter()
        wait_for(lambda n=i: n in acked_at, 10, f"the acknowledgement of record {i}")
        if received is None or i < warmup:
            continue
        end_to_end.append((received - sent) * 1000)
        ack.append((acked_at[i] - sent) * 1000)
        lag.append(max(0.0, received - acked_at[i]) * 1000)
    stop.set()
    poller.join()
    consumer.close()
    return {"end_to_end": end_to_end, "ack": ack, "lag": lag}


def describe(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.2f} ms, p99 {percentile(values, 99):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="reflog-latency-") as tmp,
        running_cluster(Path(tmp), 3, 3) as cluster,
    ):
        wait_for(lambda: cluster.active_controller() is not None, 30, "an active controller")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 30, "3 brokers")
        results = {}
        for acks in ("1", "all"):
            topic = f"latency-acks-{acks}"
            wait_for(lambda t=topic: create(admin, t), 30, f"topic {topic}")
            wait_for(lambda t=topic: in_sync(admin, t), 30, f"{topic} in sync")
            results[acks] = measure(cluster.bootstrap, topic, acks, args.records)
    rtt = loopback_rtt_ms()
    print(f"{args.records} records, one at a time, topic with 3 replicas, 3 broker processes")
    for acks, target in (("1", 1.0), ("all", 3.0)):
        r = results[acks]
        p50 = percentile(r["end_to_end"], 50)
        verdict = "met" if p50 <= target else "NOT MET"
        print(
            f"  acks={acks}: end-to-end {describe(r['end_to_end'])} "
            f"(target p50 <= {target:g} ms: {verdict}); produce ack {describe(r['ack'])}"
        )
    lag = results["1"]["lag"]
    verdict = "met" if percentile(lag, 99) < 10 else "NOT MET"
    print(
        f"  replication lag (leader ack -> consumer sees it): {describe(lag)} "
        f"(target p99 < 10 ms: {verdict})"
    )
    print(f"  this machine: loopback round trip {rtt:.3f} ms")


if __name__ == "__main__":
    main()
