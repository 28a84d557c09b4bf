"""``python -m exercises``: list the exercises, check your answer to one, verify them all.

Run it from the repository's root with the Python the README names (``.venv/bin/python``):

    python -m exercises list
    python -m exercises check 3                          # your exercises/03-*/starter.py
    python -m exercises check index-lookup --impl my.py  # any file of yours
    python -m exercises check 03 --reference             # reflog's own implementation
    python -m exercises verify   # CI: every exercise passes on the reference, fails on the starter

``check`` prints one verdict per test and exits 0 when all pass, 1 otherwise; a name that is no
exercise exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exercises.runner import Verdict, run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ALL_PASS, SOME_FAIL, USAGE = 0, 1, 2
TIME_LIMIT_S = 10  # per test: an endless loop in an answer fails its test, not the check


def exercises() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if p.is_dir() and (p / "starter.py").exists())


def find(name: str) -> Path | None:
    """An exercise by its folder name, its number (``3``, ``03``) or its name (``index-lookup``)."""
    for path in exercises():
        number, _, title = path.name.partition("-")
        if name in (path.name, title) or (name.isdigit() and int(name) == int(number)):
            return path
    return None


def description(exercise: Path) -> str:
    """The first line of the exercise's prompt, without its ``#``."""
    return (exercise / "README.md").read_text().splitlines()[0].lstrip("# ")


def python() -> str:
    """How the learner ran us, to repeat in hints: ``.venv/bin/python`` or ``python3``."""
    executable = Path(sys.executable)
    try:
        return str(executable.relative_to(ROOT))
    except ValueError:
        return executable.name


def show(exercise: Path, impl: Path, verdicts: list[Verdict]) -> None:
    try:
        shown = impl.resolve().relative_to(ROOT)
    except ValueError:
        shown = impl
    print(f"{exercise.name}: checking {shown}")
    for v in verdicts:
        print(f"  {'ok  ' if v.passed else 'FAIL'}  {v.test}")
        if not v.passed:
            print(f"          expected  {v.expected}")
            print(f"          got       {v.got}")
    passed = sum(v.passed for v in verdicts)
    if passed == len(verdicts):
        print(f"All {len(verdicts)} tests pass.")
    else:
        print(f"{passed} of {len(verdicts)} tests pass; edit {shown} and check again.")


def check(name: str, impl: Path | None, reference: bool) -> int:
    exercise = find(name)
    if exercise is None:
        names = ", ".join(path.name for path in exercises())
        print(f"exercises: no exercise {name!r}; choose one of {names}", file=sys.stderr)
        return USAGE
    if reference:
        impl = exercise / "reference.py"
    elif impl is None:
        impl = exercise / "starter.py"
    if not impl.is_file():
        print(f"exercises: no file {impl}", file=sys.stderr)
        return USAGE
    verdicts = run(exercise, impl, TIME_LIMIT_S)
    show(exercise, impl, verdicts)
    return ALL_PASS if all(v.passed for v in verdicts) else SOME_FAIL


def list_exercises() -> int:
    all_of_them = exercises()
    for exercise in all_of_them:
        print(f"{exercise.name:22} {description(exercise)}")
    example = all_of_them[0].name
    print(
        f"\nRead exercises/NAME/README.md, write your answer in exercises/NAME/starter.py, then\n"
        f"check one: {python()} -m exercises check {example}   (or by number: check 1)"
    )
    return ALL_PASS


def verify() -> int:
    """Every exercise's tests pass on the reference and at least one fails on the starter."""
    failures = 0
    for exercise in exercises():
        on_reference = run(exercise, exercise / "reference.py", TIME_LIMIT_S)
        on_starter = run(exercise, exercise / "starter.py", TIME_LIMIT_S)
        reference_fails = [v.test for v in on_reference if not v.passed]
        starter_passes = all(v.passed for v in on_starter)
        ok = not reference_fails and not starter_passes
        failures += not ok
        problem = (
            f"fails on the reference: {'; '.join(reference_fails)}"
            if reference_fails
            else "passes on the untouched starter"
            if starter_passes
            else "passes on the reference, fails on the starter"
        )
        print(f"{'ok  ' if ok else 'FAIL'}  {exercise.name}: {problem}")
    return SOME_FAIL if failures else ALL_PASS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"{python()} -m exercises")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the exercises")
    one = sub.add_parser("check", help="run one exercise's tests on your answer")
    one.add_argument("name", help="03-index-lookup, index-lookup, 03 or 3")
    which = one.add_mutually_exclusive_group()
    which.add_argument("--impl", type=Path, help="the file to test (default: its starter.py)")
    which.add_argument("--reference", action="store_true", help="test reflog's implementation")
    sub.add_parser("verify", help="every exercise passes on the reference, fails on the starter")
    args = parser.parse_args(argv)
    if args.command == "list":
        return list_exercises()
    if args.command == "check":
        return check(args.name, args.impl, args.reference)
    return verify()


if __name__ == "__main__":
    sys.exit(main())
