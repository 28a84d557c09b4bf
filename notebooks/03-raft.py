# %% [markdown]
# # Raft: one log, agreed by a majority
#
# Kafka's controllers agree on the cluster's metadata with **KRaft**, a variant of Raft. Raft keeps
# one log identical on a majority of servers. A **leader**, elected for a numbered **term**, appends
# entries and replicates them; an entry is **committed** once a majority stores it, and a committed
# entry is never lost or changed, whatever crashes or partitions follow.
#
# This notebook runs reflog's Raft core (`reflog/raft/core.py`, a pure state machine) on five
# nodes of the kernel's simulated network. Each node keeps its term, vote and log in fsynced files;
# a crash forgets everything else. The run is seeded: every printed line is the same on every run.
# Two extensions from Ongaro's thesis are on: **PreVote** (before raising its term, a node asks
# whether it could win) and **CheckQuorum** (a leader that stops hearing from a majority steps
# down).
#
# *reflog simplification:* membership is fixed (no adding or removing voters), and proposals are not
# deduplicated (a client that retries may append its command twice).
#
# **How to use it:** every figure below was stored from a run, so the chapter reads before anything
# runs. Run ▸ Run All Cells (well under a minute) to run it yourself; the live view, whose buttons
# act on the running cluster, is in section “1. The first election” (and again in sections 4 and
# 5).

# %%
import atexit
import shutil
import tempfile
from pathlib import Path

from reflog.raft import RaftConfig, Role
from reflog.sim import LinkConfig, Simulation
from reflog.sim.raft_nodes import RaftSimNode
from reflog.sim.raft_quorum import RaftRecorder
from reflog.viz.raft import RaftView

ELECTION_TIMEOUT = 150  # ms: each node draws every timeout from [150, 300)
workdir = Path(tempfile.mkdtemp(prefix="reflog-raft-"))  # each node's files: <run>/<node>/
atexit.register(shutil.rmtree, workdir, True)


def quorum(seed, data_dir, *, pre_vote=True, n=5):
    """n Raft nodes on a seeded network (2-8 ms per message), their files under data_dir."""
    sim = Simulation(seed, LinkConfig(latency_ms_min=2, latency_ms_max=8))
    names = [f"n{i}" for i in range(n)]
    config = RaftConfig(
        election_timeout_ms=ELECTION_TIMEOUT, heartbeat_interval_ms=50, pre_vote=pre_vote
    )
    nodes = {name: RaftSimNode(name, names, config, data_dir) for name in names}
    for node in nodes.values():
        sim.add_node(node)
    return sim, nodes


sim, nodes = quorum(seed=7, data_dir=workdir / "main")
raft = RaftRecorder(sim, nodes)  # steps the simulation and records a frame per busy millisecond
print(raft.describe())

# %% [markdown]
# `describe()` prints one line per node: its role, term, commit index, and its log — one number
# per entry, the term that wrote it (`term:data` for a proposal), with `|` after the last committed
# entry.

# %% [markdown]
# ## 1. The first election
#
# All five start as followers in term 0. The first whose timeout expires asks the others for
# **pre-votes**; with a majority of yeses it becomes a **candidate** in term 1, votes for itself and
# asks for real votes. Each node gives one vote per term, and only to a candidate whose log is at
# least as up to date as its own. Three votes of five make a leader, which at once appends an empty
# entry of its own term and sends heartbeats (empty AppendEntries).

# %%
raft.run_until(lambda: raft.leader() is not None, timeout_ms=2_000)
leader = raft.leader()
print(f"t = {sim.now_ms} ms: {leader} leads term {raft.term_of(leader)}")
raft.run_for(200)
print(raft.describe())

# %% [markdown]
# The view draws the recorded run. Node colour is the role (green leader, orange pre-candidate,
# red candidate, blue follower, grey down) and `T` the term. Markers between nodes are messages in
# flight: diamonds are (pre-)vote requests, squares AppendEntries, open circles the replies. On the
# right, each log: a box per entry coloured by term, filled once committed; the black bar is the
# commit index. Drag the slider to frame 0 to replay the election. The buttons act on the live
# cluster, and the view follows the cells below as they run. (Opened without running it, the
# notebook shows the run it recorded: its slider and ▶ replay that recording.)

# %% tags=["nbval-ignore-output"]
RaftView(raft)

# %% [markdown]
# ## 2. The leader dies
#
# Followers reset their election timer on every heartbeat. When the leader crashes the heartbeats
# stop, and the first follower to time out runs for term 2. Its pre-vote succeeds because nobody has
# heard from a leader for a whole (minimum) election timeout.

# %%
old_leader = raft.leader()
raft.crash(old_leader)
crashed_at = sim.now_ms
raft.run_until(lambda: raft.leader() not in (None, old_leader), timeout_ms=2_000)
new_leader = raft.leader()
print(f"{old_leader} crashed at {crashed_at} ms; {sim.now_ms - crashed_at} ms later "
      f"{new_leader} leads term {raft.term_of(new_leader)}")
raft.run_for(200)
print(raft.describe())

# %% [markdown]
# The old leader restarts from its files: its term and log are there, but its commit index is
# volatile and starts over from 0 (from its snapshot, when it has one). The first heartbeat of the
# new term makes it a follower and tells it what is committed.

# %%
raft.restart(old_leader)
print(f"{old_leader} restarts: term {raft.term_of(old_leader)}, "
      f"commit index {nodes[old_leader].node.commit_index}")
raft.run_for(200)
print(raft.describe())

# %% [markdown]
# ## 3. A leader in a minority
#
# Cut the leader and one follower off from the other three. The leader still accepts a proposal,
# `x`, and replicates it to the follower it can reach — but two of five is not a majority, so `x`
# does not commit. After an election timeout without replies from a majority, CheckQuorum makes
# the leader step down; from then on the two keep asking for pre-votes in vain, and their term
# stays. The three on the other side elect a leader of a higher term, which commits `y`. For a
# while two nodes may both believe they lead, in different terms: that is safe, because only one of
# them can reach a majority.

# %%
leader = raft.leader()
buddy = next(n for n in raft.names if n != leader)
majority = [n for n in raft.names if n not in (leader, buddy)]
raft.isolate(leader, buddy)
x = raft.propose(b"x", on=leader)
print(f"t = {sim.now_ms} ms: {leader} and {buddy} cut off from {', '.join(majority)}")
print(f"{leader} appends x at index {x.index} (term {x.term})")

happened = {}  # what -> when (ms): run until both sides have moved on


def both_sides_moved_on():
    if nodes[leader].role != Role.LEADER:
        happened.setdefault(f"{leader} steps down (CheckQuorum)", sim.now_ms)
    if raft.leader() in majority:
        side = f"{raft.leader()} leads term {raft.term_of(raft.leader())} on the majority side"
        happened.setdefault(side, sim.now_ms)
    return len(happened) == 2


raft.run_until(both_sides_moved_on, timeout_ms=2_000)
for what, at in sorted(happened.items(), key=lambda item: item[1]):
    print(f"t = {at} ms: {what}")
majority_leader = raft.leader()
y = raft.propose(b"y", on=majority_leader)
raft.run_for(200)
committed = nodes[majority_leader].node.commit_index >= y.index
print(f"{majority_leader} appended y at index {y.index}; y committed: {committed}")
print(raft.describe())

# %% [markdown]
# ## 4. Heal: the minority's uncommitted entry is overwritten
#
# After the heal, the new leader's AppendEntries reach the two stragglers. Their term is lower, so
# they follow it. Their logs disagree with the leader's where `x` is; the consistency check
# (`prev_log_index`, `prev_log_term`) fails, the leader backs up, and each follower **truncates**
# `x` and takes the leader's entries. Nothing committed is lost: `x` never was, so no client was
# told it succeeded.

# %%
print("before the heal:")
print(raft.describe())
raft.heal()
raft.run_for(300)
print("300 ms after the heal:")
print(raft.describe())

# %% [markdown]
# Scrub back through the partition and the heal (the status line names the last action).

# %% tags=["nbval-ignore-output"]
RaftView(raft)


# %% [markdown]
# ## 5. PreVote: a rejoining node does not disrupt the leader
#
# A follower cut off from everyone hears no heartbeats and times out again and again. Without
# PreVote each timeout is a real election that raises its term. When it rejoins, its reply to the
# leader's next AppendEntries carries that higher term, and the leader, seeing a higher term, steps
# down: an election nobody needed. With PreVote the isolated node only asks whether it *could* win,
# without touching its term; nobody can answer, so its term never moves and it rejoins quietly.
# The same seed, with and without PreVote:

# %%
def rejoin(pre_vote):
    sim, nodes = quorum(seed=11, data_dir=workdir / f"pre_vote={pre_vote}", pre_vote=pre_vote)
    run = RaftRecorder(sim, nodes)
    run.run_until(lambda: run.leader() is not None, timeout_ms=2_000)
    run.run_for(300)
    leader = run.leader()
    loner = next(n for n in run.names if n != leader)

    def terms():
        return " ".join(f"{n}:{run.term_of(n)}" for n in run.names)

    print(f"pre_vote={pre_vote}: {leader} leads, terms {terms()}")
    run.isolate(loner)
    run.run_for(1_000)
    print(f"  {loner} isolated for 1 s:   terms {terms()}")
    run.heal()
    healed = len(run.frames)
    run.run_for(500)
    print(f"  500 ms after the heal: {run.leader()} leads, terms {terms()}")
    leaders = {}  # term -> who led it, after the heal
    for frame in run.frames[healed:]:
        if frame.leader is not None:
            leaders.setdefault(frame.node(frame.leader).term, frame.leader)
    print("  leaders after the heal: " + ", ".join(f"{n} in term {t}" for t, n in leaders.items()))
    return run


with_pre_vote = rejoin(pre_vote=True)
without_pre_vote = rejoin(pre_vote=False)

# %% [markdown]
# Without PreVote the loner's higher term deposes a healthy leader, and the cluster needs new
# elections before anyone leads again (the other followers, still hearing from the old leader
# moments ago, ignore the first candidates). Replay that run: the loner's term climbs while it is
# alone; just after the heal the leader turns blue.

# %% tags=["nbval-ignore-output"]
RaftView(without_pre_vote)


# %% [markdown]
# ## 6. How long is there no leader?
#
# Over 300 seeds: elect a leader, let it settle, crash it at some moment between two heartbeats,
# and measure until another node leads. A follower's timer started at its last heartbeat, up to
# 50 ms before the crash, and runs 150 to 300 ms; a pre-vote and a vote round trip follow. When two
# nodes time out together and split the vote, it takes another timeout: that is the tail past 2×.

# %%
def leader_of(nodes):
    leaders = [n for n, node in nodes.items() if node.role == Role.LEADER]
    return max(leaders, key=lambda n: nodes[n].node.current_term, default=None)


def time_to_new_leader(seed):
    with tempfile.TemporaryDirectory() as data_dir:
        sim, nodes = quorum(seed, Path(data_dir))
        sim.run_until(lambda: leader_of(nodes) is not None, 5_000)
        sim.run_for(300 + seed % 50)  # crash at a different moment between two heartbeats
        old = leader_of(nodes)
        sim.crash(old)
        crashed_at = sim.now_ms
        sim.run_until(lambda: leader_of(nodes) not in (None, old), 5_000)
        return sim.now_ms - crashed_at


times = [time_to_new_leader(seed) for seed in range(300)]
ordered = sorted(times)
p50, p90, p99 = (ordered[int(q * len(ordered))] for q in (0.5, 0.9, 0.99))
print(f"{len(times)} seeds: median {p50} ms, p90 {p90} ms, p99 {p99} ms, max {ordered[-1]} ms")
for limit in (ELECTION_TIMEOUT, 2 * ELECTION_TIMEOUT):
    print(f"new leader within {limit} ms: {sum(t <= limit for t in times) / len(times):.0%}")

# %% tags=["nbval-ignore-output"]
import plotly.graph_objects as go

from reflog.viz.static import show

figure = go.Figure(
    data=[go.Histogram(x=times, xbins={"size": 10}, name="seeds")],
    layout=go.Layout(
        title="Time from the leader's crash to a new leader (300 seeds)",
        xaxis={"title": "ms after the crash"},
        yaxis={"title": "seeds"},
        height=360,
        bargap=0.05,
    ),
)
figure.add_vline(x=ELECTION_TIMEOUT, line_dash="dash", annotation_text="election timeout")
figure.add_vline(x=2 * ELECTION_TIMEOUT, line_dash="dot", annotation_text="2 × timeout")
show(figure)

# %% [markdown]
# ## 7. How KRaft differs
#
# * **Pull, not push.** A KRaft follower replicates by sending `Fetch` requests to the leader, as a
#   partition's follower does; the leader learns each follower's position from its fetch offset
#   and advances the high watermark (the commit index) from those. Raft's leader pushes
#   AppendEntries instead. A follower that gets no fetch response for
#   `controller.quorum.fetch.timeout.ms` starts an election (KRaft calls the term an **epoch**).
# * **Observers.** Only controllers vote. Brokers are **observers**: they fetch the metadata log to
#   learn the cluster's state but never vote and never count toward the majority.
# * **The log is a Kafka topic.** The metadata log is the single-partition topic
#   `__cluster_metadata`, stored as ordinary segments; its snapshots are `.checkpoint` files named
#   by the offset and epoch they cover, and the log before a snapshot can be deleted.
