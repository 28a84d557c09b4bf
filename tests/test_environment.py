"""environment.yml (for conda users) must describe the same environment as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def normalise(requirement: str) -> tuple[str, str]:
    """('package-name', 'version spec') with the name normalised as PEP 503 says."""
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(2).strip()


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def conda_pip_requirements() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1
    return [r for r in pip_lists[0] if not r.startswith("-e")]


def test_conda_environment_has_the_same_packages_and_versions_as_pyproject() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    assert dict(map(normalise, conda_pip_requirements())) == dict(map(normalise, wanted))


def test_conda_environment_uses_the_python_pyproject_requires() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"]
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert project["requires-python"] == ">=3.11"


def test_conda_environment_installs_reflog_itself() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    [pip_list] = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "-e ." in pip_list
