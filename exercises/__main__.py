"""``python -m exercises``: list exercises, check a solution, verify them all.

python -m exercises list
python -m exercises check 01-varints                 # your starter.py
python -m exercises check 01-varints --impl my.py    # any file of yours
python -m exercises check 01-varints --reference     # reflog's own implementation
python -m exercises verify     # CI: every exercise passes on the reference
                               # and fails on the untouched starter
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTEST_TESTS_FAILED = 1


def exercises() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if p.is_dir() and (p / "starter.py").exists())


def find(name: str) -> Path:
    for path in exercises():
        if path.name == name or path.name.split("-", 1)[-1] == name:
            return path
    raise SystemExit(f"exercises: no exercise named {name!r} (try `python -m exercises list`)")


def run_tests(exercise: Path, impl: Path, quiet: bool) -> int:
    env = {**os.environ, "REFLOG_EXERCISE_IMPL": str(impl.resolve())}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-n",
        "0",
        "--rootdir",
        str(HERE),
        "-c",
        os.devnull,
        str(exercise),
    ]
    output = subprocess.DEVNULL if quiet else None
    return subprocess.call(command, env=env, cwd=ROOT, stdout=output, stderr=output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exercises")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the exercises")
    check = sub.add_parser("check", help="run one exercise's tests")
    check.add_argument("name")
    group = check.add_mutually_exclusive_group()
    group.add_argument("--impl", type=Path, help="the file to test (default: its starter.py)")
    group.add_argument("--reference", action="store_true", help="test reflog's implementation")
    sub.add_parser("verify", help="every exercise passes on the reference, fails on the starter")
    args = parser.parse_args(argv)

    if args.command == "list":
        for path in exercises():
            title = (path / "README.md").read_text().splitlines()[0].lstrip("# ")
            print(f"{path.name:20} {title}")
        return 0
    if args.command == "check":
        exercise = find(args.name)
        impl = exercise / "reference.py" if args.reference else args.impl or exercise / "starter.py"
        return run_tests(exercise, impl, quiet=False)
    failures = 0
    for exercise in exercises():
        on_reference = run_tests(exercise, exercise / "reference.py", quiet=True)
        on_starter = run_tests(exercise, exercise / "starter.py", quiet=True)
        ok = on_reference == 0 and on_starter == PYTEST_TESTS_FAILED
        failures += not ok
        print(
            f"{'ok  ' if ok else 'FAIL'} {exercise.name}: reference exit {on_reference} "
            f"(want 0), starter exit {on_starter} (want {PYTEST_TESTS_FAILED}: tests fail)"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
