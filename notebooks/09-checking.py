# %% [markdown] tags=["jupyterlab-only"]
# # Seeing the wire, checking the history
#
# **This chapter runs only in JupyterLab** (`make lab`), not in the docs site's in-browser
# JupyterLite: its first half starts real brokers and a proxy that listen on TCP sockets, and
# runs `kcat` as a separate process, and Python in a browser tab (Pyodide) can neither listen on
# a socket nor start a process. Its stored run is shown below; the chapters on the simulated
# cluster run in the browser too.
#
# Two tools make a claim about Kafka something you can check yourself instead of something you
# are told:
#
# 1. a **protocol inspector**, between a client and the brokers, that decodes every request and
#    response: what a real client actually says (here `kcat`, built on librdkafka, the C client
#    under confluent-kafka);
# 2. a **history checker** in the style of Jepsen: record what the clients asked and what they
#    were told (a send acknowledged at an offset, refused, or never answered; each poll's offsets
#    and values), then look for the anomalies — above all an acknowledged record that is gone.
#
# The first half runs a real cluster of reflog's **network runtime** inside this kernel, as the
# zero-copy chapter does: one controller and 3 brokers on 127.0.0.1, with an inspector
# (`reflog inspect` on the command line, `InspectorView` here) in front of broker 1 for each
# step, so that each step's table keeps that step's conversation. The second half runs the
# checker over histories recorded on the simulated cluster (`reflog.sim.Cluster`),
# deterministic by seed, under a safe and an unsafe configuration.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “7. Your turn: a live, checked run”.

# %%
import asyncio

from reflog.net.local_cluster import LocalCluster
from reflog.viz.inspector import InspectorView

cluster = LocalCluster(brokers=3, broker_session_timeout_ms=30_000)
await cluster.start()
await cluster.create_topic("clicks", partitions=3, replication_factor=3)
inspectors = []


async def new_inspector():
    """An inspector of its own for a step: it listens on its own port, forwards to broker 1."""
    view = InspectorView(cluster.bootstrap_servers.split(",")[0])
    await view.start()
    inspectors.append(view)
    return view


async def kcat(inspector, *args, stdin=None):
    """Run kcat through ``inspector`` without blocking this kernel's loop (the brokers run on
    it). Returns what kcat printed."""
    process = await asyncio.create_subprocess_exec(
        "kcat", "-b", inspector.bootstrap, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


print("3 brokers up; each step puts an inspector in front of broker 1")

# %% [markdown]
# ## 1. kcat lists the metadata
#
# `kcat -L` asks for the cluster's metadata. Like every Kafka client it first asks which API
# versions the broker speaks (`ApiVersions`), then sends `Metadata`. The answer names every
# broker by host and port; the inspector **rewrites** each address to one of its own ports, so
# that the client's later connections to the other brokers come through it too (the `fault`
# column says so). The numbers (ports, times) vary from run to run. The table is the
# inspector's live view: it grows as clients talk through the inspector, and its controls filter
# it (by API, direction, any text, or errors and faults only) and make the inspector drop or
# delay requests; the stored notebook keeps a copy of it as it was.

# %%
metadata_view = await new_inspector()
listing = await kcat(metadata_view, "-L")
apis = [f"{e.direction} {e.api}" for e in metadata_view.events]
print("what kcat said and heard:", ", ".join(dict.fromkeys(apis)))
print("3 brokers listed, each at an inspector address:",
      listing.count(" at 127.0.0.1:") == 3 and "rewrote" in metadata_view.events[-1].fault)

# %% tags=["nbval-ignore-output"]
print(listing)
metadata_view

# %% [markdown]
# ## 2. A producer batches
#
# Now kcat produces 300 keyed records (`user-N:click-N`) with `linger.ms=100`: the producer
# waits up to 100 ms to gather records before it sends. Keys pick partitions (by their hash),
# and the producer keeps **one batch per partition**, and sends one `Produce` request per
# **broker** holding every batch for the partitions that broker leads. So 300 records leave in
# a handful of requests — typically one per broker — each answered with the base offset of each
# batch.

# %%
produce_view = await new_inspector()
records = "".join(f"user-{i % 7}:click-{i}\n" for i in range(300))
await kcat(produce_view, "-P", "-t", "clicks", "-K", ":", "-X", "linger.ms=100",
           stdin=records.encode())
produce = [e for e in produce_view.events if e.api == "Produce" and e.direction == "request"]
print(f"300 records sent in fewer requests than records: {len(produce) < 300}")
print("every Produce request answered without an error:",
      all(not e.errors for e in produce_view.events if e.api == "Produce"))

# %% tags=["nbval-ignore-output"]
print(f"{len(produce)} Produce request(s):")
produce_view.only("Produce")

# %% [markdown]
# ## 3. A consumer joins a group
#
# Now kcat reads the 300 records as a member of the consumer group `readers` (`-G`), from the
# beginning of each partition since the group has committed nothing yet
# (`auto.offset.reset=earliest`), and exits once it has read to the end (`-e`). Before it reads
# a record, the member and the group's coordinator go through the protocol of the
# consumer-groups chapter, and each step is a request in the table:
#
# 1. **FindCoordinator**: which broker coordinates `readers` (the leader of the
#    `__consumer_offsets` partition the group id hashes to); kcat then connects to it (the
#    inspector rewrote its address). A first ask may be answered `COORDINATOR_NOT_AVAILABLE`
#    while `__consumer_offsets` is being created.
# 2. **JoinGroup**, twice: a member that joins without a member id is answered
#    `MEMBER_ID_REQUIRED` with an id chosen by the coordinator (KIP-394), and joins again with
#    it. The second answer takes about 3 s: the coordinator of a new group waits
#    `group.initial.rebalance.delay.ms` for more members before it forms generation 1, and names
#    this member its leader.
# 3. **SyncGroup**: the leader sends the assignment it computed (every partition, to itself);
#    the coordinator hands each member its share.
# 4. **OffsetFetch**: where the group left off in each assigned partition: nowhere yet (no
#    committed offset), so the consumer asks for the log's start (ListOffsets), as
#    `auto.offset.reset` says.
# 5. **Fetch** from each partition's leader, and **Heartbeat** to the coordinator meanwhile
#    (here every 500 ms, `heartbeat.interval.ms`: a member that stops heartbeating for
#    `session.timeout.ms` is dropped from the group); kcat commits its positions
#    (**OffsetCommit**) and leaves (**LeaveGroup**) on the way out.

# %%
group_view = await new_inspector()
read = await kcat(group_view, "-G", "readers", "-e", "-X", "auto.offset.reset=earliest",
                  "-X", "heartbeat.interval.ms=500", "clicks")
said = [e.api for e in group_view.events if e.direction == "request"]
joins = [e for e in group_view.events if e.api == "JoinGroup" and e.direction == "response"]
print(f"read {len(read.splitlines())} records as a member of 'readers'")
# Each of these waits for the answer to the one before it (heartbeats run beside them).
steps = ["FindCoordinator", "JoinGroup", "SyncGroup", "OffsetFetch", "Fetch"]
print("first asked in this order:", " → ".join(sorted(steps, key=said.index)))
print("joined twice, the first answered MEMBER_ID_REQUIRED:",
      len(joins) >= 2 and joins[0].errors == ("MEMBER_ID_REQUIRED",) and not joins[1].errors)
print("heartbeats once in the group:", "Heartbeat" in said[said.index("SyncGroup"):])

# %% tags=["nbval-ignore-output"]
group_view.only("all")

# %% [markdown]
# That is all of the real cluster this chapter needs: stop the inspectors and the brokers (the
# tables above stay as they were).

# %%
for view in inspectors:
    await view.close()
await cluster.stop()
print("stopped")

# %% [markdown]
# ## 4. The history checker
#
# A **history** lists what the clients saw, one operation each; `reflog.check.check` reads only
# that, never the brokers. Values are unique, so a value read names the send that wrote it. A
# hand-made history: `a` and `b` acknowledged at offsets 0 and 1, then a reader that gets `a` at
# 0 and `c` at 1.

# %%
from reflog.check import History, check
from reflog.topic_partition import TopicPartition

tp = TopicPartition("r", 0)
history = History()
a = history.invoke_send("producer", tp, [b"a"], 0)
history.acknowledged(a, offset=0, now_ms=5)
b = history.invoke_send("producer", tp, [b"b"], 10)
history.acknowledged(b, offset=1, now_ms=14)
history.poll("reader", [(tp, 0, b"a"), (tp, 1, b"c")], invoked_ms=20, completed_ms=22)
print(check(history).describe())

# %% [markdown]
# Two anomalies, with Jepsen's names: **lost-write** (`b` was acknowledged at offset 1, the
# reader read past offset 1 and never saw it) and **inconsistent-offsets** (offset 1 holds `b`
# for the producer's acknowledgement and `c` for the reader). Each names the operations that
# show it — the numbers in parentheses.
#
# ## 5. Safe and unsafe, under the same faults
#
# `reflog.chaos.simulated` records such a history on the simulated cluster (3 controllers, 3
# brokers, one partition with 3 replicas): a producer sends one record every 25 ms for 3
# simulated seconds while a seeded **nemesis** crashes, restarts and isolates brokers and slows
# links; then everything heals, the producer writes 3 more records and a final reader reads the
# partition from its leader. The same seed gives the same faults, so two configurations can be
# set side by side:
#
# * **safe**: `acks=all`, `min.insync.replicas=2`, no unclean election;
# * **unsafe**: `acks=1` (the leader answers before any follower has the record),
#   `min.insync.replicas=1` and `unclean.leader.election.enable=true`.
#
# In the figures, each broker's row is grey while it is crashed and orange while isolated (a
# triangle at each fault); the producer's sends are drawn where their answer came (green
# acknowledged, red refused, grey never answered); the final reads are blue squares. Each
# anomaly is a marker on the operations that show it, joined by a dashed line; each kind has its
# own marker, named in the legend (click a name to hide that kind, hover a marker for the
# anomaly).

# %%
import atexit
import shutil
import tempfile
from pathlib import Path

from reflog.chaos.simulated import SimulatedRun
from reflog.replication.truncation import TruncationPolicy
from reflog.viz.checking import CheckerView, checked_figure
from reflog.viz.static import show

workdir = Path(tempfile.mkdtemp(prefix="reflog-checking-"))
atexit.register(shutil.rmtree, workdir, True)
SEED = 0


def recorded(name, seed=SEED, **settings):
    """One run of the seeded schedule, healed and read to the end."""
    run = SimulatedRun.replicated(seed, workdir / name, **settings)
    run.random_faults(seed)
    run.heal_write_and_read()
    return run


safe = recorded("safe")
unsafe = recorded("unsafe", acks=1, min_insync_replicas=1, unclean=True)
for name, run in (("safe", safe), ("unsafe", unsafe)):
    acknowledged = sum(1 for op in run.history.ops if getattr(op, "offset", None) is not None)
    print(f"== {name}: {acknowledged} acknowledged sends, "
          f"{sum(f.kind == 'crash' for f in run.faults)} crashes")
    print(run.verdict().describe(limit=3))

# %%
show(checked_figure(safe, "safe (acks=all, min.insync.replicas=2)"))
show(checked_figure(unsafe, "unsafe (acks=1, unclean election)"))

# %% [markdown]
# Under the safe configuration, many sends were refused or never answered while brokers were
# down — the producer was told, or could not know — but everything acknowledged was read. Under
# the unsafe one the leader acknowledged records no follower had yet; once it crashed, another
# replica led without them and wrote other records at the same offsets: the acknowledged records
# are gone (**lost-write**), their offsets hold other values (**inconsistent-offsets**), and the
# producer saw offsets go backwards (**nonmonotonic-send**). Records acknowledged at offsets the
# final read never reached are **unseen**: here they are lost too, the log now ends below them
# (the figure does not draw those, since before a final read every record is unseen).
#
# ## 6. The pre-KIP-101 truncation bug, found again
#
# Before leader epochs (KIP-101, Kafka 0.11), a follower that started following a new leader
# truncated its log to its own high watermark, which lags the leader's (the replication
# chapter, section 5). `tests/replication/test_replication_faults.py` found seeds on which that
# loses acknowledged `acks=all` records by looking inside the brokers; seed 10 is one. Run on
# the same schedule, the checker finds the loss from the clients' side alone — and finds
# nothing with the leader-epoch rule.

# %%
old_rule = recorded("hw", seed=10, truncation_policy=TruncationPolicy.HIGH_WATERMARK)
epochs = recorded("epoch", seed=10, truncation_policy=TruncationPolicy.LEADER_EPOCH)
print("== truncate to the follower's high watermark (before KIP-101)")
print(old_rule.verdict().describe(limit=3))
print("== truncate by leader epoch (KIP-101)")
print(epochs.verdict().describe(limit=3))

# %%
show(checked_figure(old_rule, "seed 10, before KIP-101"))

# %% [markdown]
# ## 7. Your turn: a live, checked run
#
# The view below goes on with section 5's unsafe cluster, where its run ended. Produce records,
# kill or isolate the leader, restart, heal, then **read all**: the reader polls the partition
# and the checker's verdict is drawn. The time slider scrubs back through the run, and the verdict
# follows it — the checker judges the history *as it stood then* (before the final read,
# acknowledged records are only "not read yet"); any button brings the view back to live.

# %% tags=["nbval-ignore-output"]
CheckerView(unsafe)

# %% [markdown]
# The exercise `15-lost-writes` asks you to write the lost-write check from a history
# (`.venv/bin/python -m exercises check 15`): the part of `reflog.check` that turns "the reader
# read past it and never saw it" into code.
#
# The same checker judges `reflog chaos`, which runs such a workload on real broker processes
# and faults them: SIGKILL, SIGSTOP, and network partitions and slow links through a TCP relay
# in front of each node. From the repository's root, a leader cut off from the other brokers
# while clients still reach it, with `acks=1`:
#
# ```
# .venv/bin/python -m reflog chaos --preset acks1-unclean --faults partition --time-s 10 \
#     --data-dir /tmp/chaos-1 --report chaos.html
# ```
#
# prints the verdict and writes the same kind of timeline as an HTML page
# (`--attach DATA_DIR` faults a cluster started by `reflog cluster up` instead). Two presets
# show what idempotence is for: with the leader's links losing half its answers to clients,
# producers that retry write records twice without it (`--preset retries-no-idempotence`: the
# checker reports **duplicate**s) and once with it (`--preset retries-idempotence`).
