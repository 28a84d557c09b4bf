# %% [markdown]
# # Operating a cluster: hot partitions, more partitions, moving replicas, leaders
#
# Running Kafka is mostly done with four tools: `kafka-topics` (create, delete, add partitions),
# `kafka-configs` (change a topic's or a broker's configs while it runs),
# `kafka-reassign-partitions` (move a partition's replicas to other brokers) and
# `kafka-leader-election` (give leadership back to the preferred replicas). Each sends an admin
# request to a broker, which forwards it to the active controller; the controller commits the
# change to the metadata log, and every broker applies it.
#
# This notebook does the same to a simulated cluster in the kernel (seeded: every printed line is
# the same on every run), with the same requests: `cluster.alter_config`, `cluster.reassign`,
# `cluster.elect_leaders` and `cluster.create_partitions` each send one (IncrementalAlterConfigs,
# AlterPartitionReassignments, ElectLeaders, CreatePartitions) and draw it on the timeline. Against
# real processes, the same steps are `reflog configs`, `reflog reassign-partitions`,
# `reflog leader-election` and `reflog topics alter`, or any Kafka admin client.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “3. Moving a replica while producers write”.

# %%
from itertools import pairwise

from reflog.producer.partitioner import partition_for_key
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.viz.static import show

# %% [markdown]
# ## 1. A hot partition
#
# A topic spreads its load over its partitions only as well as its keys do: every record of a key
# goes to the same partition (`murmur2(key) % partitions`). Here one customer, `megacorp`, sends
# most of the traffic. Four partitions, four brokers; the producer sends 400 records a second and a
# consumer reads them all.

# %%
cluster = Cluster(seed=8, brokers=4, replica_lag_time_max_ms=1_000)
cluster.create_topic("clicks", partitions=4, replication_factor=2)
keys = [b"megacorp", b"alice", b"bob", b"carol", b"dave"]
cluster.add_producer("web", "clicks", rate_per_s=400, keys=keys, key_weights=[16, 1, 1, 1, 1])
cluster.add_consumer("stats", "clicks")
samples = []  # (t, {partition: high watermark}) every 250 simulated ms
for _ in range(12):
    cluster.run_for(250)
    samples.append((cluster.now_ms, {p.partition: p.high_watermark
                                     for p in cluster.timeline.latest.topic("clicks")}))

for key in keys:
    print(f"{key.decode():9} -> clicks-{partition_for_key(key, 4)}")
last = cluster.timeline.latest
(t0, first), (t1, final) = samples[0], samples[-1]
for p in last.topic("clicks"):
    rate = (final[p.partition] - first[p.partition]) / ((t1 - t0) / 1000)
    lag = p.high_watermark - last.consumer("stats").position(p.partition)
    print(f"clicks-{p.partition}: leader broker-{p.leader}, {rate:5.0f} records/s, "
          f"consumer lag {lag}")

# %% [markdown]
# One partition, and so one broker (its leader) and one consumer thread, takes most of the load;
# adding brokers would not help it. The figure draws each partition's write rate over time
# (records committed per 250 simulated ms, as records per second).

# %%
import plotly.graph_objects as go

figure = go.Figure()
for partition in range(4):
    xs = [t for t, _ in samples[1:]]
    ys = [(after[partition] - before[partition]) * 4
          for (_, before), (_, after) in pairwise(samples)]
    figure.add_scatter(x=xs, y=ys, name=f"clicks-{partition}", mode="lines")
figure.update_layout(
    title="records/s per partition", xaxis_title="simulated ms", yaxis_title="records/s",
    height=320, margin={"t": 40, "b": 40},
)
show(figure)

# %% [markdown]
# ## 2. More partitions, and keys that move
#
# The obvious fix, more partitions, has a price for a keyed topic: the partition of a key is
# `murmur2(key) % partitions`, so changing the count moves keys. Kafka only ever *adds*
# partitions (fewer is refused: `INVALID_PARTITIONS`), and it does not move the records already
# written. A key that moves has its old records in one partition and its new ones in another, read
# by different consumers at different speeds: **its order is lost** across the change.

# %%
for key in keys:
    before, after = partition_for_key(key, 4), partition_for_key(key, 6)
    moved = "moves" if before != after else "stays"
    print(f"{key.decode():9} clicks-{before} -> clicks-{after}  ({moved})")

# %% [markdown]
# Watch it happen. `stats` reads partitions 0-3 and is slowed down (300 ms a message, a busy
# consumer); after the topic grows to 6 partitions, a new consumer `stats-new` reads partitions 4
# and 5. A producer learns of new partitions when it next refreshes its metadata
# (`metadata.max.age.ms`, 5 minutes by default); here it is told to refresh at once. For each key
# that moved, compare when the last record written *before* the change was read with when the
# first record written *after* it was.

# %%
try:
    cluster.create_partitions("clicks", 3)
except Exception as refused:
    print(f"3 partitions: {refused}")
cluster.slow("stats", None, 300)
change_ms = cluster.now_ms
cluster.create_partitions("clicks", 6)
cluster.producers["web"].producer.network.request_metadata_update(cluster.now_ms)
cluster.add_consumer("stats-new", "clicks", partitions=[4, 5])

read_at = {}  # (consumer, value) -> when it was read
seen = {"stats": 0, "stats-new": 0}
for _ in range(300):
    cluster.run_for(20)
    for name in seen:
        records = cluster.consumers[name].records
        for record in records[seen[name]:]:
            read_at[record.value] = (cluster.now_ms, name, record.key, record.partition)
        seen[name] = len(records)

for key in keys:
    old_p, new_p = partition_for_key(key, 4), partition_for_key(key, 6)
    if old_p == new_p:
        continue
    mine = sorted(
        (int(v.split(b"-")[1]), at, who, p) for v, (at, who, k, p) in read_at.items() if k == key
    )
    old = [m for m in mine if m[3] == old_p and m[1] >= change_ms]
    new = [m for m in mine if m[3] == new_p and m[0] > (old[-1][0] if old else -1)]
    if old and new:
        last_old, first_new = old[-1], new[0]
        order = "OUT OF ORDER" if first_new[1] < last_old[1] else "in order"
        print(f"{key.decode():9} record-{last_old[0]} (clicks-{old_p}) read at "
              f"t = {last_old[1]} ms by {last_old[2]}; record-{first_new[0]} (clicks-{new_p}, "
              f"sent later) at "
              f"t = {first_new[1]} ms by {first_new[2]}: {order}")
cluster.heal()

# %% [markdown]
# A key that moved between two partitions the same consumer reads kept its order here (that
# consumer fetched both in the same requests), but a key that moved to a partition another consumer
# reads did not: its later records were processed first. Anything that relies on per-key order (a
# balance, a state machine per user) then sees events out of order. The usual plans: create the
# topic with enough partitions from the start, or migrate to a new topic (write to both, drain the
# old one, then switch readers) instead of growing a keyed topic in place.
#
# ## 3. Moving a replica while producers write
#
# Broker 1 is to be retired: its replicas must move elsewhere. A reassignment (KIP-455) goes in
# steps, each a metadata record the controller commits:
#
# 1. the partition's replica set grows to old + new replicas (`adding`, `removing`): the new
#    broker starts fetching from the leader, like any follower;
# 2. once the new replica is in the ISR (it has caught up), the set shrinks to the target in the
#    same batch; if the leader was on a removed broker, leadership moves to the first in-sync
#    target replica (a new leader epoch);
# 3. each removed broker deletes its copy from disk.
#
# The view is live: the controller's column shows the replica set, each broker's column its copy.

# %%
ops = Cluster(seed=3, brokers=4, replica_lag_time_max_ms=1_000)
ops.create_topic("orders", partitions=2, replication_factor=3)
ops.add_producer("checkout", "orders", rate_per_s=200, keys=[b"a", b"b", b"c", b"d"])
ops.add_consumer("billing", "orders")
ops.run_for(1_000)
tp = TopicPartition("orders", 0)
print(ops.describe("orders"))

# %% tags=["nbval-ignore-output"]
from reflog.viz import ClusterView

view = ClusterView(ops, "orders")
view

# %%
state = ops.image().partition(tp)
start_ms = ops.now_ms
target = [4, *[r for r in state.replicas if r != 1]][:3]
ops.reassign("orders", 0, target)
print(f"t = {ops.now_ms} ms: {ops.actions[-1].description}")
steps = []
while True:
    s = ops.controller().image.partition(tp)
    step = (s.replicas, s.adding_replicas, s.removing_replicas, s.isr, s.leader)
    if not steps or steps[-1][1] != step:
        steps.append((ops.now_ms, step))
    if list(s.replicas) == target and not s.adding_replicas:
        break
    ops.run_for(5)
for at, (replicas, adding, removing, isr, leader) in steps:
    print(f"t = {at:5} ms  replicas {list(replicas)}  adding {list(adding)}  "
          f"removing {list(removing)}  ISR {list(isr)}  leader broker-{leader}")
ops.run_for(500)
print(f"broker-1 still has orders-0 on disk: {ops.broker(1).logs.get(tp) is not None}")
ends = {b: ops.broker(b).logs.get(tp).log_end_offset for b in target}
print(f"log end offsets of the new replicas: {ends}; "
      f"producer failures so far: {ops.timeline.latest.producer('checkout').failed}")

# %% [markdown]
# The producer never stopped: while broker 4 copied the log, broker 1 still led; the switch was
# one leader change, the same as a failover, and nothing acknowledged was lost (the simulation
# tests in `tests/controller/test_reassignment_faults.py` check that over hundreds of seeded
# schedules with brokers crashing in the middle).
#
# ## 4. Leadership after a broker returns
#
# The first replica of each partition is its *preferred leader*, and the controller placed them so
# that each broker leads its share. When a broker fails, its partitions get other leaders; when it
# returns, it comes back as a **follower**: leadership does not move back by itself in reflog
# (Kafka's `auto.leader.rebalance.enable` does it every 5 minutes). A preferred election moves it
# back at once.

# %%
def leaders():
    return {p.partition: p.leader for p in ops.timeline.latest.topic("orders")}


preferred = {p: s.replicas[0] for p, s in ops.image().topics["orders"].partitions.items()}
print(f"preferred leaders: {preferred}; leaders now: {leaders()}")
victim = preferred[1]
ops.crash(f"broker-{victim}")
ops.run_for(3_000)
print(f"after broker-{victim} crashed: {leaders()}")
ops.restart(f"broker-{victim}")
ops.run_for(3_000)
print(f"after it came back: {leaders()}")
print(ops.elect_leaders("orders"))
ops.run_for(100)
print(f"after a preferred election: {leaders()}")

# %% [markdown]
# `ELECTION_NOT_NEEDED` means that partition's preferred replica already led. With a real cluster:
# `reflog leader-election --election-type preferred --all-topic-partitions --bootstrap-server ...`.
#
# Every action of this chapter is on the timeline, next to the faults:

# %%
for action in ops.actions:
    print(f"t = {action.at_ms:5} ms  {action.kind:14} {action.description}")
