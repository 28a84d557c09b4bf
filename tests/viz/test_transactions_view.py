"""The transactions view and the timeline it reads: the coordinator's state for a
transactional id, each partition's markers, open and aborted transactions and last stable
offset, and a consume-transform-produce processor whose results read_committed holds once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from plotly.basedatatypes import Undefined

from reflog.groups.config import GroupConfig
from reflog.sim import Cluster
from reflog.transactions.config import TxnConfig
from reflog.viz.transactions import (
    KINDS,
    PROCESSOR_LINES,
    STATE_POSITIONS,
    TransactionView,
    classify_offsets,
    state_changes,
    transaction_at_coordinator,
)

TXN_ID = "upper"


def pipeline(data_dir: Path, seed: int = 3) -> Cluster:
    cluster = Cluster(
        seed=seed,
        brokers=3,
        data_dir=data_dir,
        groups=GroupConfig(offsets_topic_num_partitions=3),
        transactions=TxnConfig(transaction_state_log_num_partitions=3),
    )
    cluster.create_topic("in", 1, replication_factor=3)
    cluster.create_topic("out", 3, replication_factor=3)
    cluster.add_producer("source", "in", rate_per_s=20)
    cluster.add_processor("p1", "in", "out", transactional_id=TXN_ID, group_id="g")
    cluster.add_consumer("uncommitted", "out")
    cluster.add_consumer("committed", "out", isolation_level="read_committed")
    cluster.run_for(2_000)
    return cluster


def values(cluster: Cluster, consumer: str) -> Counter[bytes]:
    return Counter(r.value or b"" for r in cluster.consumers[consumer].records)


def test_the_coordinator_s_states_are_recorded_with_kafka_s_names(tmp_path: Path) -> None:
    cluster = pipeline(tmp_path)
    states = [state for _, state, _ in state_changes(cluster.timeline, TXN_ID)]
    assert states[0] == "Empty"
    assert states[1:5] == ["Ongoing", "PrepareCommit", "CompleteCommit", "Ongoing"]
    txn = transaction_at_coordinator(cluster.snapshot(), TXN_ID)
    assert txn is not None and txn.producer_epoch == 0


def test_an_open_transaction_holds_the_last_stable_offset_below_the_high_watermark(
    tmp_path: Path,
) -> None:
    cluster = pipeline(tmp_path)
    processor = cluster.producers["p1"]
    cluster.run_until(lambda: processor.sent > 0 and processor.acked == processor.sent)
    cluster.run_until(lambda: processor.phase == "open" and processor.acked == processor.sent)
    snapshot = cluster.snapshot()
    held = []
    for p in snapshot.topic("out"):
        leader = p.replica(p.leader)
        if leader.ongoing:
            [(_, first)] = leader.ongoing
            assert leader.last_stable_offset == first < leader.high_watermark
            assert classify_offsets(leader)[first] == "open"
            held.append(p.partition)
    assert held  # the open transaction wrote to at least one partition


def test_an_aborted_transaction_is_marked_and_never_read_committed(tmp_path: Path) -> None:
    cluster = pipeline(tmp_path)
    processor = cluster.producers["p1"]
    processor.abort_next = True
    cluster.run_until(lambda: processor.aborted_txns == 1)
    cluster.run_for(1_000)
    aborted = values(cluster, "uncommitted") - values(cluster, "committed")
    assert aborted  # read_uncommitted was given the aborted results
    committed = values(cluster, "committed")
    assert all(n == 1 for n in committed.values())  # each result once
    assert set(aborted) <= set(committed)  # and the inputs were processed again, committed
    kinds = Counter()
    for p in cluster.snapshot().topic("out"):
        kinds.update(classify_offsets(p.replica(p.leader)).values())
    assert kinds["ABORT marker"] >= 1 and kinds["aborted"] == sum(aborted.values())
    assert set(kinds) <= set(KINDS)


def test_a_successor_fences_a_killed_processor_s_open_transaction(tmp_path: Path) -> None:
    cluster = pipeline(tmp_path)
    first = cluster.producers["p1"]
    cluster.run_until(lambda: first.phase == "open" and first.sent > first.acked)
    cluster.run_until(lambda: first.acked == first.sent)  # its results are in the log
    cluster.crash("p1")
    cluster.crash("p1-in")
    second = cluster.add_processor("p2", "in", "out", transactional_id=TXN_ID, group_id="g")
    cluster.run_until(lambda: second.committed_txns >= 2, timeout_ms=5_000)
    changes = state_changes(cluster.timeline, TXN_ID)
    after = [(state, epoch) for at, state, epoch in changes if at >= cluster.actions[-3].at_ms]
    assert ("PrepareAbort", 1) in after and ("Empty", 2) in after
    cluster.run_for(500)
    committed = values(cluster, "committed")
    assert committed and all(n == 1 for n in committed.values())


def test_the_view_draws_markers_and_the_current_state(tmp_path: Path) -> None:
    cluster = pipeline(tmp_path)
    view = TransactionView(cluster, TXN_ID, "out", "uncommitted", "committed")
    states = view.figure.data[2]
    txn = transaction_at_coordinator(cluster.timeline.latest, TXN_ID)
    assert txn is not None
    highlighted = [n for n, c in zip(states.hovertext, states.marker.color, strict=True)
                   if c != "white"]  # fmt: skip
    assert highlighted == [txn.state]
    commit_markers = view.figure.data[4 + list(KINDS).index("COMMIT marker")]
    assert len(commit_markers.x) > 0 and set(commit_markers.text) == {"C"}
    assert view.figure.data[3].text == ("p1: up, epoch 0",)
    view.buttons["kill the processor"].click()
    assert not cluster.sim.is_up("p1")
    assert view.figure.data[3].text == ("p1: down",)
    view.buttons["start a successor"].click()
    assert "p1-2" in cluster.producers or "p2" in cluster.producers
    assert len(view.static_figure().frames) > 1


def test_a_draw_goes_to_the_browser_as_one_update_that_leaves_no_property_undefined(
    tmp_path: Path,
) -> None:
    # Property by property, JupyterLab's plotly.js was seen to leave a trace half drawn; in a
    # batch, a property undefined on a trace reaches plotly.js as "_undefined_", resetting it.
    cluster = pipeline(tmp_path)
    view = TransactionView(cluster, TXN_ID, "out", "uncommitted", "committed")
    sent: list[tuple[str, Any]] = []
    view.figure.observe(
        lambda change: sent.append((change["name"], change["new"])),
        names=["_py2js_update", "_py2js_restyle", "_py2js_relayout"],
    )
    view.controls.slider.value = len(cluster.timeline) // 4  # scrub back: most traces change
    view.buttons["kill the processor"].click()  # live again, then drawn with p1 down
    view.buttons["start a successor"].click()
    messages = [(name, msg) for name, msg in sent if msg is not None]
    assert [name for name, _ in messages] == ["_py2js_update"] * 4  # one a draw
    for _, msg in messages:
        for prop, per_trace in msg["style_data"].items():
            for index, value in zip(msg["style_traces"], per_trace, strict=True):
                # Left undefined only where that kind of trace has no such property (a bar's
                # base on a scatter), which plotly.js keeps aside and draws nothing from.
                assert value is not Undefined or prop not in view.figure.data[index], prop
    assert view.figure.data[3].text == ("p1: down", "p1-2: starting")


def test_the_processor_lines_stay_below_every_state_and_its_label(tmp_path: Path) -> None:
    cluster = pipeline(tmp_path)
    view = TransactionView(cluster, TXN_ID, "out", "uncommitted", "committed")
    lowest_state = min(y for _, y in STATE_POSITIONS.values())
    label_depth = 1.2  # the marker and a two-line label below it, in the panel's y units
    bottom = view.figure.layout.yaxis.range[0]  # the state panel is the first subplot
    for n in range(2, 7):
        view.buttons["kill the processor"].click()
        view.buttons["start a successor"].click()
        lines = view.figure.data[3]
        shown = min(n, PROCESSOR_LINES)
        assert len(lines.text) == len(lines.y) == shown
        assert lines.text[-1] == f"p1-{n}: starting"  # the newest, last
        for y in lines.y:
            assert y <= lowest_state - label_depth
            assert y >= bottom + 0.15  # inside the panel, half a line (at ~40 px a unit) clear


def test_a_processor_whose_successor_has_a_newer_epoch_is_shown_fenced(tmp_path: Path) -> None:
    cluster = pipeline(tmp_path)
    view = TransactionView(cluster, TXN_ID, "out", "uncommitted", "committed")
    view.buttons["start a successor"].click()  # while p1 still runs: p1 becomes a zombie
    [successor] = [name for name in cluster.producers if name != "p1" and "p" in name[:1]]

    def successor_has_an_epoch() -> bool:
        return cluster.timeline.latest.producer(successor).producer_epoch >= 0

    cluster.run_until(successor_has_an_epoch, timeout_ms=10_000)
    view.controls.redraw()
    lines = dict(line.split(": ", 1) for line in view.figure.data[3].text)
    newest = cluster.timeline.latest.producer(successor).producer_epoch
    assert lines[successor] == f"up, epoch {newest}"
    assert lines["p1"].startswith("fenced, epoch ")
    assert "p1 (fenced, epoch" in view.status.value
