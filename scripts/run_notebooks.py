"""Runs notebooks top to bottom and stores their outputs in the .ipynb: what nbval compares.

    python scripts/run_notebooks.py notebooks/03-raft.ipynb ...   (`make notebooks` runs this
    after `jupytext --sync`, which brings each .ipynb's cells in line with its .py)

A live widget's output (a FigureWidget, a button) is a reference to a model in the kernel that
ran it; opened later without that kernel it shows only an error. So those references are
dropped, together with the widget state, and what a reader sees before running the notebook is
the text and the static figures a view stores beside its widget (reflog/viz/static.py).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def without_widget(output: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """output without its widget reference; None if nothing else in it is worth showing (a
    widget's text/plain is only its repr)."""
    data = output.get("data", {})
    if WIDGET_VIEW not in data:
        return output
    del data[WIDGET_VIEW]
    return output if set(data) - {"text/plain"} else None


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's finished children (the kernels it ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(path: Path) -> tuple[float, float]:
    """Executes the notebook at path in place; returns the wall-clock seconds it took and the
    CPU seconds its kernel used (on a loaded machine the first grows, the second does not)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # wall-clock timestamps would change the file on every run
        store_widget_state=False,
        coalesce_streams=True,  # one stdout output per cell, however the kernel chunked it
    )
    started, cpu_before = time.monotonic(), children_cpu_s()
    client.execute()  # starts the kernel, runs every cell, shuts the kernel down and reaps it
    elapsed, cpu = time.monotonic() - started, children_cpu_s() - cpu_before
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(without_widget, cell.outputs) if o is not None]
    nbformat.write(notebook, path)
    return elapsed, cpu


def main(paths: list[str]) -> None:
    for name in paths:
        path = Path(name).with_suffix(".ipynb")
        elapsed, cpu = run(path)
        print(f"{path}: ran in {elapsed:.1f} s (kernel CPU {cpu:.1f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path("notebooks").glob("*.ipynb")))
