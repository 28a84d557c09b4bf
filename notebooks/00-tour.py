# %% [markdown]
# # A tour of reflog
#
# reflog is Apache Kafka's core, rewritten in readable, typed Python. Nothing here is a drawing:
# the broker below is the same code that real Kafka clients (kafka-python, confluent-kafka, kcat)
# talk to over TCP, its partitions are real files on disk, and the producer is a real client
# that batches records and picks partitions exactly as Kafka's does.
#
# This notebook runs a whole cluster **inside the kernel** on a simulated network with a virtual
# clock. Because the run is seeded, every number printed below is the same on every run — and you
# can still press *Play* and watch it live.
#
# *Simplification in this chapter:* the cluster has a single broker (it follows a quorum of one
# controller) that leads every partition; replication arrives in later chapters.

# %%
from reflog.producer.partitioner import partition_for_key
from reflog.sim import Cluster

cluster = Cluster(seed=42, brokers=1)
cluster.create_topic("orders", partitions=3)
keys = [b"alice", b"bob", b"carol", b"dave", b"erin"]
producer = cluster.add_producer(
    "checkout", "orders", rate_per_s=200, keys=keys, acks=1, linger_ms=5
)
consumer = cluster.add_consumer("billing", "orders", partitions=[0, 1, 2])
print(f"brokers: {[b.name for b in cluster.brokers.values()]}, topic 'orders' with 3 partitions")

# %% [markdown]
# ## Two seconds of traffic
#
# The producer sends 200 keyed records a second. Each key always goes to the same partition:
# `partition = toPositive(murmur2(key)) % 3` — that is Kafka's default partitioner, and it is what
# gives Kafka its per-key ordering.

# %%
cluster.run_for(2_000)
print(f"t = {cluster.now_ms} ms: sent {producer.sent}, acknowledged {producer.acked}, "
      f"failed {producer.failed}")
for key in keys:
    print(f"  key {key.decode():6} -> partition {partition_for_key(key, 3)}")
ends = cluster.log_end_offsets("orders")
for partition, end in sorted(ends.items()):
    print(f"orders-{partition}: {end:4} records, log end offset {end}")

# %% [markdown]
# ## The same records, read back
#
# The consumer fetches from each partition's leader and sees every partition's records in offset
# order. Across partitions there is no order: that is Kafka's ordering contract.

# %%
by_partition = {}
for record in consumer.records:
    by_partition.setdefault(record.partition, []).append(record)
for partition in sorted(by_partition):
    records = by_partition[partition]
    offsets = [r.offset for r in records]
    assert offsets == list(range(len(offsets))), "offsets must be consecutive"
    first = records[0]
    print(f"orders-{partition}: read {len(records)} records; first: offset {first.offset}, "
          f"key {first.key.decode()}, value {first.value.decode()}")

# %% [markdown]
# ## Bytes on disk
#
# Each partition is a directory named `<topic>-<partition>` holding a log file of RecordBatch v2
# batches, exactly the bytes the producer sent (the broker only rewrote each batch's base
# offset). The producer's `linger.ms` decides how many records share a batch.

# %%
from reflog.records import iter_batches

for partition, size in sorted(cluster.log_sizes("orders").items()):
    log_dir = cluster.brokers[1].config.log_dir / f"orders-{partition}"
    log_file = log_dir / "00000000000000000000.log"
    batches = list(iter_batches(log_file.read_bytes()))
    per_batch = sum(b.record_count for b in batches) / len(batches)
    print(f"orders-{partition}/{log_file.name}: {size} bytes, {len(batches)} batches, "
          f"{per_batch:.1f} records per batch")

# %% [markdown]
# ## Watch it live
#
# Press **Play**: the simulation runs paced to the wall clock on the kernel's event loop and the
# bars grow. Drag **records/s** to change the producer's rate while it runs, **speed** to run
# faster than real time, **Step** to advance 100 ms at a time. (Playing changes the cluster, so
# re-run the notebook from the top to get the printed numbers back.)

# %% tags=["nbval-ignore-output"]
from reflog.viz import PartitionsView

view = PartitionsView(cluster, "orders")
view.widget

# %% [markdown]
# ## A hot key
#
# Keyed partitioning has a price. When one key dominates — a celebrity's user id, a default
# tenant — its partition, and the one broker that leads it, take most of the load, however many
# partitions the topic has. Here one key carries 80% of the traffic:

# %%
hot = Cluster(seed=7, brokers=1)
hot.create_topic("clicks", partitions=6)
skewed = hot.add_producer("frontend", "clicks", rate_per_s=500,
                          keys=[b"celebrity", b"u1", b"u2", b"u3", b"u4", b"u5"],
                          key_weights=[80, 4, 4, 4, 4, 4])
hot.run_for(2_000)
ends = hot.log_end_offsets("clicks")
total = sum(ends.values())
for partition, end in sorted(ends.items()):
    bar = "#" * round(40 * end / total)
    print(f"clicks-{partition}: {end:4} records {bar}")
print(f"the celebrity's partition: clicks-{partition_for_key(b'celebrity', 6)}")


# %% [markdown]
# ## Same seed, same run
#
# Every latency, every tie and every key choice comes from the seed, so a run is a reproducible
# experiment: the trace of two runs with seed 42 is identical byte for byte, and a different seed
# gives a different one. A failing seed in a test is a bug report anyone can replay.

# %%
def trace_digest(seed: int) -> str:
    c = Cluster(seed=seed, brokers=1)
    c.create_topic("orders", partitions=3)
    c.add_producer("checkout", "orders", rate_per_s=200, keys=keys)
    c.run_for(500)
    return c.sim.trace.digest()

print("seed 42 twice gives the same trace:", trace_digest(42) == trace_digest(42))
print("seed 43 gives another:", trace_digest(42) != trace_digest(43))

# %% [markdown]
# ## Where next
#
# * `reflog broker --node-id 0 --listen 127.0.0.1:9092 --data-dir /tmp/reflog-0` runs this broker
#   as a process that `kcat`, kafka-python or confluent-kafka can use.
# * `python -m exercises list` shows the exercises: implement varint decoding, then Kafka's
#   murmur2 partitioner, and see the hot key above from the inside.
