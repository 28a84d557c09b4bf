"""The chapters runnable in the browser: what the site's JupyterLite needs, prepared at build time.

jupyterlite-sphinx runs ``jupyter lite build`` at the end of the Sphinx build, which lays out
JupyterLab and the Pyodide kernel under ``lite/``. By default that kernel would fetch Pyodide
and every package from CDNs and PyPI each time a reader opens a chapter; this site fetches
nothing from elsewhere. So this module prepares a JupyterLite folder (``jupyterlite_dir``):

* ``static/pyodide/``: Pyodide itself, from its npm package (the runtime, its standard library
  and the JavaScript that loads them), the version jupyterlite-pyodide-kernel was made for;
* beside it, the wheels the chapters need: reflog (built from this checkout) and its
  pure-Python dependencies (plotly, ipywidgets, anywidget, ...), IPython and the kernel's own
  (micropip, comm, jedi), downloaded from PyPI for Pyodide's Python;
* a ``pyodide-lock.json`` that lists exactly those wheels (with their hashes and dependencies,
  read from each wheel's metadata), so Pyodide loads all of them from the site, and the kernel
  preloads reflog: a chapter starts with ``from reflog.sim import Cluster`` as in JupyterLab;
* ``jupyter-lite.json``: the kernel told never to fall back on PyPI.

reflog's compiled dependency, crc32c, has no Pyodide build: reflog computes CRC-32C in pure
Python there (``reflog/records/crc.py``), so reflog's entry in the lock leaves it out.

Downloads are cached in ``build/docs-lite/`` (npm's tarball and PyPI's wheels), so only the
first build needs the registries.
"""

from __future__ import annotations

import email.message
import email.parser
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "docs-lite"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"

# What the chapters import beyond reflog's own dependencies: the kernel's (micropip loads
# piplite, which installs the kernel; IPython and jedi run the cells and completions).
KERNEL_PACKAGES = ["micropip", "ipython", "jedi", "comm"]
# Loaded as the kernel starts, with what they depend on: a chapter imports reflog at once.
PRELOAD = ["micropip", "reflog", *KERNEL_PACKAGES[1:]]
# reflog's dependencies that have no Pyodide build, and what stands in for them.
NO_PYODIDE_BUILD = {"crc32c"}  # reflog.records.crc falls back on pure Python
# Pyodide's files a kernel needs (the npm package also holds docs, maps and a test console).
PYODIDE_FILES = re.compile(r"pyodide(\.asm)?\.(m?js|wasm)|python_stdlib\.zip|package\.json")


def _run(*command: str | Path) -> None:
    """Runs command quietly; on failure, raises with what it printed."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout}{done.stderr}")


def pyodide_npm(version: str) -> Path:
    """Pyodide's npm package, unpacked: the folder holding pyodide.mjs."""
    unpacked = CACHE / f"pyodide-{version}"
    if not (unpacked / "package" / "pyodide.mjs").exists():
        if shutil.which("npm") is None:
            raise RuntimeError("the docs build fetches Pyodide with npm: make system-deps")
        CACHE.mkdir(parents=True, exist_ok=True)
        _run("npm", "pack", f"pyodide@{version}", "--pack-destination", CACHE, "--silent")
        tarball = CACHE / f"pyodide-{version}.tgz"
        with tarfile.open(tarball) as archive:
            archive.extractall(unpacked, filter="data")
        tarball.unlink()
    return unpacked / "package"


def reflog_requirements() -> list[str]:
    """reflog's runtime dependencies that Pyodide can install, pinned to the versions this
    environment runs, so the browser runs what nbval checked."""
    pins = []
    for requirement in importlib.metadata.requires("reflog") or []:
        parsed = Requirement(requirement)
        if parsed.marker is not None or canonicalize_name(parsed.name) in NO_PYODIDE_BUILD:
            continue  # an extra's dependency, or one reflog does without there
        pins.append(f"{parsed.name}=={importlib.metadata.version(parsed.name)}")
    return pins


def download_wheels(python: str, specs: list[str]) -> Path:
    """Pure-Python wheels of specs and their dependencies, for Pyodide's Python version."""
    key = hashlib.sha256(json.dumps([python, specs]).encode()).hexdigest()[:12]
    wheels = CACHE / f"wheels-{key}"
    if not (wheels / ".complete").exists():
        shutil.rmtree(wheels, ignore_errors=True)
        _run(
            sys.executable, "-m", "pip", "download", "--quiet", "--dest", wheels,
            "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", python, *specs,
        )  # fmt: skip
        (wheels / ".complete").touch()
    return wheels


def build_reflog_wheel() -> Path:
    out = CACHE / "reflog-wheel"
    shutil.rmtree(out, ignore_errors=True)
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, ROOT)
    (wheel,) = out.glob("reflog-*.whl")
    return wheel


def _metadata(wheel: Path) -> tuple[email.message.Message, list[str]]:
    """A wheel's METADATA, and the top-level names it installs (what `import` finds)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(info).decode())
    tops = set()
    for name in names:
        top = name.split("/")[0]
        if top.endswith((".dist-info", ".data")):
            continue
        tops.add(top.removesuffix(".py"))
    return metadata, sorted(t for t in tops if t.isidentifier())


def lock_entry(wheel: Path, environment: dict[str, str], available: set[str]) -> dict[str, Any]:
    """wheel as Pyodide's lock file describes a package: what to fetch, its hash, what it
    needs loaded first (its requirements that hold in Pyodide's environment)."""
    metadata, imports = _metadata(wheel)
    depends = []
    for requirement in metadata.get_all("Requires-Dist") or []:
        parsed = Requirement(requirement)
        if parsed.marker is not None and not parsed.marker.evaluate({**environment, "extra": ""}):
            continue
        name = canonicalize_name(parsed.name)
        if name in NO_PYODIDE_BUILD:
            continue
        if name not in available:
            raise LookupError(f"{wheel.name} needs {name}, which no downloaded wheel provides")
        depends.append(name)
    return {
        "name": canonicalize_name(metadata["Name"]),
        "version": metadata["Version"],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "package_type": "package",
        "imports": imports,
        "depends": sorted(set(depends)),
        "unvendored_tests": False,
    }


def pyodide_environment(info: dict[str, str]) -> dict[str, str]:
    """The PEP 508 marker values inside Pyodide, for the Python its lock file names."""
    python = info["python"]
    return {
        "implementation_name": "cpython",
        "implementation_version": python,
        "os_name": "posix",
        "platform_machine": "wasm32",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Emscripten",
        "platform_version": "",
        "python_full_version": python,
        "python_version": ".".join(python.split(".")[:2]),
        "sys_platform": "emscripten",
    }


def prepare(lite_dir: Path) -> Path:
    """Lays out lite_dir for ``jupyter lite build --lite-dir``; returns it."""
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    npm = pyodide_npm(PYODIDE_VERSION)
    upstream_lock = json.loads((npm / "pyodide-lock.json").read_text())
    info = upstream_lock["info"]
    python = ".".join(info["python"].split(".")[:2])
    micropip = upstream_lock["packages"]["micropip"]["version"]
    wheels = [
        *download_wheels(python, [f"micropip=={micropip}", *KERNEL_PACKAGES[1:],
                                  *reflog_requirements()]).glob("*.whl"),
        build_reflog_wheel(),
    ]  # fmt: skip

    pyodide = lite_dir / "static" / "pyodide"
    shutil.rmtree(pyodide, ignore_errors=True)
    pyodide.mkdir(parents=True)
    for path in npm.iterdir():
        if PYODIDE_FILES.fullmatch(path.name):
            shutil.copy2(path, pyodide / path.name)
    environment = pyodide_environment(info)
    available = {canonicalize_name(w.name.split("-")[0]) for w in wheels}
    entries = {}
    for wheel in wheels:
        entry = lock_entry(wheel, environment, available)
        entries[entry["name"]] = (wheel, entry)
    # What the kernel loads and what that needs, no more (pip also downloaded what a Linux
    # machine would need, such as pexpect for IPython); a package that Pyodide's own lock
    # lists but the npm package lacks is left out too, so that nothing points off the site.
    needed, todo = set(), list(PRELOAD)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += entries[name][1]["depends"]
    for name in needed:
        shutil.copy2(entries[name][0], pyodide / entries[name][0].name)
    packages = {name: entries[name][1] for name in sorted(needed)}
    (pyodide / "pyodide-lock.json").write_text(
        json.dumps({"info": info, "packages": packages}, indent=1)
    )
    settings = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            # window.jupyterapp, for the docs test to wait until a notebook is ready
            "exposeAppInBrowser": True,
            "litePluginSettings": {
                KERNEL_PLUGIN: {
                    "disablePyPIFallback": True,
                    "loadPyodideOptions": {"packages": PRELOAD},
                }
            }
        },
    }
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(settings, indent=1))
    return lite_dir
