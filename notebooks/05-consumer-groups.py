# %% [markdown]
# # Consumer groups: who owns which partition, and what a rebalance pauses
#
# A **consumer group** shares a topic's partitions among its members: each partition is read by
# exactly one member at a time. One broker, the group's **coordinator** (the leader of partition
# `hash(group.id) mod 50` of the internal topic `__consumer_offsets`), keeps the list of members.
# Whenever a member joins, leaves or stops heartbeating, the group **rebalances**: every member
# sends `JoinGroup`, the coordinator picks a leader among them, the leader computes who gets
# which partition (the **assignor**, `partition.assignment.strategy`) and sends it back in
# `SyncGroup`; the coordinator hands each member its share. Each rebalance starts a new
# **generation**.
#
# What a rebalance costs depends on the protocol:
#
# * **eager** (`range`, `roundrobin`, `sticky`): every member gives up **all** its partitions
#   before it rejoins, and gets its new ones only when the whole group has rejoined. Every
#   partition is paused — nobody reads it — for the whole rebalance.
# * **cooperative** (`cooperative-sticky`, KIP-429): members keep their partitions while they
#   rejoin; the new assignment tells each one what it must give up; it revokes only those, and a
#   second rebalance hands them to their new owner. Only the partitions that **move** pause.
#
# This notebook runs reflog's consumers (`reflog/consumer/`) and group coordinator
# (`reflog/groups/`) on a simulated cluster of 3 brokers where a message takes 1 to 5 ms. Every
# printed line is the same on every run.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “1. A group of three splits twelve partitions” (section
# 2 puts eager and cooperative side by side).

# %%
import atexit
import shutil
import tempfile
from pathlib import Path

from reflog.groups.config import GroupConfig
from reflog.sim import Cluster
from reflog.viz.groups import GroupView, describe_lag, describe_owners, paused_partition_ms

# Members heartbeat every 300 ms and are evicted after 3 s of silence (Kafka's defaults are
# 3 s and 45 s: shorter here so that a crash is noticed within a short run).
MEMBER = {"session_timeout_ms": 3_000, "heartbeat_interval_ms": 300}


def scratch_dir():
    """A directory for the brokers' and controllers' files, removed when the kernel exits."""
    path = Path(tempfile.mkdtemp(prefix="reflog-groups-"))
    atexit.register(shutil.rmtree, path, True)
    return path


workdir = scratch_dir()


def orders_cluster(name, seed=1):
    """3 brokers, topic "orders" with 12 partitions, a producer writing 100 records a second."""
    groups = GroupConfig(
        group_initial_rebalance_delay_ms=0,  # Kafka waits 3 s for more members of a new group
        group_min_session_timeout_ms=500,
        offsets_topic_num_partitions=3,  # Kafka's default is 50
    )
    cluster = Cluster(seed=seed, brokers=3, data_dir=workdir / name, groups=groups)
    cluster.create_topic("orders", partitions=12)
    cluster.add_producer("p", "orders", rate_per_s=100)
    return cluster


def start_group(cluster, strategy, members=3, settings=MEMBER):
    """``members`` consumers of group "g" subscribe to "orders"; the group settles."""
    for i in range(members):
        cluster.add_consumer(
            f"c{i}", "orders", group_id="g", assignment_strategy=strategy, **settings
        )
    cluster.run_for(3_000)

# %% [markdown]
# ## 1. A group of three splits twelve partitions
#
# Three members with the `range` assignor: each gets a contiguous range of four partitions.

# %%
cluster = orders_cluster("1")
start_group(cluster, "range")
print(describe_owners(cluster.timeline.latest, "orders"))
for name in ("c0", "c1", "c2"):
    member = cluster.consumers[name]
    print(f"{name}: generation {member.generation}, {len(member.records)} records processed")
print(describe_lag(cluster.timeline.latest, "orders", "g"))

# %% [markdown]
# Each member **commits** the offset it has processed up to, every second here
# (`enable.auto.commit`, `auto.commit.interval.ms`): the coordinator writes it to
# `__consumer_offsets`, and whoever owns the partition next starts there. The table is what
# `kafka-consumer-groups --describe` prints: the committed offset (`CURRENT-OFFSET`), the
# partition's end (`LOG-END-OFFSET`, its high watermark: what a consumer may read) and the
# **lag** between them, the records the group has not finished with.
#
# The live view draws each partition over time: a bar for each stretch one member owned it
# (labelled with the member), a **red** bar while no live member owned it — the partition was
# paused. The top row is the group at its coordinator, the state machine of the rebalance:
# `Stable`, then `PreparingRebalance` (waiting for every member to rejoin), `CompletingRebalance`
# (waiting for the leader's assignment in `SyncGroup`) and `Stable` again, a generation later.
# On the right, on the same rows, each partition's lag now, with its number: light grey what
# its owner has read but not committed yet (a crash now and the next owner reads it again),
# dark grey what nobody has read yet. It stays small while the partition is read and grows
# while it is paused; the top row adds it up for the whole group.
#
# The buttons act on the group: add a consumer (it joins the group: a rebalance), make
# one leave (it commits, revokes and sends `LeaveGroup`: a rebalance at once), crash one (it
# says nothing: its partitions stay paused until the coordinator evicts it, 3 s after its last
# heartbeat) or restart a crashed one (it joins as a new member). The time slider scrubs
# back, "live" (or any button) comes back to now.

# %% tags=["nbval-ignore-output"]
GroupView(cluster, "orders", assignment_strategy="range", **MEMBER)

# %% [markdown]
# ## 2. Eager against cooperative, with the same seed
#
# The same cluster, seed and group of three, once with `range` (eager) and once with
# `cooperative-sticky`; then a fourth member joins, and the notebook adds up, over the 5 s
# after it joined, how long each partition was paused: **partition-seconds paused**.
#
# Twice: first with every member close by; then with member `c0` **slow** — every message to
# and from it takes 200 ms more (a consumer far away, or busy). A rebalance waits for every
# member to rejoin, so it waits for the slowest.

# %%
def join_a_fourth(strategy, slow_ms, seed=1):
    cluster = orders_cluster(f"2-{strategy}-{slow_ms}", seed)
    start_group(cluster, strategy)
    if slow_ms:
        cluster.slow("c0", None, slow_ms)
    joined_at = cluster.sim.now_ms
    cluster.add_consumer("c3", "orders", group_id="g", assignment_strategy=strategy, **MEMBER)
    cluster.run_for(5_000)
    paused = paused_partition_ms(cluster.timeline, "orders", joined_at) / 1000
    print(f"{strategy:>18}, c0 slower by {slow_ms:3} ms: {paused:5.2f} partition-seconds paused")
    return cluster


eager = join_a_fourth("range", 0)
cooperative = join_a_fourth("cooperative-sticky", 0)
eager_slow = join_a_fourth("range", 200)
cooperative_slow = join_a_fourth("cooperative-sticky", 200)

# %% [markdown]
# With every member close by, the eager rebalance is one quick round trip: all twelve
# partitions pause, but only for about 30 ms. The cooperative one pauses only the three
# partitions that move to `c3`, but for longer: after the first rebalance their old owners
# revoke them and rejoin at once, while the members that revoked nothing learn of the second
# rebalance only from their next heartbeat (up to `heartbeat.interval.ms` later).
#
# With one slow member, the picture turns round: the eager group has stopped **every**
# partition while it waits for `c0` to rejoin; the cooperative group keeps reading all but the
# three that move. This is why Kafka's default became `[range, cooperative-sticky]` and why
# cooperative rebalancing matters for large groups: the wait for the slowest member is paid by
# every partition in eager mode, by the moving ones only in cooperative mode.
#
# The eager run with the slow member, drawn: the red stretch across every row is the pause.

# %% tags=["nbval-ignore-output"]
GroupView(eager_slow, "orders", assignment_strategy="range", **MEMBER)

# %% [markdown]
# And the cooperative one: only the partitions that moved to `c3` have a red stretch.

# %% tags=["nbval-ignore-output"]
GroupView(cooperative_slow, "orders", assignment_strategy="cooperative-sticky", **MEMBER)

# %% [markdown]
# ## 3. A member crashes
#
# A crashed member says nothing: the coordinator notices only when `session.timeout.ms` (3 s
# here) passes without its heartbeat, and its partitions are paused until then, whatever the
# protocol. After the eviction, the eager group also stops every other partition for the
# rebalance; the cooperative one hands over the crashed member's partitions and nothing else.

# %%
def crash_one(strategy, seed=1):
    cluster = orders_cluster(f"3-{strategy}", seed)
    start_group(cluster, strategy)
    crashed_at = cluster.sim.now_ms
    cluster.crash("c1")
    cluster.run_for(5_000)
    paused = paused_partition_ms(cluster.timeline, "orders", crashed_at) / 1000
    print(f"{strategy:>18}: {paused:5.2f} partition-seconds paused")
    print(describe_owners(cluster.timeline.latest, "orders"))


crash_one("range")
crash_one("cooperative-sticky")

# %% [markdown]
# Most of both figures is the crashed member's four partitions waiting 3 s for the session to
# expire: a shorter `session.timeout.ms` shortens it, at the price of evicting members that
# were only slow.
#
# ## 4. A restart without a rebalance: static membership
#
# A member that restarts (a new version deployed, a pod moved) comes back with no memory of
# its member id: the coordinator takes it for a new member and rebalances, and its old self
# stays in the group, holding up the rebalance, until its session expires. With a
# **`group.instance.id`** (static membership, KIP-345), the member names itself: the
# coordinator gives the restarted instance its old place, under a new member id, and its old
# assignment, with **no rebalance** — if it is back within `session.timeout.ms`.
#
# Member `c1` crashes and restarts 1 s later, once as a dynamic member and once as a static
# one (`range`, the same seed).

# %%
def crash_and_restart(static, seed=1):
    kind = "static" if static else "dynamic"
    cluster = orders_cluster(f"4-{kind}", seed)
    for i in range(3):
        instance = {"group_instance_id": f"c{i}"} if static else {}
        cluster.add_consumer(
            f"c{i}", "orders", group_id="g", assignment_strategy="range", **MEMBER, **instance
        )
    cluster.run_for(3_000)
    c1 = cluster.consumers["c1"]
    before = c1.generation, [tp.partition for tp in c1.partitions]
    crashed_at = cluster.sim.now_ms
    cluster.crash("c1")
    cluster.run_for(1_000)
    cluster.restart("c1")
    cluster.run_for(3_000)
    after = c1.generation, [tp.partition for tp in c1.partitions]
    paused = paused_partition_ms(cluster.timeline, "orders", crashed_at) / 1000
    print(f"{kind:>7} c1: generation {before[0]} -> {after[0]}, partitions {before[1]} -> "
          f"{after[1]}, {paused:5.2f} partition-seconds paused")  # fmt: skip
    return cluster


dynamic = crash_and_restart(static=False)
static = crash_and_restart(static=True)

# %% [markdown]
# The static member's four partitions paused for the second it was down, and nothing else:
# the group stayed `Stable` in the same generation. The dynamic one, restarted, sent a
# `JoinGroup` without a member id: a rebalance, in which the eager group gave up every
# partition and then waited for the old `c1` to rejoin — it never would — until its session
# expired, 3 s after its last heartbeat. Static membership is how rolling restarts of a large
# group avoid a rebalance per member (with a `session.timeout.ms` longer than a restart).
#
# The dynamic member's restart, drawn: the top row goes to `PreparingRebalance` and every row
# turns red.

# %% tags=["nbval-ignore-output"]
GroupView(dynamic, "orders", assignment_strategy="range", **MEMBER)

# %% [markdown]
# And the static one: only `c1`'s own partitions pause, and the top row stays `Stable` in the
# same generation. Its "restart a crashed one" button brings a crashed static member back:
# within 3 s it takes its place back; later, it has been evicted and joins anew.

# %% tags=["nbval-ignore-output"]
GroupView(static, "orders", static_members=True, assignment_strategy="range", **MEMBER)

# %% [markdown]
# ## 5. The coordinator's broker killed mid-rebalance
#
# The group's state lives in the coordinator's memory and, written as records, in its partition
# of `__consumer_offsets`, which is replicated like any other. A fourth member `c3` sends
# `JoinGroup`; 20 ms later, before the rebalance completes, the coordinator's broker crashes
# (a power cut: no connection is closed, the request is simply never answered). The controller
# moves the leadership of that `__consumer_offsets` partition to another broker, which loads the
# group from its replica and becomes the coordinator. Here the members wait at most 3 s for a
# rebalance (`max.poll.interval.ms`, the rebalance timeout they send).

# %%
from reflog.groups.placement import OFFSETS_TOPIC, partition_for
from reflog.topic_partition import TopicPartition

QUICK = {**MEMBER, "max_poll_interval_ms": 3_000}


def coordinator(cluster):
    offsets = TopicPartition(OFFSETS_TOPIC, partition_for("g", 3))  # 3 partitions here
    return cluster.leader_of(offsets)


moved = orders_cluster("5")
start_group(moved, "cooperative-sticky", settings=QUICK)
old = coordinator(moved)
joined_at = moved.sim.now_ms
c3 = moved.add_consumer(
    "c3", "orders", group_id="g", assignment_strategy="cooperative-sticky", **QUICK
)
moved.run_for(20)
moved.crash(f"broker-{old}")
moved.run_until(lambda: bool(c3.partitions), timeout_ms=20_000)
print(f"coordinator: broker-{old}, then broker-{coordinator(moved)}")
print(f"c3 got its first partitions {moved.sim.now_ms - joined_at} ms after it joined")
generations = {name: moved.consumers[name].generation for name in ("c0", "c1", "c2", "c3")}
print(f"generations: {generations}")
paused = paused_partition_ms(moved.timeline, "orders", joined_at) / 1000
print(f"partition-seconds paused since c3 joined: {paused:.2f}")
print(describe_owners(moved.timeline.latest, "orders"))

# %% [markdown]
# The group survived its coordinator: the new one loaded it from `__consumer_offsets` as it was
# last written, Stable with its three members, and they went on reading all along (their
# heartbeats found the new coordinator). `c3` had no such luck: its `JoinGroup` was parked at
# the dead broker, and a client cannot tell a coordinator that holds a `JoinGroup` (it may, for
# up to the rebalance timeout) from one that is gone. So it waits the rebalance timeout and 5 s
# more — Kafka's client does the same — then looks for the coordinator again and joins the new
# one: two cooperative rounds (generations 3 and 4) move three partitions to it, and only those
# paused.
#
# ## 6. Auto-commit before processing: records lost to the application
#
# A member's committed offset says "everything before this is done": whoever owns the partition
# next starts there. Auto-commit (`enable.auto.commit`, on by default) commits, every
# `auto.commit.interval.ms`, the offsets of everything `poll()` has returned. That is right
# when each record is processed before the next poll. The classic mistake is to hand what
# `poll()` returns to another thread (a worker pool, a queue) and poll again at once: the
# auto-commit then commits records the worker has not processed yet, and a crash loses them.
#
# Member `c0` reads a topic of one partition that way: payments arrive at 200 a second, its
# worker processes 100 a second, and auto-commit runs every second. After 2 s the payments
# stop and `c0` crashes; then `c1` joins and takes over.

# %%
careless = orders_cluster("6")
careless.create_topic("payments", partitions=1)
careless.add_producer("pay", "payments", rate_per_s=200)
c0 = careless.add_consumer(
    "c0", "payments", group_id="payments-app", processing_rate_per_s=100, **MEMBER
)
careless.run_for(2_100)
careless.set_rate("pay", 0)
polled = len(c0.records) + len(c0.backlog)
print(f"when c0 crashes: polled {polled}, processed {len(c0.records)}, the rest in its worker")
print(describe_lag(careless.snapshot(), "payments", "payments-app"))
careless.crash("c0")
c1 = careless.add_consumer("c1", "payments", group_id="payments-app", **MEMBER)
careless.run_for(4_000)
processed = {r.offset for r in c0.records + c1.records}
log_end = careless.high_watermarks("payments")[0]
lost = [offset for offset in range(log_end) if offset not in processed]
print(f"{log_end} records in payments-0; c0 processed {len(c0.records)}, c1 {len(c1.records)}")
print(f"c1 started at the committed offset {c1.records[0].offset}")
print(f"never processed: offsets {lost[0]}-{lost[-1]} ({len(lost)} records)")

# %% [markdown]
# `c1` started at the offset `c0` had committed. What `c0`'s worker had processed before it is
# fine; what it held after the committed offset was not committed, and `c1` read it again;
# but what lay between the last record it processed and the committed offset was committed and
# never processed: no member will ever read it again (short of resetting the group's offsets).
# Committing only what is processed (`commit()` from the worker, or processing before the next
# poll) turns this loss into duplicates instead — a member that crashes before committing makes
# the next owner process again what it had done — which is why consumers are
# **at-least-once** by default, and why processing should be idempotent.
#
# The exercises `10-range-and-round-robin`, `11-cooperative-revoke` and `12-sticky-assignment`
# ask you to write the range and round-robin assignors, to work out which partitions a
# cooperative member must revoke given its old and new assignments, and a sticky assignment
# that moves the fewest partitions (`.venv/bin/python -m exercises list` from the repository's
# root lists them).
