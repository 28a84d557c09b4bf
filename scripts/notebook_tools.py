"""Writes a notebook from (kind, source) cells and runs it so it stores its outputs."""

from __future__ import annotations

import json
from pathlib import Path


def write_notebook(cells: list[tuple[str, str]], path: Path) -> None:
    nb_cells = []
    for kind, source in cells:
        cell: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        nb_cells.append(cell)
    notebook = {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    execute(path)
    print(f"wrote {path}")


def execute(path: Path) -> None:
    """Run the notebook so it stores its outputs (what nbval compares against)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    # Widget state (plotly's whole JS bundle) and live widget outputs belong to a live kernel only.
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code" and "NBVAL_IGNORE_OUTPUT" in cell.source:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") == "stream"] if "KEEP_TEXT" in cell.source else []
    nbformat.write(nb, path)
