"""Mutation testing of reflog's pure cores: one deliberate bug at a time, each run against
its own area's tests, and a report of the bugs no test caught (``make mutants``).

A *mutant* is reflog with one small change a hurried programmer could make: ``>`` for
``>=``, ``and`` for ``or``, a ``not`` added or dropped, a number changed, a loop that runs
zero times. cosmic-ray makes them and runs a test command against each; a mutant the tests
fail on is *killed*, one they pass on *survives*. A survivor is either a gap in the tests
(write the test that kills it) or an *equivalent* mutant, a change that cannot alter what
reflog does: those are listed, with the reason, in ``scripts/mutants_explained.toml``.

    python scripts/mutants.py                        # every core file (about an hour)
    python scripts/mutants.py reflog/raft/core.py    # one file, against its area's tests
    python scripts/mutants.py --survivors reflog/raft/core.py  # its last survivors again
    python scripts/mutants.py --report-only          # the report again, from stored results

The mutants are made in a copy of the work tree (under the system's temporary directory), so
the tree you work in is never touched; the report goes to ``reports/mutants.md``. Not in CI:
it is slow. Run it with ``nice``: the tests of every mutant run one after the other.

reflog simplification: only the classic "sufficient" operators are kept (boundaries and
negations of comparisons, + and - swapped, and/or, not, constants, zero-iteration loops);
cosmic-ray's full set would replace every ``+`` by ten other operators.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "mutants.md"
RESULTS = ROOT / "reports" / "mutants.json"  # every file's last run: a run of some files
EXPLAINED = ROOT / "scripts" / "mutants_explained.toml"
TIMEOUT_S = 120.0  # per mutant: one that loops forever counts as killed when it runs out


@dataclass(frozen=True)
class Area:
    """Core files and the tests that guard them (a fast subset, fastest files first)."""

    name: str
    files: tuple[str, ...]
    tests: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    deselect: str = ""  # a pytest -k expression for the slow tests left out


AREAS = (
    Area(
        "raft",
        ("reflog/raft/core.py",),
        (
            "tests/raft/test_raft_core.py",
            "tests/raft/test_transcripts.py",
            "tests/raft/test_raft_scenarios.py",
            "tests/raft/test_raft_lab.py",
        ),
        {"REFLOG_RAFT_SEEDS": "10"},
    ),
    Area(
        "replication",
        tuple(
            f"reflog/replication/{name}.py"
            for name in (
                "partition",
                "epoch_cache",
                "truncation",
                "fetcher",
                "replica_manager",
                "delayed_produce",
            )
        ),
        (
            "tests/replication/test_partition.py",
            "tests/replication/test_epoch_cache_and_truncation.py",
            "tests/replication/test_replication_faults.py",
            "tests/replication/test_replication_sim.py",
        ),
        {"REFLOG_REPLICATION_SEEDS": "5"},
        # The old truncation rule's data loss (a search over seeds, and its regression seeds)
        # is truncation.py's story; the random schedules of the new rule stay in.
        "not the_old_high_watermark_rule_loses and not regression_seeds",
    ),
    Area(
        "storage",
        tuple(
            f"reflog/storage/{name}.py"
            for name in (
                "index",
                "segment",
                "log",
                "partition_log",
                "log_manager",
                "log_config",
                "log_validator",
                "topic_config",
                "retention",
                "cleaner",
                "file_cache",
                "dir_lock",
            )
        ),
        ("tests/storage", "tests/broker/test_log_validator.py"),
    ),
    Area(
        "broker",
        ("reflog/broker.py",),
        ("tests/broker", "tests/replication/test_replication_sim.py"),
    ),
)

# The operators kept (cosmic-ray's names, matched in full); every other one is skipped.
KEPT_OPERATORS = (
    r"core/NumberReplacer",
    r"core/AddNot",
    r"core/ReplaceUnaryOperator_Delete_Not",
    r"core/ReplaceUnaryOperator_Delete_USub",
    r"core/ReplaceAndWithOr",
    r"core/ReplaceOrWithAnd",
    r"core/ReplaceTrueWithFalse",
    r"core/ReplaceFalseWithTrue",
    r"core/ZeroIterationForLoop",
    r"core/ReplaceBreakWithContinue",
    r"core/ReplaceContinueWithBreak",
    r"core/ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Add|FloorDiv_Mul|BitOr_BitAnd)",
    # a boundary moved (> for >=) or the test negated (> for <=)
    r"core/ReplaceComparisonOperator_(Gt_GtE|Gt_LtE|GtE_Gt|GtE_Lt|Lt_LtE|Lt_GtE|LtE_Lt|LtE_Gt)",
    r"core/ReplaceComparisonOperator_(Eq_NotEq|NotEq_Eq|Is_IsNot|IsNot_Is|In_NotIn|NotIn_In)",
)


@dataclass(frozen=True)
class Mutant:
    file: str
    line: int
    function: str
    operator: str
    before: str  # the line as written
    after: str  # the line as the mutant has it
    outcome: str  # killed, survived, incompetent (the mutant does not even run)


def area_of(file: str) -> Area:
    for area in AREAS:
        if file in area.files:
            return area
    raise SystemExit(f"mutants: {file} is not a core file of any area")


def copy_work_tree(into: Path) -> None:
    """The tracked and new (not ignored) files, as they are now, committed or not."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


# Without the notebook and parallel-run plugins pytest starts in a second, not five.
PYTEST = "-m pytest -x -q -p no:cacheprovider -p no:nbval -p no:xdist"


def config_toml(file: str, area: Area) -> str:
    tests = " ".join(area.tests)
    deselect = f" -k '{area.deselect}'" if area.deselect else ""
    command = f"{sys.executable} {PYTEST}{deselect} {tests}"
    # Exclude every operator that no kept pattern matches in full.
    kept = "|".join(f"(?:{p})" for p in KEPT_OPERATORS)
    return (
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(file)}\n"
        f"timeout = {TIMEOUT_S}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = [{json.dumps(f'(?!(?:{kept})$)')}]\n"
    )


def cosmic_ray(tool: str, *args: str, cwd: Path, env: dict[str, str]) -> None:
    binary = Path(sys.executable).parent / tool
    subprocess.run([str(binary), *args], cwd=cwd, env=env, check=True, capture_output=True)


def skip_all_but(session: Path, keep: set[tuple[int, str]]) -> None:
    """Mark as skipped every pending mutant whose (line, operator) is not in ``keep``."""
    from cosmic_ray.work_db import WorkDB, use_db  # type: ignore[import-untyped]
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # type: ignore[import-untyped]

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            [mutation] = item.mutations
            if (mutation.start_pos[0], mutation.operator_name.removeprefix("core/")) not in keep:
                skipped = WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not run again")
                db.set_result(item.job_id, skipped)


def mutate(file: str, copy: Path, only: set[tuple[int, str]] | None = None) -> list[Mutant]:
    """Every mutant of ``file`` against its area's tests; with ``only``, just the mutants on
    those (line, operator) pairs."""
    area = area_of(file)
    env = {**os.environ, **area.env}
    config = copy / f"mutants-{area.name}.toml"
    session = copy / f"mutants-{Path(file).stem}.sqlite"
    config.write_text(config_toml(file, area))
    session.unlink(missing_ok=True)
    cosmic_ray("cosmic-ray", "init", str(config), str(session), cwd=copy, env=env)
    cosmic_ray("cr-filter-operators", str(session), str(config), cwd=copy, env=env)
    if only is not None:
        skip_all_but(session, only)
    cosmic_ray("cosmic-ray", "exec", str(config), str(session), cwd=copy, env=env)
    dump = subprocess.run(
        [str(Path(sys.executable).parent / "cosmic-ray"), "dump", str(session)],
        cwd=copy,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    source = (copy / file).read_text().splitlines()
    mutants = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None or result["worker_outcome"] == "skipped":
            continue
        [mutation] = item["mutations"]
        number = mutation["start_pos"][0]
        outcome = result["test_outcome"] or result["worker_outcome"]
        mutants.append(
            Mutant(
                file,
                number,
                mutation["definition_name"] or "",
                mutation["operator_name"].removeprefix("core/"),
                source[number - 1].strip(),
                mutated_line(result.get("diff") or "", number).strip(),
                outcome,
            )
        )
    return sorted(mutants, key=lambda m: (m.line, m.operator))


def again(file: str, copy: Path, last: list[dict[str, object]]) -> list[Mutant]:
    """The last run's mutants of ``file``, its survivors run again against today's tests."""
    mutants = [Mutant(**m) for m in last]  # type: ignore[arg-type]
    survivors = {(m.line, m.operator) for m in mutants if m.outcome == "survived"}
    rerun = {(m.line, m.operator, m.after): m for m in mutate(file, copy, only=survivors)}
    return [rerun.get((m.line, m.operator, m.after), m) for m in mutants]


def mutated_line(diff: str, number: int) -> str:
    """The new text of line ``number`` in cosmic-ray's unified diff of one mutant."""
    line = 0
    for text in diff.splitlines():
        if hunk := re.match(r"@@ -\d+(?:,\d+)? \+(\d+)", text):
            line = int(hunk.group(1))
        elif text.startswith("+") and not text.startswith("+++"):
            if line == number:
                return text[1:]
            line += 1
        elif not text.startswith("-"):
            line += 1
    return "?"


def explanations() -> dict[tuple[str, str, str], str]:
    """(file, line before, line after) -> what answers that survivor: why it cannot change
    what reflog does (``[[equivalent]]``), or the test added since that kills it
    (``[[killed]]``, checked by putting the mutant in by hand until the next run counts it)."""
    explained = tomllib.loads(EXPLAINED.read_text())
    answers = {
        (e["file"], e["before"], e["after"]): f"Equivalent: {e['why']}"
        for e in explained.get("equivalent", [])
    }
    for e in explained.get("killed", []):
        answers[(e["file"], e["before"], e["after"])] = f"Killed since by `{e['by']}`."
    return answers


def report(results: dict[str, list[Mutant]], seconds: dict[str, float]) -> str:
    why = explanations()
    lines = [
        "# Mutants: what the tests catch",
        "",
        "Written by `make mutants` (`scripts/mutants.py`): every mutant of a core file is one",
        "small deliberate bug, run against its own area's tests. A survivor is a gap in the",
        "tests, killed since by a new test, or an equivalent mutant (one that cannot change",
        "what reflog does); `scripts/mutants_explained.toml` says which, and why.",
        "",
        "| file | mutants | killed | survived | killed since | equivalent | not run | minutes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for file, mutants in results.items():
        survivors = [m for m in mutants if m.outcome == "survived"]
        answers = [why.get((m.file, m.before, m.after), "") for m in survivors]
        lines.append(
            f"| `{file}` | {len(mutants)} | {sum(m.outcome == 'killed' for m in mutants)} "
            f"| {len(survivors)} | {sum(a.startswith('Killed') for a in answers)} "
            f"| {sum(a.startswith('Equivalent') for a in answers)} "
            f"| {sum(m.outcome not in ('killed', 'survived') for m in mutants)} "
            f"| {seconds[file] / 60:.0f} |"
        )
    for file, mutants in results.items():
        survivors = [m for m in mutants if m.outcome == "survived"]
        if not survivors:
            continue
        lines += ["", f"## Survivors in `{file}`", ""]
        for m in survivors:
            reason = why.get((m.file, m.before, m.after), "**UNEXPLAINED: a gap in the tests?**")
            lines += [
                f"* line {m.line}{f', `{m.function}`' if m.function else ''}, {m.operator}:",
                f"  `{m.before}` → `{m.after}`",
                f"  {reason}",
            ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="core files (default: all of them)")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the last run's survivors of these files (after new tests)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the stored results (after explaining a survivor)",
    )
    args = parser.parse_args(argv)
    files = [] if args.report_only else args.files or [f for a in AREAS for f in a.files]
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results: dict[str, list[Mutant]] = {}
    seconds: dict[str, float] = {}
    if files:
        with tempfile.TemporaryDirectory(prefix="reflog-mutants-") as tmp:
            copy = Path(tmp)
            copy_work_tree(copy)
            for file in files:
                started = time.monotonic()
                print(f"mutants: {file} against {' '.join(area_of(file).tests)}", flush=True)
                if args.survivors:
                    results[file] = again(file, copy, stored[file]["mutants"])
                else:
                    results[file] = mutate(file, copy)
                seconds[file] = time.monotonic() - started
                if args.survivors:  # the full run's time is the one worth knowing
                    seconds[file] = stored[file]["seconds"]
                survived = sum(m.outcome == "survived" for m in results[file])
                print(
                    f"mutants: {file}: {len(results[file])} mutants, {survived} survived, "
                    f"{seconds[file] / 60:.1f} minutes",
                    flush=True,
                )
    # Files run before and not now keep their last results (a run of one file updates its row).
    REPORT.parent.mkdir(exist_ok=True)
    for file, mutants in results.items():
        stored[file] = {"seconds": seconds[file], "mutants": [asdict(m) for m in mutants]}
    RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
    everything = {f: [Mutant(**m) for m in r["mutants"]] for f, r in sorted(stored.items())}
    REPORT.write_text(report(everything, {f: r["seconds"] for f, r in stored.items()}))
    print(f"mutants: report in {REPORT.relative_to(ROOT)}")
    why = explanations()
    unexplained = [
        m
        for mutants in everything.values()
        for m in mutants
        if m.outcome == "survived" and (m.file, m.before, m.after) not in why
    ]
    print(f"mutants: {len(unexplained)} survivors neither killed nor explained")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
