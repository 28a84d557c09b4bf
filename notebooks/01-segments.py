# %% [markdown]
# # Segments: how a partition lives on disk
#
# A Kafka partition is not one file but a series of **segments**, each a `.log` of record batches
# with two sparse indexes beside it. Only the newest segment is written to; it **rolls** when it
# reaches `segment.bytes` (or `segment.ms`, a full index, or an offset too far from its base for the
# index's 4-byte relative offsets). That one design gives Kafka cheap
# appends (always at the end of one file), cheap lookups (an index floor, then a short scan) and
# cheap deletion (retention removes whole files).
#
# This notebook runs a cluster of three brokers in the kernel (a simulated network and clock, real
# files) with a topic replicated three times and deliberately tiny segments, and looks at the real
# files each replica writes. Its producer's `batch.size` is no larger than a segment: a segment
# holds whole batches, so Kafka refuses a batch larger than `segment.bytes` (RECORD_LIST_TOO_LARGE)
# rather than write it. *Simplifications, said once:* the active segment is never deleted by
# retention, and after a crash every segment is recovered (Kafka recovers only from its last
# recovery point).
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “Watch segments grow and roll”.

# %%
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition
from reflog.viz.segment_files import (
    SegmentFilesView,
    describe_files,
    layout_replica,
    shown_replicas,
)

cluster = Cluster(
    seed=1,
    brokers=3,
    log_retention_check_interval_ms=5_000,  # log.retention.check.interval.ms (Kafka: 5 min)
    log_cleaner_backoff_ms=1_000,  # log.cleaner.backoff.ms (Kafka: 15 s)
)
cluster.create_topic(
    "events",
    partitions=1,
    replication_factor=3,
    configs={"segment.bytes": "4096", "index.interval.bytes": "512", "retention.bytes": "12288"},
)
EVENTS = TopicPartition("events", 0)
producer = cluster.add_producer(
    "app", "events", rate_per_s=300, keys=[b"a", b"b", b"c"], linger_ms=10, batch_size=4096
)
cluster.run_for(3_000)
print(cluster.describe("events"))
print(f"acknowledged {producer.acked} records")

# %% [markdown]
# ## The files
#
# Every segment is named by its **base offset**, zero-padded to 20 digits, exactly as Kafka names
# them. The `.index` holds 8-byte entries (relative offset, file position), the `.timeindex`
# 12-byte entries (timestamp, relative offset), one every `index.interval.bytes` of log. Below,
# the partition's directory on the leader and on a follower: the same names, the same sizes. A
# follower appends the very batches the leader sent it, so every closed segment is the same file,
# byte for byte; only the active one may trail by the batches still on their way. (*reflog
# simplification:* the active segment's index entries stay in memory until it is flushed or rolls,
# so its `.index` is not on disk yet; Kafka memory-maps a preallocated file.)

# %%
leader_replica, follower_replica = shown_replicas(cluster.snapshot().partition("events"))
leader, follower = leader_replica.broker_id, follower_replica.broker_id
leader_log = cluster.broker(leader).logs.get(EVENTS)
follower_log = cluster.broker(follower).logs.get(EVENTS)
print(f"{'file':32} {f'broker-{leader}':>9} {f'broker-{follower}':>9}")
for path in sorted(leader_log.directory.iterdir()):
    if path.suffix in (".log", ".index", ".timeindex"):
        twin = follower_log.directory / path.name
        twin_size = twin.stat().st_size if twin.exists() else "-"
        print(f"{path.name:32} {path.stat().st_size:9} {twin_size:>9}")
closed = leader_log.segments[:-1]
same = all(
    s.log_path.read_bytes() == (follower_log.directory / s.log_path.name).read_bytes()
    for s in closed
)
print(f"the {len(closed)} closed segments are identical on both brokers: {same}")

# %% [markdown]
# ## Watch segments grow and roll
#
# Each row is one segment file, oldest at the top, drawn along its bytes: every **block** is a
# record batch at its position in the `.log` (its colour is the leader epoch that wrote it), every
# **▼** is an entry of the sparse `.index` pointing at the batch where it starts. The **active**
# segment, the last row, is outlined up to `segment.bytes`: when the next batch would not fit, it
# rolls and a new row appears. The leader is on the left, a follower on the right: the same
# files, the same batches at the same positions, the follower a few batches behind at most.
#
# Press **Play** (or *run 500 ms*): the producer keeps writing. Every five simulated seconds the
# retention check runs and deletes whole rows from the top. However long it plays, the chart
# draws at most six files; older ones are summed up in the line above them. Drag the **time**
# slider back to see any earlier moment; **live** follows the run again. Hover a block or a ▼
# for its offsets and bytes.

# %% tags=["nbval-ignore-output"]
SegmentFilesView(cluster, "events", segment_bytes=4096, producer="app")

# %% [markdown]
# The same two replicas as text (this is what the chart above draws, at the moment this cell ran):

# %%
snapshot = cluster.timeline.latest
for replica in shown_replicas(snapshot.partition("events")):
    print(describe_files(layout_replica(replica)))

# %% [markdown]
# ## Finding an offset, step by step
#
# A fetch for an offset first picks the segment (the last one whose base offset is at or below it),
# then asks that segment's offset index for its **floor**: the last entry at or below the offset —
# the last ▼ to its left in the chart. From that file position it scans forward over batch
# headers — 61 bytes each, never the records — until it reaches the batch holding the offset, and
# returns that batch and what follows as one slice of the file.

# %%
target = leader_log.segments[-3].base_offset + 57
segment = [s for s in leader_log.segments if s.base_offset <= target][-1]
print(f"looking for offset {target} on broker-{leader}")
print(
    f"1. segment {segment.base_offset:020d}.log holds offsets "
    f"{segment.base_offset}..{segment.next_offset - 1}"
)
entries = segment.index.entries()
floor = segment.index.lookup(target)
print(
    f"2. its index has {len(entries)} entries; the floor of {target} is offset {floor.offset} "
    f"at byte {floor.position}"
)
scanned = [h for h in segment.batches_from(floor.position) if h.base_offset <= target]
for header in scanned:
    print(
        f"   scan: batch at byte {header.position:5}, "
        f"offsets {header.base_offset}..{header.last_offset}"
    )
found = segment.find_batch(target)
print(
    f"3. batch found at byte {found.position}: offsets {found.base_offset}..{found.last_offset} "
    f"({len(scanned)} headers read instead of {len(segment.batches_from(0))})"
)

# %% [markdown]
# Followers and caught-up consumers always read at the very end of the log, which the sparse
# index covers worst: everything written since its last entry must be scanned. So reflog keeps the
# headers of those newest batches in memory (never more than `index.interval.bytes` of log) and
# finds a read at the end without touching the file. *This shortcut is reflog's own, not Kafka's:*
# Kafka scans the file there too; the answer is the same.

# %%
active = leader_log.active
tail = active.unindexed_headers
print(
    f"the active segment's last index entry is at byte {active.index.entries()[-1].position}; "
    f"{len(tail)} batch(es) written since then have their headers in memory:"
)
print(
    f"   offsets {tail[0].base_offset}..{tail[-1].last_offset}, "
    f"bytes {tail[0].position}..{tail[-1].position + tail[-1].size}"
)

# %% [markdown]
# ## Retention deletes whole segments
#
# The topic was created with `retention.bytes=12288`. Each broker applies retention on a timer
# (`log.retention.check.interval.ms`, five minutes by default, five seconds here): old segments
# are deleted as whole files, the **log start offset** moves to the oldest segment left, and a
# consumer asking for anything below it gets `OFFSET_OUT_OF_RANGE`, then follows its
# `auto.offset.reset`. Each replica applies retention to its own files, and only below the high
# watermark, so no follower loses a record it has not fetched yet.
#
# We run three more seconds, past the check at t = 5 s, and ask the timeline what happened.

# %%
from reflog.wire.errors import ErrorCode
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

cluster.run_for(3_000)


def log_start(snapshot):
    return snapshot.partition("events").replica(leader).log_start_offset


moved = next(s for s in cluster.timeline if s.partitions and log_start(s) > 0)
before = cluster.timeline[cluster.timeline.index_at(moved.at_ms) - 1]
old_files = before.partition("events").replica(leader).segments
new_files = moved.partition("events").replica(leader).segments
deleted = [s for s in old_files if s.base_offset < log_start(moved)]
print(f"t = {moved.at_ms} ms, retention on broker-{leader}:")
print(f"  before: {len(old_files)} segments, {sum(s.size for s in old_files)} bytes, log start 0")
print(
    f"  deleted {len(deleted)} whole files: {deleted[0].base_offset:020d}.log .. "
    f"{deleted[-1].base_offset:020d}.log"
)
print(
    f"  after:  {len(new_files)} segments, {sum(s.size for s in new_files)} bytes, "
    f"log start {log_start(moved)}"
)

fetch = FetchRequest(
    max_wait_ms=0,
    topics=[FetchTopic(topic="events", partitions=[FetchPartition(partition=0, fetch_offset=0)])],
)
answer = cluster.request(leader, fetch, version=11).responses[0].partitions[0]
print(
    f"a fetch at offset 0: {ErrorCode(answer.error_code).name}, "
    f"log start offset {answer.log_start_offset}"
)

# %% [markdown]
# ## Compaction keeps offsets
#
# A topic with `cleanup.policy=compact` keeps the **latest value of every key**. The cleaner
# rewrites old segments without the superseded records — but never renumbers: the survivors keep
# their offsets, and the log start offset stays 0. A common claim is that compaction makes slow
# consumers hit `OFFSET_OUT_OF_RANGE`; it does not. A consumer at a removed offset simply gets the
# next surviving record. Only retention moves the log start. (*reflog simplification:* a batch whose
# records were all removed stays as an empty 61-byte header, drawn in grey below, so the bytes
# shrink less than the record count.)
#
# A second topic of the same cluster: user profiles, a few users updating often and many rarely.
# Each broker's cleaner looks every second (`log.cleaner.backoff.ms`) and cleans the segments below
# the high watermark once enough of them is dirty (`min.cleanable.dirty.ratio`, 0.5). Each broker
# cleans its own copy on its own schedule, so in the chart below the leader's and a follower's
# files may differ in bytes for a while — never in offsets.

# %%
from reflog.records import iter_batches

cluster.create_topic(
    "profiles",
    partitions=1,
    replication_factor=3,
    configs={"cleanup.policy": "compact", "segment.bytes": "1024"},
)
users = [b"user-%d" % i for i in range(12)]
cluster.add_producer(
    "profile-service",
    "profiles",
    rate_per_s=100,
    keys=users,
    key_weights=[1 / (i + 1) ** 2 for i in range(12)],
    linger_ms=0,
    batch_size=1024,  # no larger than its segments, as above
)
cluster.run_for(2_000)
PROFILES = TopicPartition("profiles", 0)
profiles_leader = cluster.leader_of(PROFILES)
plog = cluster.broker(profiles_leader).logs.get(PROFILES)


def first_file(snapshot):
    """The leader's oldest profiles segment at that moment (None before the topic exists)."""
    try:
        segments = snapshot.partition("profiles").replica(profiles_leader).segments
    except KeyError:
        return None
    return segments[0] if segments else None


EMPTY_BATCH = 61  # bytes: a batch header with no record after it
cleaned_at = next(
    s
    for s in cluster.timeline
    if (file := first_file(s)) is not None and any(b.size == EMPTY_BATCH for b in file.batches)
)
dirty = cluster.timeline[cluster.timeline.index_at(cleaned_at.at_ms) - 1]
was, now = first_file(dirty), first_file(cleaned_at)
print(f"t = {cleaned_at.at_ms} ms, broker-{profiles_leader} cleaned {was.base_offset:020d}.log:")
print(f"  before: offsets {was.base_offset}..{was.next_offset - 1}, {was.size} bytes")
print(f"  after:  offsets {now.base_offset}..{now.next_offset - 1}, {now.size} bytes")
closed = plog.segments[:-1]
records = [r for s in closed for b in iter_batches(s.log_path.read_bytes()) for r in b.records()]
print(f"log start offset: {plog.log_start_offset}; log end offset: {plog.log_end_offset}")
print(
    f"the {len(closed)} closed segments keep {len(records)} of the {plog.active.base_offset} "
    f"records written to them, at their own offsets (key @ offset): "
    + ", ".join(f"{r.key.decode()}@{r.offset}" for r in records[:8])
    + " ..."
)


# %% tags=["nbval-ignore-output"]
SegmentFilesView(cluster, "profiles", segment_bytes=1024, producer="profile-service")

# %% [markdown]
# ## A crash tears the tail; recovery cuts it off
#
# By default Kafka leaves flushing to the operating system (`flush.messages` unset): an
# acknowledged record may still sit in the page cache when the power goes. The simulation's crash
# is such a power cut — whatever was not fsynced is gone. Below, the follower crashes, and we also
# leave half a batch at the end of its active segment, as a write cut short would. The controller
# fences it after `broker.session.timeout.ms` and the leader goes on without it. On restart,
# recovery validates every batch (its CRC-32C), rebuilds the indexes, and truncates the torn tail.
# On a single broker that data would be lost for good; here the follower then fetches it back from
# the leader, which is the reason replication exists.

# %%
follower_log = cluster.broker(follower).logs.get(EVENTS)
end_before = follower_log.log_end_offset
flushed = sum(s.flushed_size for s in follower_log.segments)
written = follower_log.size_in_bytes
active_path = follower_log.active.log_path
cluster.crash(f"broker-{follower}")
with open(active_path, "ab") as f:
    f.write(b"\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x01\x00half a batch")
print(
    f"broker-{follower} crashed at t = {cluster.now_ms} ms with log end offset {end_before}: "
    f"{flushed} of its {written} bytes were fsynced"
)
cluster.run_for(1_500)
print(f"t = {cluster.now_ms} ms, the controller has fenced it:")
print(cluster.describe("events"))

cluster.restart(f"broker-{follower}")
recovered = cluster.broker(follower).logs.get(EVENTS)
lost = end_before - recovered.log_end_offset
print(
    f"restarted: recovery cut {recovered.recovered_truncated_bytes} torn bytes; "
    f"log end offset {recovered.log_end_offset} (the power cut took its last {lost} records)"
)


def back_in_sync():
    partition = cluster.snapshot().partition("events")
    return follower in partition.isr and partition.replica(follower).role == "Follower"


cluster.wait_until(back_in_sync, 10_000, "back in the ISR")
print(f"t = {cluster.now_ms} ms: it fetched back from the leader what it lost, and is in sync")
print(cluster.describe("events"))
# %% [markdown]
# ## The whole run, recorded
#
# Every step above was recorded. Scrub the slider below to t = 5 s to watch retention delete the
# oldest files, and to the end to see the follower crash (its files greyed out, shorter after
# recovery) and catch up again.

# %% tags=["nbval-ignore-output"]
SegmentFilesView(cluster, "events", segment_bytes=4096, producer="app", follower=follower)
