# %% [markdown]
# # Transactions: exactly-once consume-transform-produce
#
# The idempotent producer (chapter 06) writes each record once to **one** partition. An
# application that reads a record, computes a result and writes it elsewhere needs more: its
# results, on several partitions, **and** the consumer offset saying "this input is done" must
# count together or not at all. Otherwise a crash between writing the result and committing
# the offset makes its successor process the input again: a duplicate result. Kafka's
# **transactions** (KIP-98) give exactly that:
#
# * a producer with a `transactional.id` calls `init_transactions()`: the **transaction
#   coordinator** (the broker leading partition `hash(transactional.id) mod 50` of the internal
#   topic `__transaction_state`) gives it the id's producer id with its **epoch bumped**, which
#   fences any older instance with the same `transactional.id`;
# * `begin_transaction()`, then `send()`s: before the first write to a partition the producer
#   tells the coordinator (`AddPartitionsToTxn`); `send_offsets_to_transaction()` adds the
#   consumer group's offsets (`AddOffsetsToTxn`, then `TxnOffsetCommit` to the group
#   coordinator);
# * `commit_transaction()` (or `abort_transaction()`), `EndTxn`: the coordinator records
#   PrepareCommit in `__transaction_state`, writes a **COMMIT marker** (a control batch) to
#   every partition of the transaction, the offsets included, then records CompleteCommit;
# * each partition keeps its **last stable offset** (LSO): the first offset of the oldest
#   transaction still open there. A consumer with `isolation.level=read_committed` reads only
#   below it, and is told which transactions below it were aborted, so it drops their records.
#
# This notebook runs reflog's transactional producer (`reflog/producer/transactions.py`),
# coordinator (`reflog/transactions/`) and `read_committed` consumer on a simulated KRaft
# cluster of 3 brokers, where a message takes 1 to 5 ms. Every printed line is the same on
# every run.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “3. An abort: read_uncommitted against read_committed”.

# %%
import atexit
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from reflog.groups.config import GroupConfig
from reflog.sim import Cluster
from reflog.sim.processor import committed_offset
from reflog.topic_partition import TopicPartition
from reflog.transactions.config import TxnConfig
from reflog.viz.transactions import (
    TransactionView,
    classify_offsets,
    describe_transaction,
    state_changes,
)
from reflog.wire.errors import ErrorCode

TXN_ID = "uppercaser"  # the processor's transactional.id


def scratch_dir():
    """A directory for the brokers' and controllers' files, removed when the kernel exits."""
    path = Path(tempfile.mkdtemp(prefix="reflog-transactions-"))
    atexit.register(shutil.rmtree, path, True)
    return path


workdir = scratch_dir()


def pipeline(seed, name):
    """3 brokers; topic "in" (1 partition) fed 20 records a second by producer "source";
    topic "out" (3 partitions); processor-1 turns each input into its upper case; consumer
    "uncommitted" reads "out" read_uncommitted and consumer "committed" read_committed."""
    cluster = Cluster(
        seed=seed,
        brokers=3,
        data_dir=workdir / name,
        # 3 partitions for each internal topic rather than Kafka's 50: a smaller cluster to run.
        groups=GroupConfig(offsets_topic_num_partitions=3),
        transactions=TxnConfig(transaction_state_log_num_partitions=3),
    )
    cluster.create_topic("in", 1, replication_factor=3)
    cluster.create_topic("out", 3, replication_factor=3, configs={"min.insync.replicas": "2"})
    cluster.add_producer("source", "in", rate_per_s=20)
    cluster.add_processor("processor-1", "in", "out", transactional_id=TXN_ID, group_id="upper")
    cluster.add_consumer("uncommitted", "out")
    cluster.add_consumer("committed", "out", isolation_level="read_committed")
    return cluster


def values(cluster, consumer):
    return [r.value.decode() for r in cluster.consumers[consumer].records]


def settled(cluster):
    """No transaction between its commit decision and its last marker, and the read_committed
    consumer caught up with each output partition's last stable offset."""
    snapshot = cluster.snapshot()
    if any(t.state.startswith("Prepare") for t in snapshot.transactions):
        return False
    reader = snapshot.consumer("committed")
    return all(
        (reader.position(p.partition) or 0) >= p.replica(p.leader).last_stable_offset
        for p in snapshot.topic("out")
        if p.leader > 0
    )


def settle(cluster):
    """Run until :func:`settled` (at most 2 s)."""
    for _ in range(100):
        if settled(cluster):
            return
        cluster.run_for(20)


def check_exactly_once(cluster):
    """Every input record's result is read read_committed exactly once, in input order per
    output partition; the inputs not yet processed are the last ones.

    A read_committed consumer sees a transaction's results in each partition when that
    partition's marker lands, so while the markers are being written it may see one
    partition's part and not yet another's: the check first runs until none is."""
    settle(cluster)
    results = Counter(values(cluster, "committed"))
    twice = [v for v, n in results.items() if n > 1]
    done = {int(v.removeprefix("RECORD-")) for v in results}
    print(f"read_committed: {sum(results.values())} results, {len(twice)} of them more than "
          f"once; inputs 0-{max(done)} all there: {done == set(range(max(done) + 1))}")


def describe_log(cluster, partition, last=16):
    """The ``last`` offsets of the leader's log of out-<partition>, as runs of one kind."""
    snapshot = cluster.snapshot()
    p = snapshot.partition("out", partition)
    replica = p.replica(p.leader)
    runs = []
    for offset, kind in classify_offsets(replica).items():
        if offset < replica.log_end_offset - last:
            continue
        if runs and runs[-1][2] == kind:
            runs[-1][1] = offset
        else:
            runs.append([offset, offset, kind])
    text = ", ".join(f"{a}-{b} {k}" if a != b else f"{a} {k}" for a, b, k in runs)
    print(f"out-{partition}: ... {text}")
    print(f"  high watermark {replica.high_watermark}, last stable offset "
          f"{replica.last_stable_offset}")

# %% [markdown]
# ## 1. The loop: results and input offsets in one transaction
#
# `processor-1` reads topic `in` and, for every 4 records it has read, opens a transaction: it
# writes each record's result (the value in upper case) to `out` (input offset *i* to partition
# *i* mod 3), adds its input offset to the transaction for its consumer group `upper`, takes
# 200 ms to "process", then commits. Three seconds of it:

# %%
cluster = pipeline(seed=1, name="1")
cluster.run_for(3_000)
processor = cluster.producers["processor-1"]
print(f"processor-1: {processor.committed_txns} transactions committed, next input offset "
      f"{processor.next_input}")
print(describe_transaction(cluster.snapshot(), TXN_ID))
describe_log(cluster, 0)
check_exactly_once(cluster)

# %% [markdown]
# In `out-0` the records of each transaction are followed by its **COMMIT marker**: a control
# batch that takes an offset but is never given to an application. The last transaction may
# still be open: its records are there, its marker not yet, and the last stable offset stops
# at its first record while the high watermark is past it.
#
# ## 2. The coordinator's state machine
#
# The coordinator keeps one entry per `transactional.id` and moves it through Kafka's states,
# each change written to `__transaction_state` before anyone is answered (so a new coordinator
# loads it, as a group coordinator loads its groups). The moves of the id over the last
# transactions, read from the recorded timeline:

# %%
for at, state, epoch in state_changes(cluster.timeline, TXN_ID)[:9]:
    print(f"t = {at:5} ms  {state:15} epoch {epoch}")

# %% [markdown]
# `Empty` after `InitProducerId`; `Ongoing` at the first `AddPartitionsToTxn`; `PrepareCommit` at
# `EndTxn`; `CompleteCommit` once every partition of the transaction has its marker. The next
# transaction goes to `Ongoing` again. An abort takes `PrepareAbort`, `CompleteAbort`; a newer
# instance of the same id fences an open transaction through `PrepareEpochFence` (section 4);
# `Dead` is an id expired after `transactional.id.expiration.ms` of silence.
#
# ## 3. An abort: read_uncommitted against read_committed
#
# The processor aborts the transaction it has open (as an application does when processing
# fails), then goes on. The records of the aborted transaction stay in the log, followed by an
# **ABORT marker**; each partition's `.txnindex` file lists the transaction as aborted. Consumer
# `uncommitted` is given them; `committed` is not. The processor, which did not commit its
# input offset, processes the same inputs again in its next transaction.

# %%
processor.abort_next = True
cluster.run_for(1_000)
print(f"processor-1: {processor.aborted_txns} transaction aborted")
describe_log(cluster, 0)
settle(cluster)
# Inputs below the group's committed offset are done with (an open transaction's are not);
# read_uncommitted was given their aborted results on top of the committed ones.
final = committed_offset(cluster, "upper", TopicPartition("in", 0))
aborted = Counter(values(cluster, "uncommitted")) - Counter(values(cluster, "committed"))
aborted = [v for v in sorted(aborted.elements()) if int(v.removeprefix("RECORD-")) < final]
print(f"given to read_uncommitted, never to read_committed: {aborted}")
check_exactly_once(cluster)

# %% [markdown]
# The inputs of the aborted transaction are in the output twice, once aborted and once
# committed: `read_uncommitted` was given both, `read_committed` only the committed one.
#
# The live view shows the same cluster: left, the coordinator's state for `uppercaser` (the
# state now in orange, the move that led to it thick); right, the last offsets of each partition
# of `out` (green: committed; orange: a transaction still open; red: aborted; dark: the COMMIT
# "C" and ABORT "A" markers), the high watermark (black) and the last stable offset (pink), and
# where each consumer has read to; below, the records each consumer was given. The cluster runs
# when you press play. The buttons act on it: abort the next transaction, kill the processor
# (mid-transaction, most likely), start a successor with the same `transactional.id`, kill the
# coordinator's broker and restart the brokers. The time slider scrubs back; "live" (or any
# button) comes back to now.

# %% tags=["nbval-ignore-output"]
TransactionView(cluster, TXN_ID, "out", uncommitted="uncommitted", committed="committed")

# %% [markdown]
# ## 4. The processor killed mid-transaction, and its successor
#
# A new cluster; after 2 s, `processor-1` is killed while its transaction is open: its results
# are in the output partitions, its marker will never come from it. The last stable offset of
# those partitions stays at the transaction's first record, so `read_committed` consumers stop
# there, while `read_uncommitted` ones read on.

# %%
crashy = pipeline(seed=4, name="4")
crashy.run_for(2_000)
first = crashy.producers["processor-1"]
crashy.run_until(lambda: first.phase == "open" and first.sent > first.acked, timeout_ms=2_000)
crashy.run_until(lambda: first.acked == first.sent, timeout_ms=1_000)  # results written
crashy.crash("processor-1")
crashy.crash("processor-1-in")
crashy.run_for(500)
print(describe_transaction(crashy.snapshot(), TXN_ID))
for partition in range(3):
    describe_log(crashy, partition)

# %% [markdown]
# Nothing moves until the transaction ends: the coordinator aborts it by itself after the
# producer's `transaction.timeout.ms` (10 s here), or a successor with the same
# `transactional.id` ends it at once. `processor-2` starts: its `InitProducerId` finds the id's
# transaction Ongoing, so the coordinator bumps the epoch (PrepareEpochFence, then PrepareAbort
# at the same instant: the timeline shows only the second), aborts the open transaction with
# ABORT markers (CompleteAbort once they are written), and answers the successor's retry with
# the epoch bumped once more (Empty). `processor-2` reads the committed input offset and
# processes from there.

# %%
second = crashy.add_processor("processor-2", "in", "out", transactional_id=TXN_ID,
                              group_id="upper")  # fmt: skip
crashy.run_for(2_000)
crash_at = next(a.at_ms for a in crashy.actions if a.kind == "crash")
for at, state, epoch in state_changes(crashy.timeline, TXN_ID):
    if at >= crash_at:
        print(f"t = {at:5} ms  {state:18} epoch {epoch}")
        if state == "Ongoing":
            break
describe_log(crashy, 0, last=22)
check_exactly_once(crashy)

# %% [markdown]
# ## 5. A zombie fenced
#
# A processor that is not dead but stalled (a long garbage-collection pause, a network
# partition) is worse than a crashed one: its supervisor starts a successor, and the old one
# may wake up and go on as if nothing happened — a **zombie**. Here `processor-2` is cut off
# from the brokers mid-transaction; `processor-3` starts with the same `transactional.id`; then
# the network heals and `processor-2` tries to commit.

# %%
crashy.run_until(lambda: second.phase == "open", timeout_ms=2_000)
crashy.run_for(50)
crashy.isolate("processor-2")
third = crashy.add_processor("processor-3", "in", "out", transactional_id=TXN_ID,
                             group_id="upper")  # fmt: skip
crashy.run_for(1_000)
crashy.heal()
crashy.run_for(1_500)
for name in ("processor-2", "processor-3"):
    node = crashy.producers[name]
    error = node.producer.transactions.error
    why = f" ({ErrorCode(error).name})" if node.fenced and error is not None else ""
    print(f"{name}: epoch {crashy.snapshot().producer(name).producer_epoch}, "
          f"fenced: {node.fenced}{why}")
print(describe_transaction(crashy.snapshot(), TXN_ID))
check_exactly_once(crashy)

# %% [markdown]
# `processor-3`'s `InitProducerId` bumped the epoch; when `processor-2` came back, its requests
# carried the old one and were refused (`INVALID_PRODUCER_EPOCH`, which newer clients call
# `PRODUCER_FENCED`): it is fenced for good, and its open transaction had already been aborted.
# The output still holds every input's result once.
#
# ## 6. What exactly-once does not cover
#
# Exactly-once here means: reading from Kafka, writing to Kafka, and committing the read
# offsets happen atomically, so **within Kafka** every input has its effect once. It does not
# reach outside: if the processor also writes to a database, sends an e-mail or calls an HTTP
# service while processing, an aborted transaction (or a zombie, or a retry after a crash) has
# already done that, and Kafka cannot take it back. A side effect outside Kafka needs its own
# idempotence (an upsert keyed by the input's topic, partition and offset, for example), or the
# database write must carry the consumed offsets in the same database transaction. And
# `read_committed` is a choice of the reader: a `read_uncommitted` consumer still sees aborted
# records, as section 3 showed.
#
# The exercises `16-read-committed` and `17-txn-state` ask you to write what a
# `read_committed` fetch returns given a log with markers and an aborted-transactions list,
# and the coordinator's next state for each event (`.venv/bin/python -m exercises list` from
# the repository's root lists them).
