"""Runs one exercise's tests on a file of yours and says, in plain words, what passed.

An exercise's tests are plain functions, ``test_<what it checks>(impl)``, where ``impl`` is
the module under test (your ``starter.py``, or any file you name), and plain ``assert``
statements. No test framework is needed: this runner is all of it, so the exercises work
with any Python that can import reflog.

To say what was expected and what came back, the runner does what pytest does, in small:
before running a test file it rewrites each ``assert left == right`` into a call that
evaluates both sides once and, when they differ, reports the left side's source and both
values. ``with raises(ValueError):`` checks that its body raises.
"""

from __future__ import annotations

import ast
import importlib.util
import operator
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

__all__ = ["Verdict", "raises", "run"]

WIDTH = 100  # a value longer than this is cut, so each verdict stays one line


@dataclass(frozen=True)
class Verdict:
    test: str  # the test's name as a sentence
    passed: bool
    expected: str = ""
    got: str = ""


class Mismatch(Exception):
    """A check in a test did not hold: what it expected and what came back."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")
        self.expected = expected
        self.got = got


class TookTooLong(Exception):
    """A test ran past its time limit: most likely an endless loop in the code under test."""


def sentence(test_name: str) -> str:
    """``test_floor_below_the_first_entry_is_none`` -> ``Floor below the first entry is none``."""
    words = test_name.removeprefix("test_").replace("_", " ")
    return words[:1].upper() + words[1:]


def short(value: object, width: int = WIDTH) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# -- what the rewritten asserts call ---------------------------------------------------------
COMPARISONS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.Is: ("is", operator.is_),
    ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda a, b: a in b),
    ast.NotIn: ("not in", lambda a, b: a not in b),
}
CHECKS = {symbol: check for symbol, check in COMPARISONS.values()}


def _check_comparison(
    left: Callable[[], Any],
    symbol: str,
    right: Callable[[], Any],
    source: str,
    where: dict[str, Callable[[], Any]],
) -> None:
    want = right()
    expected = f"{source} {symbol} {short(want)}{_where(where)}"
    try:
        got = left()
    except Exception as error:
        raise Mismatch(expected, raised(error)) from error
    if not CHECKS[symbol](got, want):
        raise Mismatch(expected, short(got))


def _check_true(
    test: Callable[[], Any], source: str, where: dict[str, Callable[[], Any]], message: str | None
) -> None:
    expected = message or f"{source}{_where(where)}"
    try:
        got = test()
    except Exception as error:
        raise Mismatch(expected, raised(error)) from error
    if not got:
        raise Mismatch(expected, short(got))


def _where(names: dict[str, Callable[[], Any]]) -> str:
    """``   (where key = b'21')``: the test's own variables in a check, e.g. a loop's."""
    shown = []
    for name, value in names.items():
        try:
            shown.append(f"{name} = {short(value(), 40)}")
        except NameError:
            continue  # not bound yet where the check stands
    return f"   (where {', '.join(shown)})" if shown else ""


class raises:  # lower case, as it reads in `with raises(ValueError):` (pytest's name)
    """Checks that the body of ``with raises(SomeError):`` raises SomeError (or a subclass)."""

    def __init__(self, kind: type[BaseException], body_source: str = "the code") -> None:
        self.kind = kind
        self.body_source = body_source

    def __enter__(self) -> raises:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        expected = f"{self.body_source} raises {self.kind.__name__}"
        if error is None:
            raise Mismatch(expected, "no exception")
        if isinstance(error, self.kind):
            return True  # swallow it: this is what the test wanted
        if isinstance(error, Exception):
            raise Mismatch(expected, raised(error)) from error
        return False


def raised(error: BaseException) -> str:
    """``NotImplementedError (starter.py line 8)``: the error and where your code raised it."""
    if isinstance(error, SyntaxError):  # raised by the compiler, not by a line of the file
        return f"SyntaxError: {error.msg} ({Path(error.filename or '?').name} line {error.lineno})"
    # The last line that raised outside this runner (not the time limit's signal handler).
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    where = f" ({Path(frames[-1].filename).name} line {frames[-1].lineno})" if frames else ""
    message = str(error)
    if isinstance(error, TookTooLong):
        return f"{message}{where}"
    return f"{type(error).__name__}{': ' + message if message else ''}{where}"


# -- loading the test file with its asserts rewritten -------------------------------------------
class _RewriteAsserts(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self.source = source
        self.variables: set[str] = set()  # names the current test function assigns

    def text(self, node: ast.AST) -> str:
        return (ast.get_source_segment(self.source, node) or "").replace("impl.", "")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        outer = self.variables
        self.variables = {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        self.generic_visit(node)
        self.variables = outer
        return node

    def where(self, check: ast.expr) -> ast.Dict:
        """The test's variables ``check`` reads, each with a thunk giving its value."""
        comprehension_targets = {
            n.id
            for c in ast.walk(check)
            if isinstance(c, ast.comprehension)
            for n in ast.walk(c.target)
            if isinstance(n, ast.Name)
        }
        names = sorted(
            {n.id for n in ast.walk(check) if isinstance(n, ast.Name) and n.id in self.variables}
            - comprehension_targets
        )
        thunks: list[ast.expr | None] = [ast.Constant(n) for n in names]
        return ast.Dict(keys=thunks, values=[_thunk(ast.Name(n, ast.Load())) for n in names])

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        test = node.test
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and type(test.ops[0]) in COMPARISONS
        ):
            symbol = COMPARISONS[type(test.ops[0])][0]
            args = [_thunk(test.left), ast.Constant(symbol), _thunk(test.comparators[0])]
            source = ast.Constant(self.text(test.left))
            # The right side's value is printed anyway: name the left side's variables only.
            call = _call("_check_comparison", [*args, source, self.where(test.left)])
        else:
            message = node.msg if node.msg is not None else ast.Constant(None)
            source = ast.Constant(self.text(test))
            call = _call("_check_true", [_thunk(test), source, self.where(test), message])
        return ast.copy_location(ast.Expr(call), node)

    def visit_With(self, node: ast.With) -> ast.AST:
        self.generic_visit(node)
        call = node.items[0].context_expr
        if (
            len(node.items) == 1
            and isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "raises"
            and len(call.args) == 1
        ):
            # Hand raises() the body's source, so a failure can say what should have raised.
            body = "; ".join(self.text(statement) for statement in node.body)
            call.args.append(ast.Constant(body))
        return node


def _thunk(expression: ast.expr) -> ast.Lambda:
    arguments = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.Lambda(args=arguments, body=expression)


def _call(name: str, args: list[ast.expr]) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])


def _load(path: Path, module_name: str, source: str | None = None) -> ModuleType:
    """Import the file at ``path`` (compiled from ``source`` if given) as ``module_name``."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses in the file look their module up here
    if source is None:
        spec.loader.exec_module(module)
        return module
    tree = _RewriteAsserts(source).visit(ast.parse(source, str(path)))
    module.__dict__.update(_check_comparison=_check_comparison, _check_true=_check_true)
    exec(compile(ast.fix_missing_locations(tree), str(path), "exec"), module.__dict__)
    return module


def tests_path(exercise: Path) -> Path:
    [path] = sorted(exercise.glob("test_*.py"))
    return path


def tests_of(exercise: Path) -> list[tuple[str, Callable[[ModuleType], None]]]:
    path = tests_path(exercise)
    name = "exercise_tests_" + exercise.name.replace("-", "_")
    module = _load(path, name, path.read_text())
    return [
        (attribute, value)
        for attribute, value in vars(module).items()
        if attribute.startswith("test_") and callable(value)
    ]


# -- running --------------------------------------------------------------------------------------
def run(exercise: Path, impl_path: Path, time_limit_s: float | None = None) -> list[Verdict]:
    """One verdict per test of ``exercise``, run on the module in ``impl_path``; a test still
    running after ``time_limit_s`` is stopped and fails."""
    tests = tests_of(exercise)  # a broken test file is the exercise's bug: let it raise
    module_name = f"exercise_impl_{exercise.name}_{impl_path.stem}".replace("-", "_")
    try:
        impl = _load(impl_path, module_name)
    except Exception as error:
        expected = "it imports cleanly"
        if isinstance(error, ModuleNotFoundError):
            expected += " (with reflog's dependencies: run .venv/bin/python, made by `make venv`)"
        return [Verdict(f"{impl_path.name} loads", False, expected, raised(error))]
    return [verdict(name, test, impl, time_limit_s) for name, test in tests]


def verdict(
    name: str, test: Callable[[ModuleType], None], impl: ModuleType, time_limit_s: float | None
) -> Verdict:
    try:
        with time_limit(time_limit_s):
            test(impl)
    except Mismatch as mismatch:
        return Verdict(sentence(name), False, mismatch.expected, mismatch.got)
    except Exception as error:
        # Raised outside any assert, e.g. by `result, count = impl.f(...)`: name that line.
        line = _line_in(error, test)
        return Verdict(sentence(name), False, f"{line} runs", raised(error))
    return Verdict(sentence(name), True)


def _line_in(error: BaseException, test: Callable[[ModuleType], None]) -> str:
    """The source line of ``test`` that was running when ``error`` came up."""
    test_path = test.__code__.co_filename
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == test_path]
    return (frames[-1].line or "").strip().replace("impl.", "") if frames else "the test"


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TookTooLong in whatever runs past ``seconds`` (with SIGALRM: Unix, main thread).

    A timer someone else set (pytest-timeout's) is put back afterwards, less the time spent.
    """
    if seconds is None or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise TookTooLong(f"still running after {seconds:g} s: an endless loop?")

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, stop)
    previous_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            left = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
