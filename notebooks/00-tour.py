# %% [markdown]
# # A tour of reflog
#
# reflog is Apache Kafka's core, rewritten in readable, typed Python. Nothing here is a drawing
# of Kafka: the brokers below are the same code that real Kafka clients (kafka-python,
# confluent-kafka, kcat) talk to over TCP, their partitions are real files on disk, the
# controller is a Raft quorum keeping a metadata log, and the producer and consumer are real
# clients that batch, retry and look for leaders as Kafka's do.
#
# This notebook runs a whole cluster **inside the kernel**: one KRaft controller and three
# brokers on a simulated network with a virtual clock. Because the run is seeded, every number
# printed below is the same on every run, and you can still press *Play* and break things live.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “The cluster at a glance”.

# %%
from reflog.sim import Cluster

cluster = Cluster(seed=42, brokers=3)
cluster.create_topic("orders", partitions=3, replication_factor=3)
print(cluster.describe("orders"))

# %% [markdown]
# ## Three partitions, three copies of each
#
# `orders` has three partitions, and each lives on all three brokers (replication factor 3).
# The controller placed the replicas of each partition starting at a different broker, and the
# first replica of each list is its *preferred leader*, so each broker leads one partition:
# leadership, and with it the load of producers and consumers, is spread over the cluster.
#
# In each line above, `ISR` is the partition's *in-sync replicas*: the replicas that have
# everything the leader has committed. `L` marks the leader, `F` a follower; `LEO` is a
# replica's log end offset (the next offset it will write) and `HW` its high watermark (the
# offsets below it are on every ISR member: *committed*, and readable by consumers).
#
# ## A producer and a consumer
#
# `checkout` sends 200 keyed records a second with `acks=all`: the leader answers only once
# every replica in the ISR has the record. Each key always goes to the same partition
# (`toPositive(murmur2(key)) % 3`, Kafka's default partitioner), which is what gives Kafka its
# per-key ordering. `billing` reads all three partitions from the beginning.

# %%
from reflog.producer.partitioner import partition_for_key

keys = [b"alice", b"bob", b"carol", b"dave", b"erin"]
cluster.add_producer("checkout", "orders", rate_per_s=200, keys=keys, acks=-1)
cluster.add_consumer("billing", "orders")
cluster.run_for(2_000)

for key in keys:
    print(f"key {key.decode():6} -> orders-{partition_for_key(key, 3)}")
now = cluster.timeline.latest
checkout, billing = now.producer("checkout"), now.consumer("billing")
print(f"t = {now.at_ms} ms: checkout sent {checkout.sent}, acknowledged {checkout.acked}, "
      f"failed {checkout.failed}; billing read {billing.consumed}")
for p in now.topic("orders"):
    print(f"orders-{p.partition}: leader broker-{p.leader}, high watermark {p.high_watermark}, "
          f"billing at offset {billing.position(p.partition)}")

# %% [markdown]
# ## The cluster at a glance
#
# Every step of the run is recorded as a snapshot of the whole cluster, and the view below
# draws one snapshot:
#
# * **left**, one column per node: the controller, then each broker. A row per partition: in
#   the controller's column, what it committed to the metadata log (the leader, the *leader
#   epoch*, the ISR); in each broker's column, that broker's replica: the **★ leader** (dark
#   green), followers **in the ISR** (light green) or **out of it** (orange), or **down** (grey).
#   A follower copies its leader's log by fetching from it, as a consumer does;
# * **right**, each partition's log on its leader: committed up to the high watermark (green),
#   written but not yet on every ISR member (pale), and where `billing` is (red line). The top
#   line counts the producer's records.
#
# The controls act on the running cluster: pick a broker and **kill** it (a power cut) or
# **restart** it; **Play** runs the cluster paced to the wall clock (**speed** × faster), **run
# 500 ms** steps. The **time** slider scrubs back through everything recorded; **live** (or
# any control) jumps back to now. (Playing changes the cluster: re-run the notebook from the
# top to get the printed numbers back.) Until the notebook runs, a recording of these first
# seconds stands in for the live view, with its own slider and ▶.

# %% tags=["nbval-ignore-output"]
from reflog.viz import ClusterView

view = ClusterView(cluster, "orders")
view

# %% [markdown]
# ## Kill a leader
#
# Now cut the power of the broker that leads `orders-0`. The cell below runs 4 s of simulated
# time at once, so the view above jumps to its end: drag its time slider back to where the
# clock reads the crash's time (printed below) and move forward to watch. Two things happen,
# about a second apart:
#
# 1. At first **nobody knows**. The partitions it led have a dead leader: the producer's
#    requests to it go unanswered, and the controller still names it (a red outline).
# 2. The broker misses its heartbeats to the controller, and after `broker.session.timeout.ms`
#    (1 s here) the controller **fences** it: it removes it from every ISR and, for each
#    partition it led, **elects a new leader from the ISR** and bumps the partition's **leader
#    epoch**. Only a replica from the ISR may lead: it has every committed record, so nothing
#    acknowledged is lost. The new epoch tells every replica and client that the old leader's
#    word no longer counts.
#
# The producer's requests to the dead broker time out after `request.timeout.ms` (2 s here);
# it then asks for metadata, finds the new leader and sends its records there.

# %%
from reflog.viz.cluster_view import leader_changes

before = cluster.timeline.latest
victim = before.leader_of("orders", 0)
cluster.crash(f"broker-{victim}")
crashed_at = cluster.now_ms
cluster.run_for(4_000)
after = cluster.timeline.latest

print(f"t = {crashed_at} ms: crashed broker-{victim}")
for change in leader_changes(cluster.timeline, "orders"):
    print(f"  {change}  ({change.at_ms - crashed_at} ms after the crash)")
for b, a in zip(before.topic("orders"), after.topic("orders"), strict=True):
    print(f"orders-{a.partition}: leader broker-{b.leader} (epoch {b.leader_epoch}, "
          f"ISR {list(b.isr)}) -> broker-{a.leader} (epoch {a.leader_epoch}, ISR {list(a.isr)})")
checkout, billing = after.producer("checkout"), after.consumer("billing")
print(f"t = {after.at_ms} ms: checkout sent {checkout.sent}, acknowledged {checkout.acked}, "
      f"failed {checkout.failed}; billing read {billing.consumed}")

# %% [markdown]
# ## Nothing acknowledged was lost
#
# Every record the producer saw acknowledged must be in the new leaders' logs, below their high
# watermarks, and the consumer reads each partition's offsets without a gap or a repeat.

# %%
committed = sum(p.high_watermark for p in after.topic("orders"))
print(f"acknowledged {checkout.acked}; committed in the leaders' logs: {committed}")
assert committed >= checkout.acked
consumer = cluster.consumers["billing"]
for partition in range(3):
    offsets = [r.offset for r in consumer.records if r.partition == partition]
    assert offsets == list(range(len(offsets))), "offsets must be consecutive"
    print(f"orders-{partition}: billing read offsets 0..{offsets[-1]}, none missing")

# %% [markdown]
# ## Bring it back
#
# Restarted, the broker recovers its logs from disk and comes back as a follower of every
# partition: it fetches what it missed from the new leaders, and once it has caught up the
# leaders add it to the ISR again. Its old partition stays with its new leader.
#
# *reflog simplification:* Kafka's controller moves leadership back to the preferred replica on
# its own (`auto.leader.rebalance.enable`, checked every `leader.imbalance.check.interval.seconds`);
# reflog's does not.

# %%
cluster.restart(f"broker-{victim}")
cluster.run_for(3_000)
print(cluster.describe("orders"))
final = cluster.timeline.latest
checkout, billing = final.producer("checkout"), final.consumer("billing")
print(f"checkout sent {checkout.sent}, acknowledged {checkout.acked}, failed {checkout.failed}; "
      f"billing read {billing.consumed}")

# %% [markdown]
# ## The whole run, recorded
#
# The live view above follows the cluster as it runs (scroll back up and scrub its **time**
# slider). Here is the same drawing of the whole run stored as a plain figure, which works even
# before the notebook runs: drag its slider to the crash (at 2123 ms, as printed above), watch
# `orders-0` keep a dead leader for almost a second, then the controller's new leader and epoch,
# and the restarted broker rejoin every ISR.

# %% tags=["nbval-ignore-output"]
from reflog.viz import static_cluster_figure
from reflog.viz.static import show

show(static_cluster_figure(cluster.timeline, "orders", max_frames=50))


# %% [markdown]
# ## Same seed, same run
#
# Every latency, every tie and every key choice comes from the seed, so a run is a reproducible
# experiment: the trace of two runs with seed 42 is identical byte for byte, and a different seed
# gives a different one. A failing seed in a test is a bug report anyone can replay.

# %%
def trace_digest(seed: int) -> str:
    c = Cluster(seed=seed, brokers=3, record=False)
    c.create_topic("orders", partitions=3)
    c.add_producer("checkout", "orders", rate_per_s=200, keys=keys)
    c.run_for(500)
    return c.sim.trace.digest()

print("seed 42 twice gives the same trace:", trace_digest(42) == trace_digest(42))
print("seed 43 gives another:", trace_digest(42) != trace_digest(43))

# %% [markdown]
# ## Where next
#
# * From the repository's root, `.venv/bin/reflog broker --node-id 0 --listen 127.0.0.1:9092
#   --data-dir /tmp/reflog-0` runs a broker as a process that `kcat`, kafka-python or
#   confluent-kafka can use (the README's "Try it from a shell").
# * The next notebooks open up what you saw here: `01-segments` (the log on disk),
#   `03-raft` (the controller quorum's elections), `04-replication` (the ISR, the high watermark
#   and leader epochs up close).
# * `.venv/bin/python -m exercises list`, from the repository's root, shows the exercises:
#   implement varint decoding, then Kafka's murmur2 partitioner.
