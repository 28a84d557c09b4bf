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
# This notebook runs a broker in the kernel's simulated cluster with deliberately tiny segments,
# and looks at the real files it writes. *Simplifications, said once:* the active segment is never
# deleted by retention, and after a crash every segment is recovered (Kafka recovers only from its
# last recovery point).

# %%
from reflog.sim import Cluster
from reflog.topic_partition import TopicPartition

cluster = Cluster(seed=1, brokers=1)
cluster.create_topic(
    "events",
    configs={"segment.bytes": "4096", "index.interval.bytes": "512", "retention.bytes": "8192"},
)
producer = cluster.add_producer(
    "app", "events", rate_per_s=300, keys=[b"a", b"b", b"c"], linger_ms=10
)
cluster.run_for(3_000)
broker = cluster.broker(1)
log = broker.logs.get(TopicPartition("events", 0))
print(f"acknowledged {producer.acked} records; log end offset {log.log_end_offset}; "
      f"{len(log.segments)} segments")

# %% [markdown]
# ## The files
#
# Every segment is named by its **base offset**, zero-padded to 20 digits, exactly as Kafka names
# them. The `.index` holds 8-byte entries (relative offset, file position), the `.timeindex`
# 12-byte entries (timestamp, relative offset), one every `index.interval.bytes` of log.

# %%
for path in sorted(log.directory.iterdir()):
    if path.suffix in (".log", ".index", ".timeindex"):
        print(f"{path.name:32} {path.stat().st_size:6} bytes")

# %% [markdown]
# ## Watch segments grow and roll
#
# Press **Play**: the producer keeps writing, the active (rightmost) segment grows to
# `segment.bytes` and a new one starts. Hover a bar for its offsets and index entries.

# %% tags=["nbval-ignore-output"]
from reflog.viz import SegmentsView

SegmentsView(cluster, TopicPartition("events", 0)).widget

# %% [markdown]
# ## Finding offset 515, step by step
#
# A fetch for offset 515 first picks the segment (the last one whose base offset is ≤ 515), then
# asks that segment's offset index for its **floor**: the last entry at or below 515. From that
# file position it scans forward over batch headers — 61 bytes each, never the records — until it
# reaches the batch holding offset 515, and returns that batch and what follows as one slice of
# the file.

# %%
target = 515
segment = [s for s in log.segments if s.base_offset <= target][-1]
print(f"1. segment {segment.base_offset:020d}.log holds offsets "
      f"{segment.base_offset}..{segment.next_offset - 1}")
entries = segment.index.entries()
floor = segment.index.lookup(target)
print(f"2. its index has {len(entries)} entries; the floor of {target} is offset {floor.offset} "
      f"at byte {floor.position}")
scanned = [h for h in segment.batches_from(floor.position) if h.base_offset <= target]
for header in scanned:
    print(f"   scan: batch at byte {header.position:5}, "
          f"offsets {header.base_offset}..{header.last_offset}")
found = segment.find_batch(target)
print(f"3. batch found at byte {found.position}: offsets {found.base_offset}..{found.last_offset} "
      f"({len(scanned)} headers read instead of {len(segment.batches_from(0))})")

# %% [markdown]
# Followers and caught-up consumers always read at the very end of the log, which the sparse
# index covers worst: everything written since its last entry must be scanned. So reflog keeps the
# headers of those newest batches in memory (never more than `index.interval.bytes` of log) and
# finds a read at the end without touching the file. *This shortcut is reflog's own, not Kafka's:*
# Kafka scans the file there too; the answer is the same.

# %%
active = log.active
tail = active.unindexed_headers
print(f"the active segment's last index entry is at byte {active.index.entries()[-1].position}; "
      f"{len(tail)} batches written since then have their headers in memory:")
print(f"   offsets {tail[0].base_offset}..{tail[-1].last_offset}, "
      f"bytes {tail[0].position}..{tail[-1].position + tail[-1].size}")

# %% [markdown]
# ## Retention deletes whole segments
#
# The topic was created with `retention.bytes=8192`. The broker applies retention on a timer
# (`log.retention.check.interval.ms`, five minutes by default); here we run that check now. Old
# segments are deleted as files; the **log start offset**
# moves to the oldest segment left, and a consumer asking for anything below it gets
# `OFFSET_OUT_OF_RANGE`, then follows its `auto.offset.reset`.

# %%
from reflog.wire.errors import ErrorCode
from reflog.wire.headers import RequestHeader
from reflog.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

cluster.run_for(2_000)
before = (len(log.segments), log.log_start_offset, log.size_in_bytes)
deleted = log.delete_old_segments(cluster.now_ms)  # what the broker's retention timer runs
print(f"before: {before[0]} segments, log start {before[1]}, {before[2]} bytes")
print(f"retention.bytes=8192 deleted {len(deleted)} segments: "
      f"{[f'{b:020d}.log' for b in deleted[:3]]}...")
print(f"after:  {len(log.segments)} segments, log start {log.log_start_offset}, "
      f"{log.size_in_bytes} bytes")

fetch = FetchRequest(
    max_wait_ms=0,
    topics=[FetchTopic(topic="events", partitions=[FetchPartition(partition=0, fetch_offset=0)])],
)
[answer] = broker.handle(99, RequestHeader(1, 11, 1, "notebook"), fetch, cluster.now_ms)
part = answer.response.responses[0].partitions[0]
print(f"fetch at offset 0: {ErrorCode(part.error_code).name}, "
      f"log start offset {part.log_start_offset}")

# %% [markdown]
# ## Compaction keeps offsets
#
# A topic with `cleanup.policy=compact` keeps the **latest value of every key**. The cleaner
# rewrites old segments without the superseded records — but never renumbers: the survivors keep
# their offsets, and the log start offset stays 0. A common claim is that compaction makes slow
# consumers hit `OFFSET_OUT_OF_RANGE`; it does not. A consumer at a removed offset simply gets the
# next surviving record. Only retention moves the log start. (*reflog simplification:* a batch whose
# records were all removed stays as an empty 61-byte header, so the bytes shrink less than the
# record count.)

# %%
from reflog.records import iter_batches
from reflog.storage.cleaner import LogCleaner

profiles = Cluster(seed=2, brokers=1)
profiles.create_topic("profiles", configs={"cleanup.policy": "compact", "segment.bytes": "2048"})
users = [b"user-%d" % i for i in range(4)]
profiles.add_producer("profile-service", "profiles", rate_per_s=100, keys=users, linger_ms=0)
profiles.run_for(3_000)
plog = profiles.broker(1).logs.get(TopicPartition("profiles", 0))

def survivors(log):
    out = []
    for segment in log.segments:
        out += [r for b in iter_batches(segment.log_path.read_bytes()) for r in b.records()]
    return out

before = survivors(plog)
result = LogCleaner().clean(plog, profiles.now_ms, force=True)
after = survivors(plog)
print(f"before cleaning: {len(before)} records, {result.bytes_before} bytes "
      f"in {result.segments} cleanable segments")
print(f"after cleaning:  {len(after)} records, {result.bytes_after} bytes in the same segments")
print(f"log start offset: {plog.log_start_offset}; log end offset: {plog.log_end_offset}")
cleaned_part = [r for r in after if r.offset < plog.active.base_offset]
print("what the cleaned segments still hold (key @ offset):",
      ", ".join(f"{r.key.decode()}@{r.offset}" for r in cleaned_part))

# %% [markdown]
# ## A crash tears the tail; recovery cuts it off
#
# By default Kafka leaves flushing to the operating system (`flush.messages` unset): an
# acknowledged record may still sit in the page cache when the power goes. The simulation's crash
# is such a power cut — whatever was not fsynced is gone. Below, the broker crashes, and we also
# leave half a batch at the end of the active segment, as a write cut short would. On restart,
# recovery validates every batch (its CRC-32C), rebuilds the indexes, and truncates the torn tail.
# That acknowledged data can vanish on a single broker is the reason replication exists.

# %%
acked_before_crash = producer.acked
end_before = log.log_end_offset
flushed = sum(s.flushed_size for s in log.segments)
active_path = log.active.log_path
cluster.crash("broker-1")
with open(active_path, "ab") as f:
    f.write(b"\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x01\x00half a batch")
cluster.restart("broker-1")
log = cluster.broker(1).logs.get(TopicPartition("events", 0))
print(f"log end offset before the crash: {end_before} (bytes fsynced: {flushed})")
print(f"after recovery: log end offset {log.log_end_offset}; "
      f"recovery cut {log.recovered_truncated_bytes} bytes")
print(f"acknowledged records lost: {end_before - log.log_end_offset}")
