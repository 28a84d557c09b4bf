"""The Raft transcripts (testdata/*.txt): each scenario replayed on the Raft core must print
exactly what its file says. REFLOG_REWRITE=1 rewrites the files instead (then read the diff)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from .transcripts import replay

TESTDATA = Path(__file__).resolve().parent / "testdata"


def check(name: str) -> None:
    path = TESTDATA / f"{name}.txt"
    expected = path.read_text()
    actual = replay(expected)
    if os.environ.get("REFLOG_REWRITE") == "1":
        path.write_text(actual)
        return
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm=""
    )
    assert actual == expected, f"{path.name} differs (REFLOG_REWRITE=1 rewrites it):\n" + "\n".join(
        diff
    )


def test_initial_election() -> None:
    check("initial_election")


def test_reelection_after_leader_crash() -> None:
    check("reelection_after_leader_crash")


def test_prevote_stops_a_disruptive_candidate() -> None:
    check("prevote_stops_a_disruptive_candidate")


def test_without_prevote_a_disruptive_candidate_deposes_the_leader() -> None:
    check("without_prevote_a_disruptive_candidate_deposes_the_leader")


def test_check_quorum_leader_steps_down() -> None:
    check("check_quorum_leader_steps_down")


def test_log_replication_and_commit() -> None:
    check("log_replication_and_commit")


def test_figure_8_old_term_entries_do_not_commit_by_counting() -> None:
    check("figure_8_old_term_entries_do_not_commit_by_counting")


def test_follower_far_behind_commits_only_what_it_has() -> None:
    check("follower_far_behind_commits_only_what_it_has")


def test_snapshot_install() -> None:
    check("snapshot_install")


def test_every_transcript_has_a_test() -> None:
    tests = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    files = {path.stem for path in TESTDATA.glob("*.txt")}
    assert tests - files == {"every_transcript_has_a_test"}
    assert files - tests == set()
