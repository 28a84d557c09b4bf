# %% [markdown]
# # Idempotent producers: producer ids, sequence numbers, no duplicates on retry
#
# A producer that gets no answer to a write cannot tell whether the write was lost on its way in
# or its answer on the way out. It sends it again — and if only the answer was lost, the record
# is now in the log **twice**. Kafka's **idempotent producer** (KIP-98; `enable.idempotence=true`,
# the default since Kafka 3.0) removes those duplicates:
#
# * before its first write it asks a broker for a **producer id** and an **epoch**
#   (`InitProducerId`); brokers take ids in blocks from the controller, so no id is given twice;
# * it numbers its records per partition: every batch carries (producer id, epoch, **base
#   sequence**), and a retry carries the same numbers;
# * each replica of a partition keeps a **producer-state table**: per producer id, its epoch and
#   the sequence ranges and offsets of its **last five batches** (a producer keeps at most
#   `max.in.flight.requests.per.connection` = 5 batches in flight). A batch that repeats one of
#   them is not written again: the leader answers with its original offsets. A batch that skips
#   numbers is refused (`OUT_OF_ORDER_SEQUENCE_NUMBER`); an older epoch is refused
#   (`INVALID_PRODUCER_EPOCH`).
#
# This notebook runs reflog's producer (`reflog/producer/`) and brokers (`reflog/storage/
# producer_state.py`) on a simulated KRaft cluster of 3 brokers, where a message takes 1 to 5 ms.
# Every printed line is the same on every run.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “2. With idempotence: each retry gets its original
# offsets”.

# %%
import atexit
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from reflog.replication.partition import Role
from reflog.sim import Cluster
from reflog.sim.network import LinkConfig
from reflog.topic_partition import TopicPartition
from reflog.viz.idempotence import ProducerStateView, describe_producer_state
from reflog.wire.messages.init_producer_id import InitProducerIdRequest

TP = TopicPartition("orders", 0)  # the partition every cluster of this chapter writes to


def scratch_dir():
    """A directory for the brokers' and controllers' files, removed when the kernel exits."""
    path = Path(tempfile.mkdtemp(prefix="reflog-idempotence-"))
    atexit.register(shutil.rmtree, path, True)
    return path


workdir = scratch_dir()


def orders_cluster(seed, name, **topic_configs):
    """3 brokers and topic "orders": 1 partition, 3 replicas, min.insync.replicas=2."""
    cluster = Cluster(seed=seed, brokers=3, data_dir=workdir / name)
    configs = {"min.insync.replicas": "2", **topic_configs}
    cluster.create_topic("orders", partitions=1, replication_factor=3, configs=configs)
    return cluster


def lossy_link(cluster, client):
    """The brokers' answers to ``client`` are lost 20% of the time; its requests take
    20 to 40 ms to arrive."""
    answers = LinkConfig(latency_ms_min=1, latency_ms_max=5, loss=0.2)
    requests = LinkConfig(latency_ms_min=20, latency_ms_max=40)
    for broker in cluster.broker_nodes:
        cluster.sim.network.configure(broker, client, answers)
        cluster.sim.network.configure(client, broker, requests)


def produce_on_a_lossy_link(cluster, **producer_settings):
    """Producer "app" sends 100 records a second for 2 s over a lossy link (its requests time
    out after 200 ms and are sent again); then the link heals and every record gets its answer."""
    app = cluster.add_producer("app", "orders", rate_per_s=100, request_timeout_ms=200,
                               **producer_settings)
    lossy_link(cluster, "app")
    cluster.run_for(2_000)
    cluster.set_rate("app", 0)
    cluster.heal()
    cluster.run_until(lambda: app.producer.pending_count == 0, timeout_ms=5_000)
    cluster.run_for(500)  # the followers' next fetch: every replica has every record
    return app


def duplicates(cluster):
    """Each value the leader's log holds more than once, with the offsets it is at."""
    log = cluster.records(cluster.leader_of(TP), TP)
    counts = Counter(value for _, value in log)
    return {v: [o for o, w in log if w == v] for v, n in counts.items() if n > 1}


def report(cluster, app):
    copies = duplicates(cluster)
    stored = len(cluster.records(cluster.leader_of(TP), TP))
    print(f"sent {app.sent} records, {app.acked} acknowledged, {app.failed} failed; "
          f"{app.producer.retried_batches} batches sent again")
    print(f"the leader's log holds {stored} records: {len(copies)} of them twice or more")
    for value, offsets in list(copies.items())[:3]:
        print(f"  {value.decode()} at offsets {offsets}")

# %% [markdown]
# ## 1. Without idempotence: every lost answer is a duplicate
#
# A producer with `enable.idempotence=false` sends 200 records. 20% of the brokers' answers to it
# are lost: each time, its request times out after 200 ms and it sends the same batch again —
# which the leader writes again. The notebook then reads the leader's log and counts the values
# found more than once.

# %%
plain = orders_cluster(seed=1, name="1")
plain_app = produce_on_a_lossy_link(plain, enable_idempotence=False)
report(plain, plain_app)

# %% [markdown]
# Every record was acknowledged, and many are in the log twice: whole batches, each written again
# further on (a batch collects records while the one before it waits for its answer, so the
# first one, which waited for a lost answer, is large). A consumer reads each of them twice.
#
# ## 2. With idempotence: each retry gets its original offsets
#
# The same cluster, seed and lossy link; the producer keeps Kafka's default, idempotence on. Its
# first request is `InitProducerId`; then up to five batches per partition go at once, each
# stamped with its sequence numbers.

# %%
cluster = orders_cluster(seed=1, name="2")
app = produce_on_a_lossy_link(cluster)
report(cluster, app)
print(describe_producer_state(cluster.snapshot(), TP))

# %% [markdown]
# Batches were sent again, more of them than before (with up to five in flight, a request that
# times out takes the ones behind it on the same connection along), yet the log holds every
# record once. The table printed last is each replica's producer state: producer id 0 (the first
# id of the first block the controller handed out), epoch 0, and its last five batches, each as
# *sequence range @ offset range*. The followers hold the same table as the leader: they build it
# from the batches they copy, which is what lets a new leader go on deduplicating (section 5).
#
# The live view draws those tables: one row per replica, each remembered batch a bar over its
# sequence numbers, labelled with the offset it starts at (its colour is its epoch). On the right,
# the records the producer sent, the ones acknowledged and the records in the leader's log: with
# idempotence the log never outgrows the acknowledgements. The producer sends again, 50 records a
# second, when the cluster plays. The buttons act on the live cluster: drop 30% of the brokers'
# answers to the producer (and heal), kill the leader, restart it; the time slider scrubs back,
# "live" (or any button) comes back to now.

# %% tags=["nbval-ignore-output"]
cluster.set_rate("app", 50)
ProducerStateView(cluster, "orders")

# %% [markdown]
# ## 3. The broker's check, by hand: a retry, a gap, the five-batch window
#
# A producer can be played by hand: ask a broker for an id, then send batches stamped with any
# numbers (`producer=(producer id, epoch, base sequence)`). Sequences 0-1, then 2, then 2 again
# (a retry), then 5 (records 3 and 4 never came).

# %%
hand = orders_cluster(seed=3, name="3")


def init_producer_id(cluster):
    answer = cluster.request(1, InitProducerIdRequest(transaction_timeout_ms=60_000), version=1)
    return answer.producer_id, answer.producer_epoch


producer_id, epoch = init_producer_id(hand)
print(f"InitProducerId: producer id {producer_id}, epoch {epoch}")


def write(cluster, values, sequence, epoch=epoch, **settings):
    result = cluster.produce(TP, values, producer=(producer_id, epoch, sequence), **settings)
    last = sequence + len(values) - 1
    print(f"epoch {epoch}, sequences {sequence}-{last}: {result.describe()}")
    return result


write(hand, [b"a", b"b"], 0)
write(hand, [b"c"], 2)
write(hand, [b"c"], 2)
write(hand, [b"f"], 5)
print(f"the leader's log: {hand.records(hand.leader_of(TP), TP)}")

# %% [markdown]
# The retry of sequence 2 is answered with offset 2, where `c` already is, and not written again.
# Sequence 5 leaves a gap after 2: it is refused, so the producer learns that batches in between
# are missing (it retries them first; exercise `13-duplicate-check` builds this check).
#
# The table remembers only five batches. Five more, then the retry of sequence 2 once more: it is
# older than anything remembered, so the leader cannot recognise it — and does not write it
# either, refusing it as out of order. (reflog's producer never retries a batch that old: it
# keeps at most five in flight, and counts a batch as written once a later one is acknowledged.)

# %%
for sequence in range(3, 8):
    write(hand, [f"r{sequence}".encode()], sequence)
write(hand, [b"c"], 2)
print(describe_producer_state(hand.snapshot(), TP))

# %% [markdown]
# ## 4. A zombie fenced by a newer epoch
#
# An epoch is the producer id's incarnation. A producer bumps its own epoch when its sequence
# numbers cannot go on (KIP-360: a batch failed for good, or the broker lost its state) and starts
# again at sequence 0; a transactional producer's restart bumps it through `InitProducerId`.
# Anything still sent under the older epoch — by a stalled, "zombie" instance — is refused with
# `INVALID_PRODUCER_EPOCH`, and reflog's producer, receiving it, fails everything it holds: it is
# fenced.

# %%
write(hand, [b"new"], 0, epoch=epoch + 1)
write(hand, [b"zombie"], 8)
print(describe_producer_state(hand.snapshot(), TP))

# %% [markdown]
# A new epoch must start at 0; the table forgot the old epoch's batches (they can no longer be
# retried) and remembers the new one's.
#
# ## 5. The leader killed mid-retry
#
# Write `x`, `y` with `acks=all`, but cut the leader's answers to the client: the records are
# written and replicated, the answer never comes. Then kill the leader, and retry the same batch
# at the new leader.

# %%
failover = orders_cluster(seed=5, name="5")
producer_id, epoch = init_producer_id(failover)
old = failover.leader_of(TP)
failover.cut(f"broker-{old}", "admin", one_way=True)
lost = failover.send(TP, [b"x", b"y"], producer=(producer_id, epoch, 0))
failover.run_for(600)
print(lost.describe())
print(describe_producer_state(failover.snapshot(), TP))
failover.crash(f"broker-{old}")
failover.run_until(lambda: failover.leader_of(TP) not in (old, -1), timeout_ms=5_000)
new = failover.leader_of(TP)
failover.run_until(lambda: failover.replica(new, TP).role == Role.LEADER, timeout_ms=5_000)
failover.heal()
write(failover, [b"x", b"y"], 0)
print(f"broker-{new}'s log: {failover.records(new, TP)}")

# %% [markdown]
# The retry reached the new leader — a follower when `x`, `y` were written — and got offset 0,
# the original one: it had built the same table from the batches it replicated. Without that table
# it would have written `x`, `y` again at offset 2.
#
# ## 6. A restart rebuilds the table
#
# The table lives in memory. At every segment roll a replica writes it to a `.snapshot` file named
# by the offset it is valid at, next to the segments (as Kafka does); a broker that restarts loads
# the latest snapshot and replays the batches after it. Here segments roll every 1 KiB, and
# `flush.messages=1` makes a crash lose nothing written; after a second of writes the producer
# stops, and one follower is killed and restarted.

# %%
rolling = orders_cluster(seed=6, name="6", **{"segment.bytes": "1024", "flush.messages": "1"})
writer = rolling.add_producer("writer", "orders", rate_per_s=100)
rolling.run_for(1_000)
rolling.set_rate("writer", 0)
rolling.run_for(600)  # every replica has every record
follower = next(b for b in (1, 2, 3) if b != rolling.leader_of(TP))
rolling.crash(f"broker-{follower}")
rolling.restart(f"broker-{follower}")
rolling.run_until(lambda: rolling.replica(follower, TP) is not None, timeout_ms=5_000)
files = sorted(p.name for p in (workdir / "6" / f"broker-{follower}" / "orders-0").iterdir())
print(f"broker-{follower}'s snapshot files: {[f for f in files if f.endswith('.snapshot')]}")
print(describe_producer_state(rolling.snapshot(), TP))

# %% [markdown]
# The restarted follower has fetched nothing since (there is nothing new), yet it holds the same
# table as the others: its latest snapshot, plus the batches its log holds after it.
#
# The exercises `13-duplicate-check` and `14-producer-state-recovery` ask you to write the
# leader's duplicate and gap check over the five-batch window, and to rebuild a partition's
# producer state from a snapshot and the log after it (`.venv/bin/python -m exercises list` from
# the repository's root lists them).
