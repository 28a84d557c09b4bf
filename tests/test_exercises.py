"""Every exercise's tests pass on the reference and fail on the untouched starter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exercises.__main__ import PYTEST_TESTS_FAILED, exercises, run_tests  # noqa: E402

EXERCISES = exercises()


def test_there_are_exercises() -> None:
    assert len(EXERCISES) >= 2


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_exercise_passes_on_the_reference(exercise: Path) -> None:
    assert run_tests(exercise, exercise / "reference.py", quiet=True) == 0


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_exercise_fails_on_the_untouched_starter(exercise: Path) -> None:
    assert run_tests(exercise, exercise / "starter.py", quiet=True) == PYTEST_TESTS_FAILED
