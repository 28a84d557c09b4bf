"""Gives every exercise's tests the implementation under test as the ``impl`` fixture.

The file is chosen with the environment variable REFLOG_EXERCISE_IMPL (set by
``python -m exercises check``); it is the learner's own file, loaded by path.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def impl() -> ModuleType:
    path = os.environ.get("REFLOG_EXERCISE_IMPL")
    if not path:
        pytest.fail("run exercises through `python -m exercises check NAME`")
    spec = importlib.util.spec_from_file_location("exercise_impl", Path(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
