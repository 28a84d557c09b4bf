"""Every exercise's tests pass on the reference and fail on the untouched starter, and
``python -m exercises`` tells a learner, one line each, what was expected and what came back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exercises.__main__ import exercises, find  # noqa: E402
from exercises.runner import run  # noqa: E402

EXERCISES = exercises()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m exercises ARGS`` as a learner runs it: from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "exercises", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_there_are_exercises() -> None:
    assert len(EXERCISES) >= 2


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_exercise_passes_on_the_reference(exercise: Path) -> None:
    failed = [v for v in run(exercise, exercise / "reference.py") if not v.passed]
    assert failed == []


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_exercise_fails_on_the_untouched_starter(exercise: Path) -> None:
    verdicts = run(exercise, exercise / "starter.py")
    assert len(verdicts) > 1  # the starter loads: its tests ran
    failed = [v for v in verdicts if not v.passed]
    assert failed, "every test passes on the starter: the tests do not bite"
    assert all(v.expected and v.got for v in failed)


def test_an_exercise_is_found_by_its_number_or_its_name() -> None:
    lookup = ROOT / "exercises" / "03-index-lookup"
    for name in ("3", "03", "index-lookup", "03-index-lookup"):
        assert find(name) == lookup
    assert find("index") is None and find("99") is None


def test_check_prints_a_verdict_per_test_and_exits_0_when_all_pass() -> None:
    result = cli("check", "3", "--reference")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "03-index-lookup: checking exercises/03-index-lookup/reference.py",
        "  ok    Floor finds the last entry at or below",
        "  ok    Floor below the first entry is none",
        "  ok    Floor uses binary search",
        "  ok    Scan finds the batch holding the offset",
        "  ok    Scan starts at the floor and reads few headers",
        "  ok    Scan past the end is none",
        "All 6 tests pass.",
    ]
    assert result.stderr == ""  # no warnings


def test_a_failing_check_says_what_was_expected_and_what_came_back_and_exits_1() -> None:
    result = cli("check", "index-lookup")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    at = lines.index("  FAIL  Floor below the first entry is none")
    assert lines[at + 1 : at + 3] == [
        "          expected  floor_entry([(10, 0)], 5) is None",
        "          got       NotImplementedError (starter.py line 8)",
    ]
    assert lines[-1] == (
        "0 of 6 tests pass; edit exercises/03-index-lookup/starter.py and check again."
    )
    assert "Traceback" not in result.stdout and result.stderr == ""


def test_a_wrong_answer_shows_both_values(tmp_path: Path) -> None:
    answer = tmp_path / "mine.py"
    answer.write_text("def advance_commit_index(log_terms, term, matches, commit):\n    return 0\n")
    result = cli("check", "07", "--impl", str(answer))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    at = lines.index("  FAIL  An entry on a majority commits")
    assert lines[at + 1 : at + 3] == [
        "          expected  advance_commit_index([1, 1, 1], 1, [3, 3, 0, 0], 0) == 3",
        "          got       0",
    ]
    assert "  ok    An entry on a minority does not" in lines
    assert lines[-1].startswith("1 of 9 tests pass;")


def test_a_missing_exception_and_a_loop_variable_are_named(tmp_path: Path) -> None:
    answer = tmp_path / "mine.py"
    answer.write_text(
        "def zigzag_encode(value, bits):\n    return 0\n\n"
        "def zigzag_decode(value):\n    return value\n\n"
        "def read_varint(buf, pos=0):\n    return 0, pos\n"
    )
    lines = cli("check", "varints", "--impl", str(answer)).stdout.splitlines()
    at = lines.index("  FAIL  Zigzag refuses values that do not fit")
    assert lines[at + 1 : at + 3] == [
        "          expected  zigzag_encode(2**31, 32) raises ValueError",
        "          got       no exception",
    ]
    at = lines.index("  FAIL  Zigzag decode inverts encode")
    assert (
        lines[at + 1]
        == "          expected  zigzag_decode(zigzag_encode(v, 32)) == -1   (where v = -1)"
    )


def test_an_endless_loop_fails_its_test_instead_of_hanging_the_check(tmp_path: Path) -> None:
    answer = tmp_path / "mine.py"
    answer.write_text(
        "def zigzag_encode(value, bits):\n    return 0\n\n"
        "def zigzag_decode(value):\n    return value\n\n"
        "def read_varint(buf, pos=0):\n    while True:\n        pos += 1\n"
    )
    verdicts = run(EXERCISES[0], answer, time_limit_s=0.05)
    [stuck] = [v for v in verdicts if v.test == "Read one byte varints"]
    assert stuck.expected == 'read_varint(b"\\x00") == (0, 1)'
    # Line 8 or 9, wherever in the loop the timer fired.
    assert stuck.got.startswith("still running after 0.05 s: an endless loop? (mine.py line ")


def test_a_file_that_does_not_load_gets_one_verdict(tmp_path: Path) -> None:
    answer = tmp_path / "mine.py"
    answer.write_text("def advance_commit_index(a, b, c, d):\n    return 0 +\n")
    result = cli("check", "7", "--impl", str(answer))
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:4] == [
        "  FAIL  mine.py loads",
        "          expected  it imports cleanly",
        "          got       SyntaxError: invalid syntax (mine.py line 2)",
    ]


def test_an_unknown_exercise_gets_one_line_naming_the_valid_ones() -> None:
    result = cli("check", "raft")
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("exercises: no exercise 'raft'; choose one of 01-varints, ")
    assert all(exercise.name in line for exercise in EXERCISES)


def test_list_describes_each_exercise_and_says_how_to_check_one() -> None:
    result = cli("list")
    assert result.returncode == 0 and result.stderr == ""
    assert "03-index-lookup        Index lookup: finding an offset in a segment" in result.stdout
    assert len(result.stdout.splitlines()) == len(EXERCISES) + 3
    last = result.stdout.splitlines()[-1]
    assert last.startswith("check one: ") and " -m exercises check 01-varints" in last


def test_verify_passes_every_exercise() -> None:
    result = cli("verify")
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("passes on the reference, fails on the starter") == len(EXERCISES)
