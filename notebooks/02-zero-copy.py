# %% [markdown] tags=["jupyterlab-only"]
# # Zero-copy reads: sendfile and the page cache
#
# **This chapter runs only in JupyterLab** (`make lab`), not in the docs site's in-browser
# JupyterLite: it starts real brokers that listen on TCP sockets and send files with
# `sendfile(2)`, and Python in a browser tab (Pyodide) can neither listen on a socket nor make
# that system call. Its stored run is shown below; the chapters on the simulated cluster run in
# the browser too.
#
# Kafka serves fetches fast because record bytes never pass through the broker's own memory. A
# partition's log is a file; the records a fetch asks for are a **byte range** of it; the broker
# asks the kernel to send that range straight from the page cache to the socket (`sendfile(2)`).
# Both kinds of fetch take this path: a **consumer's**, and a **follower's** — replication is a
# follower fetching from the leader like a consumer does. A read-then-send broker would copy every
# byte into the process and back out, once per fetch.
#
# Below, a real cluster of reflog's **network runtime** runs inside this kernel: one controller and
# 3 brokers, asyncio servers on the kernel's own event loop, talking Kafka's wire protocol over TCP
# on 127.0.0.1. A topic has 3 partitions, each on all 3 brokers (replication factor 3), and
# reflog's own producer and consumer talk to it over sockets as any Kafka client would. Every
# broker counts the record bytes it sent by `sendfile` — to the consumer and to followers apart —
# and the bytes it copied through Python. The timings are this machine's and vary from run to run;
# the checks printed as text do not.
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “Live: the counters as you act on the cluster”.

# %%
from reflog.net.local_cluster import LocalCluster
from reflog.viz.zero_copy import MB, ZeroCopyRun, describe_sample, leaders_of

# The brokers share this kernel's event loop: while a cell computes without awaiting, they are
# frozen, heartbeats included. A generous session timeout keeps the controller from fencing them.
cluster = LocalCluster(brokers=3, broker_session_timeout_ms=30_000)
await cluster.start()
await cluster.create_topic("clicks", partitions=3, replication_factor=3)
leaders = leaders_of(cluster, "clicks")
print("brokers:", sorted(cluster.brokers), "— each serving on its own port of 127.0.0.1")
for partition, leader in leaders.items():
    followers = sorted(set(cluster.brokers) - {leader})
    print(f"clicks-{partition}: leader broker {leader}, followers {followers}")

# %% [markdown]
# ## Producing: the followers fetch by sendfile
#
# The producer sends 10 MB of 1 KB records, round-robin over the partitions, with `acks=all`: a
# record is acknowledged once every in-sync replica has it, that is once both followers of its
# partition fetched it from the leader. So by the time the producer is done, each leader has sent
# its partition's log twice — once to each follower — and by `sendfile`.

# %%
run = ZeroCopyRun(cluster, "clicks")
await run.start()
await run.produce(10)


def led_bytes(broker_id):
    """Bytes in the logs of the partitions this broker leads."""
    broker = cluster.server(broker_id).broker
    return sum(log.size_in_bytes for tp, log in broker.logs if leaders[tp.partition] == broker_id)


after_produce = run.timeline.latest  # recorded when the produce was done
print(f"acknowledged: {run.produced_bytes // MB} MB of record values")
for b in after_produce.brokers:
    print(f"broker {b.broker_id}: sent its partition to its 2 followers by sendfile:",
          b.follower_sendfile_bytes == 2 * led_bytes(b.broker_id),
          f"| to consumers: {b.consumer_sendfile_bytes} bytes",
          f"| copied through Python: {b.copied_bytes} bytes")

# %% tags=["nbval-ignore-output"]
print(describe_sample(after_produce))

# %% [markdown]
# ## Consuming: the consumer fetches by sendfile too
#
# The consumer reads every partition from offset 0, each from its leader. Each leader sends its
# log once more, to the consumer, again by `sendfile`; nothing is copied through Python.

# %%
await run.consume_all()
after_consume = run.timeline.latest
print(f"consumed: {run.consumed_bytes // MB} MB of record values, every acknowledged record:",
      run.consumed_bytes == run.produced_bytes)
for b in after_consume.brokers:
    print(f"broker {b.broker_id}: sent its partition once to the consumer by sendfile:",
          b.consumer_sendfile_bytes == led_bytes(b.broker_id),
          f"| copied through Python: {b.copied_bytes} bytes")

# %% tags=["nbval-ignore-output"]
print(describe_sample(after_consume))

# %% [markdown]
# ## What a broker reads into Python
#
# Counting every byte the process reads from files (`os.pread`) while a client fetches the whole
# topic: with `sendfile`, the brokers read only batch *headers* (61 bytes each, to find where the
# requested offsets start and end in the file); the records never enter Python. Switched to
# read-then-send, they read every record byte, and their own counters say they copied it.
#
# The client here is a bare one (`fetch_everything`): it sends Fetch requests over a blocking
# socket from a thread and keeps the bytes without decoding the records, so what is measured is
# the brokers' way of sending.

# %%
import asyncio
import os

from reflog.viz.zero_copy import fetch_everything

addresses = {p: ("127.0.0.1", cluster.brokers[leader].port) for p, leader in leaders.items()}
real_pread = os.pread


async def fetch_counting_reads(zero_copy):
    """Fetch the whole topic with the brokers on one path; return what the client got,
    the bytes read from files, and the bytes the brokers say they copied."""
    run.set_zero_copy(zero_copy)
    copied_before = run.sample().total("copied")
    read = 0

    def counting_pread(fd, n, offset):
        nonlocal read
        data = real_pread(fd, n, offset)
        read += len(data)
        return data

    os.pread = counting_pread
    try:
        got = await asyncio.to_thread(fetch_everything, addresses, "clicks")
    finally:
        os.pread = real_pread
    run.record(f"fetched everything by {'sendfile' if zero_copy else 'read-then-send'}")
    return got, read, run.sample().total("copied") - copied_before


stored = sum(led_bytes(b) for b in cluster.brokers)
by_sendfile, read_sendfile, copied_sendfile = await fetch_counting_reads(True)
by_copy, read_copy, copied_copy = await fetch_counting_reads(False)
run.set_zero_copy(True)
print("both paths delivered the same bytes, the whole topic:",
      by_sendfile == by_copy and len(by_copy) == stored)
print("sendfile: read only batch headers into Python (under 1% of the records):",
      read_sendfile < stored / 100, f"| copied: {copied_sendfile} bytes")
print("read-then-send: read every record byte into Python:", read_copy >= stored,
      "| copied every byte:", copied_copy == stored)

# %% [markdown]
# ## sendfile against read-then-send
#
# The same client fetches the whole topic eight times in a row, on each path, and that is timed
# three times (the fastest is kept). Each measure has its own panel and axis: the throughput the
# client saw on the left; in the middle, the CPU time the **brokers** spent per megabyte (they all
# run on this kernel's event-loop thread, the client on another, so that thread's CPU clock is
# theirs); on the right, the record bytes the brokers copied into Python for one fetch of the
# topic. The copy, and the CPU it costs, is what `sendfile` removes. Throughput, on loopback, is
# about the same either way and varies from run to run: the "network" is itself a memory copy, and
# the client's own reading is the bottleneck.

# %% tags=["nbval-ignore-output"]
from reflog.viz.static import show
from reflog.viz.zero_copy import comparison_figure, timed_fetch


async def best_of_three(zero_copy):
    run.set_zero_copy(zero_copy)
    tries = [await timed_fetch(addresses, "clicks", rounds=8) for _ in range(3)]
    run.record(f"timed fetches by {'sendfile' if zero_copy else 'read-then-send'}")
    return min(tries, key=lambda t: t.seconds)


timings = {"sendfile": await best_of_three(True), "read then send": await best_of_three(False)}
run.set_zero_copy(True)
copied = {"sendfile": copied_sendfile, "read then send": copied_copy}
show(comparison_figure(timings, copied))

# %% [markdown]
# ## The page cache: cold and warm
#
# `sendfile` copies from the **page cache**. Right after a broker wrote its log, the pages are in
# memory ("warm"); once `posix_fadvise(POSIX_FADV_DONTNEED)` has dropped them ("cold"), the next
# fetch must go to the disk. Kafka relies on this: recent data — what most consumers read — is
# served from memory without the broker caching anything itself. (On a machine with a fast SSD,
# or when the files are on tmpfs, cold is barely slower.)

# %% tags=["nbval-ignore-output"]
from reflog.viz.zero_copy import evict_page_cache

await evict_page_cache(cluster, "clicks")
cold = await timed_fetch(addresses, "clicks")
warm = await timed_fetch(addresses, "clicks")
run.record("fetched everything cold, then warm")
print(f"cold (from disk):  {cold.mb_per_s:6.0f} MB/s")
print(f"warm (page cache): {warm.mb_per_s:6.0f} MB/s")

# %% [markdown]
# ## Live: the counters as you act on the cluster
#
# Every action above was recorded: the view below replays them and takes new ones. On the left,
# per broker, the record bytes it sent during the action that ended at the moment shown — to
# clients by `sendfile` (blue: the consumer, and also the timed fetches above, which the brokers
# count with it), to followers by `sendfile` (green), copied through Python (red); on the right,
# the running totals of all brokers, with that moment marked. The buttons act on the
# running cluster: **produce 10 MB** (green: each leader sends its share to two followers),
# **consume all** (blue: once more, to the consumer), and **serve by read-then-send**, after which
# a produce and a consume grow red instead. **Play** streams — produce, then consume, every half
# second, at the slider's MB/s. Drag the time slider back to see an earlier moment; a button pressed
# then jumps back to live first. (If you ran the whole notebook, its last cell has stopped the
# cluster and the view says so: select that cell and use *Run ▸ Run All Above Selected Cell* to
# start a fresh cluster and play with it.)

# %% tags=["nbval-ignore-output"]
from reflog.viz.zero_copy import ZeroCopyView

view = ZeroCopyView(run)
view

# %% [markdown]
# The view's history so far: one sample per action taken in this notebook (each button press adds
# one), with the counters that grew since the sample before — sent by sendfile to clients or to
# followers, or copied through Python:

# %%
from reflog.viz.zero_copy import describe_history

print(describe_history(run.timeline))

# %% [markdown]
# ## Stopping the cluster
#
# The clients disconnect, then every broker and the controller stop; their files go with the
# temporary directory.

# %%
await run.close()
await cluster.stop()
print("cluster stopped")
