"""Each notebook is two files that must agree: NN-name.py, the source a developer edits (jupytext's
percent format, checked by ruff), and NN-name.ipynb, the same cells with the outputs nbval
compares. Editing one without syncing the other (`make notebooks`) fails here."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

Cell = tuple[str, str, tuple[str, ...]]


def cells(notebook: nbformat.NotebookNode) -> list[Cell]:
    """What a pair must agree on: each cell's kind, source and tags, in order."""
    return [
        (cell.cell_type, cell.source, tuple(cell.metadata.get("tags", ())))
        for cell in notebook.cells
    ]


def test_every_notebook_has_its_source_and_its_outputs() -> None:
    sources = {path.stem for path in SOURCES}
    stored = {path.stem for path in NOTEBOOKS.glob("*.ipynb")}
    assert sources == stored
    assert len(sources) >= 5


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_notebook_source_and_ipynb_hold_the_same_cells(source: Path) -> None:
    from_source = jupytext.read(source)  # formats and filters from notebooks/jupytext.toml
    from_ipynb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    refresh = f"make notebooks NB=notebooks/{source.name}"
    assert cells(from_source) == cells(from_ipynb), f"out of sync: run `{refresh}`"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_stored_notebook_holds_no_widget_a_reader_without_a_kernel_could_not_see(
    source: Path,
) -> None:
    """A live widget's stored output is only a reference into the kernel that ran it: opened
    without that kernel, JupyterLab shows an error in its place (scripts/run_notebooks.py drops
    them)."""
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert "widgets" not in notebook.metadata
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {}), cell.source
