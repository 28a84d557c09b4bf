# %% [markdown]
# # Replication: in-sync replicas, the high watermark, leader epochs
#
# A Kafka partition is stored on several brokers, its **replicas**. One of them, the **leader**,
# takes every write; the **followers** copy its log by sending it `Fetch` requests, as consumers do.
# Three numbers tell the story:
#
# * a replica's **log end offset (LEO)**: the offset its next record will get;
# * the **ISR** (in-sync replicas): the leader and the followers that have caught up with it within
#   the last `replica.lag.time.max.ms`. The controller records it; the leader proposes changes;
# * the **high watermark (HW)**: on the leader, the smallest LEO over the ISR. Records below it are
#   **committed**: every in-sync replica has them. Consumers only read below it.
#
# A producer picks `acks`: `0` (no answer), `1` (the leader appended it) or `all` (the high
# watermark passed it, so every in-sync replica has it). With `acks=all` the topic's
# `min.insync.replicas` is the fewest in-sync replicas a write needs.
#
# This notebook runs reflog's replication code (`reflog/replication/`) on a simulated KRaft cluster:
# 3 controllers and 3 brokers on a seeded network where a message takes 1 to 5 ms. The timings are
# shortened so that failures play out in simulated seconds: `replica.lag.time.max.ms` is 1 000 ms
# (Kafka's default is 30 000) and a broker is fenced after 1 s without a heartbeat. The topic has
# one partition, 3 replicas, `min.insync.replicas=2`, and `flush.messages=1`, so a crash loses
# nothing a broker wrote: what is shown is the replication rules, not fsync timing. Every printed
# line is the same on every run.
#
# *reflog simplification:* a follower sends a full fetch every time (no incremental fetch sessions,
# KIP-227) and retries a failed one after 100 ms (Kafka's `replica.fetch.backoff.ms` is 1 s).
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “1. A replicated topic”.

# %%
import atexit
import shutil
import tempfile
from pathlib import Path

from reflog.replication.partition import Role
from reflog.replication.truncation import TruncationPolicy
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.viz.replication import ReplicationView, describe_replicas, format_isr_history

TP = TopicPartition("r", 0)  # the partition every cluster of this chapter replicates


def scratch_dir():
    """A directory for the brokers' and controllers' files, removed when the kernel exits."""
    path = Path(tempfile.mkdtemp(prefix="reflog-replication-"))
    atexit.register(shutil.rmtree, path, True)
    return path


workdir = scratch_dir()


def replicated(seed, name, *, flush_each_record=True, **broker_settings):
    """3 controllers, 3 brokers and topic "r": 1 partition, 3 replicas, min.insync.replicas=2
    (and flush.messages=1 with flush_each_record). broker_settings: BrokerConfig fields."""
    cluster = Cluster(
        seed=seed,
        controllers=3,
        data_dir=workdir / name,
        replica_lag_time_max_ms=1_000,
        **broker_settings,
    )
    configs = {"min.insync.replicas": "2"}
    if flush_each_record:
        configs["flush.messages"] = "1"
    cluster.create_topic("r", partitions=1, replication_factor=3, configs=configs)
    return cluster


def describe(cluster):
    """One line per replica of r-0, from the cluster's latest snapshot."""
    return describe_replicas(cluster.snapshot(), TP)


def followers(cluster):
    return [b for b in (1, 2, 3) if b != cluster.leader_of(TP)]


def isr(cluster):
    return cluster.snapshot().partition("r").isr


def cut_off(cluster, broker):
    """Cut a broker off from the other brokers and the controllers; clients still reach it."""
    name = f"broker-{broker}"
    cluster.partition([name], [n for n in cluster.sim.nodes if n not in (name, "admin")])

# %% [markdown]
# ## 1. A replicated topic
#
# `replicated()` (above) builds a `reflog.sim.Cluster` — 3 controllers, 3 brokers — and creates the
# topic with a real CreateTopics request. The cluster records every step of its run in its
# timeline, which the view below draws and `describe()` reads: each replica's role, LEO, HW,
# the leader epoch it knows, whether the controller has it in the ISR, and its leader epoch cache
# (section 4). Broker 1 leads; nothing is written yet.

# %%
cluster = replicated(seed=1, name="1")
print(describe(cluster))

# %% [markdown]
# Produce three records with `acks=all`. The leader appends them at offsets 0 to 2; each
# follower's next fetch, from offset 3, tells the leader that its log ends at 3; once both have, the
# high watermark moves to 3 and the answer goes out.

# %%
answer = cluster.produce(TP, [b"a", b"b", b"c"], acks=-1)
print(answer.describe())
print(describe(cluster))

# %% [markdown]
# The followers have all three records, yet their HW is still 0: a follower learns the high
# watermark from the leader's fetch responses, and its next fetch waits at the leader (up to
# `replica.fetch.wait.max.ms`, 500 ms) for new records. A follower's high watermark always lags the
# leader's; section 5 shows why that matters.

# %%
cluster.run_for(600)
print("600 ms later:")
print(describe(cluster))

# %% [markdown]
# The live view: LEO and HW per broker on the left; on the right each broker's place over
# simulated time — thick green while it leads, thick blue while in the ISR, orange while out of it,
# grey while down — and a triangle for each action. The buttons act on the live cluster: produce
# with `acks` 0, 1 or all; kill, restart, isolate a broker ("the leader", "a follower" or by name)
# or slow its links down; heal the network (cut and slowed links); play or step the simulation.
# The time slider scrubs back through the recorded run; "live" (or any button) comes back to now.
# The last line lists the latest produce answers.

# %% tags=["nbval-ignore-output"]
ReplicationView(cluster)

# %% [markdown]
# ## 2. A lagging follower leaves the ISR and comes back
#
# Cut the link between the leader and one follower. The follower still reaches the controllers, so
# it is not fenced: only the leader's rule acts. A follower that has not caught up for
# `replica.lag.time.max.ms` (1 000 ms) is removed from the ISR; the leader proposes the smaller ISR
# and the controller commits it. Meanwhile a producer sends one `acks=all` record every 300 ms.

# %%
lagging = replicated(seed=3, name="2")
leader = lagging.leader_of(TP)
follower = followers(lagging)[0]
cut_at = lagging.now_ms
lagging.cut(f"broker-{leader}", f"broker-{follower}")
print(f"t = {cut_at} ms: the link between broker-{leader} and broker-{follower} is cut")
for i in range(5):
    print(lagging.produce(TP, [f"r{i}".encode()], acks=-1).describe())
    lagging.run_for(300)
print(describe(lagging))

# %% [markdown]
# The first record waited about a second: `acks=all` waits for every replica *in the ISR*, and
# the cut-off follower was still in it until the leader gave up on it. After that the ISR is two
# replicas, still `min.insync.replicas`, and writes commit without the follower.
#
# Heal the link. The follower's last fetch is still outstanding; once it times out
# (`replica.fetch.wait.max.ms` + 1 s here) the follower fetches again, copies the five records, and
# the leader adds it back as soon as it has reached the high watermark.

# %%
healed_at = lagging.now_ms
lagging.heal()
lagging.run_until(lambda: follower in isr(lagging), timeout_ms=5_000)
print(f"healed at t = {healed_at} ms; ISR over time:")
print(format_isr_history(lagging.timeline, TP, since_ms=cut_at))
print(describe(lagging))

# %% [markdown]
# ## 3. `min.insync.replicas`: acks=all refused, acks=1 accepted
#
# Crash both followers, and at once send a record, `early`, with `acks=all`. The leader appends it
# and waits for the ISR. A second later the ISR is the leader alone, one replica fewer than
# `min.insync.replicas=2` (the leader drops followers that stopped fetching, the controller drops
# brokers it fenced: both take 1 s here), and the waiting write is answered
# `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: it *is* in the leader's log, but not committed. From then on
# the leader refuses `acks=all` writes before appending anything (`NOT_ENOUGH_REPLICAS`). `acks=1`
# only needs the leader: it is appended and acknowledged, but it does not commit — the high
# watermark does not move while the ISR is too small, so no consumer sees it yet.

# %%
alone = replicated(seed=4, name="3")
leader = alone.leader_of(TP)
for broker in followers(alone):
    alone.crash(f"broker-{broker}")
early = alone.send(TP, [b"early"], acks=-1)
alone.run_until(lambda: early.answered_ms is not None, timeout_ms=5_000)
print(early.describe())
print(f"t = {alone.now_ms} ms: the leader's ISR is {list(alone.replica(leader, TP).isr)}")
print(alone.produce(TP, [b"all"], acks=-1).describe())
print(alone.produce(TP, [b"one"], acks=1).describe())
print(describe(alone))

# %% [markdown]
# Restart the followers. They catch up, the ISR grows back, and the high watermark passes both
# records: `one`, and `early`, whose producer was told it failed. A producer that retries `early`
# writes it twice (Kafka's idempotent producer exists to prevent that).

# %%
for broker in followers(alone):
    alone.restart(f"broker-{broker}")
alone.run_until(lambda: len(isr(alone)) == 3, timeout_ms=10_000)
alone.run_for(600)
print(format_isr_history(alone.timeline, TP))
print(describe(alone))
print(f"broker-{leader}'s log: {alone.records(leader, TP)}")

# %% [markdown]
# ## 4. Leader failover and truncation by leader epoch
#
# Every leader change bumps the partition's **leader epoch**, and every record batch carries the
# epoch of the leader that wrote it. Each replica keeps a **leader epoch cache**: the first offset
# of each epoch in its log (the `leader-epoch-checkpoint` file).
#
# Write two records with `acks=all`, then cut the leader off from the other brokers and the
# controllers — but not from the client, which still sends it a record with `acks=1`. Its heartbeats
# stop reaching the controller, which fences it after 1 s and elects a leader from the rest of the
# ISR, with epoch 1. For a while two brokers believe they lead, in different epochs; only the new
# one can commit anything.

# %%
failover = replicated(seed=5, name="4")
old = failover.leader_of(TP)
print(failover.produce(TP, [b"1", b"2"], acks=-1).describe())
cut_off(failover, old)
print(failover.produce(TP, [b"x"], acks=1).describe())
failover.run_until(lambda: failover.leader_of(TP) not in (old, -1), timeout_ms=5_000)
new = failover.leader_of(TP)
failover.run_until(lambda: failover.replica(new, TP).role == Role.LEADER, timeout_ms=5_000)
print(f"t = {failover.now_ms} ms: broker-{new} leads, "
      f"epoch {failover.replica(new, TP).leader_epoch}")
print(failover.produce(TP, [b"3"], acks=-1).describe())
print(describe(failover))
for broker in (old, new):
    print(f"broker-{broker}'s log: {failover.records(broker, TP)}")

# %% [markdown]
# Offset 2 holds `x` on the old leader and `3` on the new one. Heal the network: the old leader
# learns from the metadata that it is now a follower of epoch 1. Before fetching it sends
# `OffsetForLeaderEpoch`: "where does my latest epoch, 0, end in your log?" The new leader answers
# from its epoch cache — epoch 0 ends where epoch 1 starts, offset 2 — and the old leader truncates
# there, dropping `x`, then fetches `3`. `x` was acknowledged with `acks=1` and is gone: only
# `acks=all` writes are safe from a leader change.

# %%
replica = failover.replica(new, TP)
epoch, end = replica.epoch_cache.end_offset_for(0, replica.log.log_end_offset)
print(f"broker-{new} answers: epoch {epoch} ends at offset {end}")
failover.heal()
failover.run_until(lambda: old in isr(failover), timeout_ms=10_000)
print(describe(failover))
for broker in (old, new):
    print(f"broker-{broker}'s log: {failover.records(broker, TP)}")


# %% [markdown]
# ## 5. The old rule: truncate to your own high watermark
#
# Before leader epochs (KIP-101, Kafka 0.11), a follower that started following a new leader
# truncated its log to its **own high watermark** and fetched the rest again. But a follower's high
# watermark lags the leader's (section 1), so it can throw away records that were committed and
# acknowledged. If that follower then becomes leader, they are gone.
#
# A scripted schedule, run once with each rule (`truncation_policy` is a broker setting):
#
# 1. produce `acked` with `acks=all`: every replica has it, the followers' HW is still 0;
# 2. crash the leader; the controller elects the second replica (epoch 1);
# 3. the third replica starts following it. Under the old rule it truncates to its HW, 0, at once;
#    under the epoch rule it asks `OffsetForLeaderEpoch` first;
# 4. before any answer, crash the new leader too: the third replica, the last of the ISR, leads;
# 5. restart the others and produce `next`.

# %%
def leader_changes_twice(policy):
    run = replicated(seed=5, name=f"5-{policy.value}", truncation_policy=policy)
    first = run.leader_of(TP)
    print(run.produce(TP, [b"acked"], acks=-1).describe())
    run.crash(f"broker-{first}")
    run.run_until(lambda: run.leader_of(TP) not in (first, -1), timeout_ms=5_000)
    second = run.leader_of(TP)
    third = next(b for b in followers(run) if b != first)

    def third_has_asked():
        fetcher = run.broker(third).replicas.fetchers.get(second)
        following = run.replica(third, TP).leader_id == second
        return following and fetcher is not None and fetcher.in_flight

    run.run_until(third_has_asked, timeout_ms=5_000)
    print(f"broker-{third} follows broker-{second}; its log: {run.records(third, TP)}")
    run.crash(f"broker-{second}")
    run.run_until(lambda: run.leader_of(TP) == third, timeout_ms=5_000)
    run.run_until(lambda: run.replica(third, TP).role == Role.LEADER, timeout_ms=5_000)
    print(f"broker-{third} leads (epoch {run.replica(third, TP).leader_epoch}); "
          f"its log: {run.records(third, TP)}")
    run.restart(f"broker-{first}")
    run.restart(f"broker-{second}")
    run.run_until(lambda: len(isr(run)) == 3, timeout_ms=10_000)
    print(run.produce(TP, [b"next"], acks=-1).describe())
    run.run_for(600)
    print(describe(run))
    for broker in (1, 2, 3):
        print(f"broker-{broker}'s log: {run.records(broker, TP)}")


print("== truncate to the follower's high watermark (before KIP-101)")
leader_changes_twice(TruncationPolicy.HIGH_WATERMARK)
print()
print("== truncate by leader epoch (KIP-101)")
leader_changes_twice(TruncationPolicy.LEADER_EPOCH)


# %% [markdown]
# Under the old rule the acknowledged record is gone from every replica, and its offset 0 is
# reused for `next`. Under the epoch rule the third replica never truncated: it had no answer yet,
# and the answer could only have been "epoch 0 ends at offset 1", keeping `acked`. (The randomized
# fault tests in `tests/replication/test_replication_faults.py` find such schedules by seed
# search.)

# %% [markdown]
# ## 6. Unclean leader election
#
# When every replica in the ISR is down, the partition has no leader and waits for one of them to
# come back: only they are sure to hold every committed record.
# `unclean.leader.election.enable=true` lets a live replica *outside* the ISR lead instead: the
# partition is available again, and what that replica lacks is lost.
#
# Isolate one follower until it leaves the ISR; write `acknowledged` with `acks=all` (the two
# in-sync replicas have it); crash both; heal the network, so the stale follower is back. The topic
# starts with the default, `false`.

# %%
run = replicated(seed=7, name="6-unclean")
leader = run.leader_of(TP)
stale, other = followers(run)
start = run.now_ms
run.isolate(f"broker-{stale}")
run.run_until(lambda: run.replica(leader, TP).isr == (leader, other), timeout_ms=5_000)
print(run.produce(TP, [b"acknowledged"], acks=-1).describe())
run.crash(f"broker-{leader}")
run.crash(f"broker-{other}")
run.heal()
run.run_for(3_000)
print(format_isr_history(run.timeline, TP, since_ms=start))
now = run.leader_of(TP)
print(f"3 s later the leader is {f'broker-{now}' if now > 0 else 'none'}; "
      f"broker-{stale}'s log: {run.records(stale, TP)}")

# %% [markdown]
# Without unclean election the partition stays offline (leader none) and nothing is lost: the ISR
# kept its last member even while it was down, precisely so that the controller knows who may
# lead. Now turn `unclean.leader.election.enable` on for the running topic, as
# `kafka-configs --alter --add-config unclean.leader.election.enable=true` would: an
# IncrementalAlterConfigs request, committed to the metadata log as a config record. The
# controller elects a leader at once where a partition has none, as Kafka's does.

# %%
run.alter_config("r", {"unclean.leader.election.enable": "true"})
print(run.actions[-1].description)
now = run.leader_of(TP)
print(f"at once the leader is broker-{now}; its log: {run.records(now, TP)}")
run.restart(f"broker-{leader}")
run.restart(f"broker-{other}")
run.run_for(3_000)
print("after restarting both:")
print(describe(run))
for broker in (1, 2, 3):
    print(f"broker-{broker}'s log: {run.records(broker, TP)}")


# %% [markdown]
# With unclean election the stale follower leads, with an empty log; when the other two return
# they follow it and truncate: the acknowledged record is lost everywhere. Availability or
# durability: the topic chooses, and can change its mind while it runs.

# %% [markdown]
# ## 7. The cost of acks=all, in simulated time
#
# One producer sends 200 records one at a time with `acks=1`, then 200 with `acks=all`. For each,
# two durations: until the producer's **acknowledgement**, and until the leader's high watermark
# passes the record — **committed**, the moment a consumer can read it. These are *simulated network
# milliseconds* (1 to 5 ms per message, no processing time), meant for comparing the two modes; the
# real-process benchmark is `benchmarks/latency.py`.

# %%
def run_until_answered_and_committed(run, leader, result, end):
    """Runs until the producer has its answer and the high watermark reaches end; returns when
    the record committed (simulated ms)."""
    seen = {}

    def done():
        if leader.high_watermark >= end:
            seen.setdefault("committed", run.now_ms)
        return result.answered_ms is not None and "committed" in seen

    run.run_until(done, timeout_ms=5_000)
    return seen["committed"]


def latencies(run, acks, n=200):
    leader = run.replica(run.leader_of(TP), TP)
    acknowledged, committed = [], []
    for i in range(n):
        end = leader.log.log_end_offset + 1  # the HW that covers this record
        result = run.send(TP, [f"m{i}".encode()], acks=acks)
        committed_ms = run_until_answered_and_committed(run, leader, result, end)
        acknowledged.append(result.latency_ms)
        committed.append(committed_ms - result.sent_ms)
    return acknowledged, committed


def quantile(values, q):
    return sorted(values)[int(q * (len(values) - 1))]


timing = replicated(seed=8, name="7", flush_each_record=False)
measured = {"acks=1": latencies(timing, 1), "acks=all": latencies(timing, -1)}
for mode, (acknowledged, committed) in measured.items():
    print(f"{mode:9} acknowledged: median {quantile(acknowledged, 0.5):>2} ms, "
          f"p99 {quantile(acknowledged, 0.99):>2} ms"
          f" | committed: median {quantile(committed, 0.5):>2} ms, "
          f"p99 {quantile(committed, 0.99):>2} ms")

# %% tags=["nbval-ignore-output"]
from plotly.subplots import make_subplots

from reflog.viz.static import show

figure = make_subplots(rows=1, cols=2, shared_yaxes=True,
                       subplot_titles=("until acknowledged", "until committed"))
for mode, colour in (("acks=1", "#1f77b4"), ("acks=all", "#d62728")):
    for col, values in enumerate(measured[mode], start=1):
        figure.add_histogram(x=values, xbins={"size": 1}, name=mode, legendgroup=mode,
                             showlegend=col == 1, marker={"color": colour}, opacity=0.6,
                             row=1, col=col)
figure.update_xaxes(title="simulated network ms")
figure.update_yaxes(title="records", col=1)
figure.update_layout(barmode="overlay", height=360, title="200 records per mode, one at a time")
show(figure)

# %% [markdown]
# `acks=all` roughly doubles the time to the acknowledgement: the leader must wait for both
# followers' next fetches (a fetch response out, the next fetch back) before answering. But the time
# until a record is *committed* is the same in both modes: with `acks=1` too, a consumer only sees
# the record once every in-sync replica has it. `acks=1` makes the producer faster, not the data;
# what it gives up is section 4's `x`.
#
# The exercises `08-high-watermark` and `09-epoch-truncation` ask you to write the leader's ISR and
# high-watermark rule, and where a follower truncates (`.venv/bin/python -m exercises list` from the
# repository's root lists them).
