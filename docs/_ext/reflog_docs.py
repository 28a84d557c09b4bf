"""The generated half of reflog's docs site, as a local Sphinx extension.

At every build (``builder-inited``) it writes, under ``docs/_generated/``:

* ``chapters/``: every ``notebooks/NN-*.ipynb`` as it is stored (outputs included), with a line
  under its title that opens it in the site's JupyterLite (none for a chapter whose first cell
  is tagged ``jupyterlab-only``: that cell says why it cannot run there);
* ``api/``: one page per package of reflog, an autodoc of each of its public modules (those
  with ``__all__``);
* ``differences.md``: every "reflog simplification" note found in ``reflog/``;
* ``exercises.md``: each exercise's prompt and the command that checks an answer;
* ``cli.md``: the ``--help`` of ``reflog`` and of every one of its subcommands;

and it has ``reflog_lite`` prepare the folder that jupyterlite-sphinx builds JupyterLite from.

It also serves plotly.js from the site itself: the figures stored in the notebooks load it
from plotly's CDN (``reflog/viz/static.py``), and a page of this site fetches nothing from
elsewhere, so each stored figure's ``<script>`` is pointed at the copy of plotly.js that the
plotly package ships, served from the site's ``_static/``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reflog_lite
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = ROOT / "reflog"
EXERCISES = ROOT / "exercises"

# A notebook whose first cell carries this tag needs what a browser tab cannot give it (real
# sockets, files through the OS): it gets no "run in the browser" link.
JUPYTERLAB_ONLY_TAG = "jupyterlab-only"
LITE = "lite"  # where jupyterlite-sphinx puts JupyterLite in the site
CHAPTER = re.compile(r"\d\d-.+\.ipynb")
SIMPLIFICATION = re.compile(r"reflog simplifications?:")
PLOTLY_CDN_SCRIPT = re.compile(r'<script[^>]*src="https://cdn\.plot\.ly/[^"]*"[^>]*>\s*</script>')
PLOTLY_JS = "plotly.min.js"


def write_if_changed(path: Path, text: str) -> None:
    """Writes text to path unless it already holds it, so Sphinx rebuilds only what changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# --- chapters ----------------------------------------------------------------------------------


def chapter_notebooks() -> list[Path]:
    """Every notebook of the course, in chapter order: notebooks/NN-name.ipynb."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if CHAPTER.fullmatch(p.name))


def runs_in_browser(notebook: dict[str, Any]) -> bool:
    cells = notebook.get("cells", [])
    return not (cells and JUPYTERLAB_ONLY_TAG in cells[0].get("metadata", {}).get("tags", []))


def write_chapters() -> None:
    out = GENERATED / "chapters"
    keep = set()
    for path in chapter_notebooks():
        notebook = json.loads(path.read_text())
        if runs_in_browser(notebook):
            # Raw HTML: the JupyterLite site is no Sphinx document for MyST to resolve.
            link = (
                f'<a class="reflog-lite" href="../../{LITE}/lab/index.html?path={path.name}">'
                "Run this chapter in your browser</a>: JupyterLite, a Python kernel in the page "
                "itself (Pyodide), nothing to install; the first start takes a few seconds."
            )
            notebook["cells"].insert(
                1, {"cell_type": "markdown", "id": "reflog-lite", "metadata": {}, "source": [link]}
            )
        write_if_changed(out / path.name, json.dumps(notebook, indent=1))
        keep.add(path.name)
    for stale in out.glob("*.ipynb"):
        if stale.name not in keep:
            stale.unlink()


# --- API ---------------------------------------------------------------------------------------


def public_modules() -> list[str]:
    """Dotted names of reflog's modules that declare ``__all__`` (their public API)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(part.startswith("_") and part != "__init__.py" for part in path.parts[-1:]):
            continue
        tree = ast.parse(path.read_text())
        declares_all = any(
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(t, ast.Name) and t.id == "__all__"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            for node in tree.body
        )
        if not declares_all:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def reexports(module: str, public: list[str]) -> dict[str, str]:
    """The names in a module's ``__all__`` that another public module defines and exports, each
    with that module: name -> module.

    autodoc would document such a name twice (here and where it is defined), and viewcode would
    then link the defining module's whole source page to anchors under this module's name, most
    of which do not exist: it keeps one module name per source file."""
    exporter = importlib.import_module(module)
    found = {}
    for name in exporter.__all__:
        home = getattr(getattr(exporter, name), "__module__", None)
        if home != module and home in public and name in importlib.import_module(home).__all__:
            found[name] = home
    return found


def used_first(modules: list[str]) -> list[str]:
    """The modules of one page ordered so that a module comes before those that use its names.

    viewcode keeps one module name per source file, from the first object it meets whose
    source is there; an object of another module can lead it astray (a dataclass field whose
    default is an enum member of the module that defines the enum), so the defining module
    must be documented before the modules that use its names."""
    loaded = {m: importlib.import_module(m) for m in modules}
    uses = {
        m: {getattr(value, "__module__", None) for value in vars(mod).values()}
        & (set(modules) - {m})
        for m, mod in loaded.items()
    }
    ordered: list[str] = []
    while len(ordered) < len(modules):
        ready = [m for m in modules if m not in ordered and uses[m] <= set(ordered)]
        ordered.append(ready[0] if ready else next(m for m in modules if m not in ordered))
    return ordered


def write_api() -> None:
    public = public_modules()
    groups: dict[str, list[str]] = {}
    for name in public:
        parts = name.split(".")
        in_subpackage = len(parts) > 2 or (PACKAGE / parts[-1]).is_dir()
        group = ".".join(parts[:2]) if in_subpackage else "reflog"
        groups.setdefault(group, []).append(name)
    out = GENERATED / "api"
    pages = []
    for group, modules in sorted(groups.items()):
        page = group.replace(".", "-")
        pages.append(page)
        lines = [f"# `{group}`", ""]
        for module in used_first(modules):
            # A package re-exports its modules' names: its page shows its docstring, and each
            # name is documented once, in the module that defines it.
            is_package = (ROOT / module.replace(".", "/") / "__init__.py").exists()
            lines += [f"## `{module}`", "", "```{eval-rst}", f".. automodule:: {module}"]
            if is_package:
                lines += ["   :no-members:", "   :no-index:", "```", ""]
                continue
            elsewhere = reexports(module, public)
            if elsewhere:
                lines.append(f"   :exclude-members: {', '.join(sorted(elsewhere))}")
            lines += ["```", ""]
            if elsewhere:
                links = [f"{{py:obj}}`{home}.{name}`" for name, home in sorted(elsewhere.items())]
                lines += [f"It also exports {', '.join(links)}.", ""]
        write_if_changed(out / f"{page}.md", "\n".join(lines))
    toc = "\n".join(pages)
    index = (
        "# API\n\nEvery public module of reflog (one that declares `__all__`), from its typed "
        "docstrings.\n\n```{toctree}\n:maxdepth: 1\n\n" + toc + "\n```\n"
    )
    write_if_changed(out / "index.md", index)


# --- How reflog differs from Kafka -------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    path: str  # relative to the repository, e.g. reflog/storage/log.py
    line: int
    where: str  # the module, class or function whose docstring or code holds the note
    context: str  # the sentence before the note, which it may refer to ("that", "it")
    text: str


def _enclosing(tree: ast.Module, line: int, module: str) -> str:
    """The innermost class or function around line, as module.Class.method."""
    best, names = module, []
    body: list[ast.stmt] = tree.body
    while True:
        for node in body:
            if isinstance(
                node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
            ) and node.lineno <= line <= (node.end_lineno or node.lineno):
                names.append(node.name)
                best = ".".join([module, *names])
                body = node.body
                break
        else:
            return best


def _note_text(lines: list[str], start: int, column: int) -> tuple[str, str]:
    """(context, note): the note from its first word to the end of its paragraph, and the
    sentence before it in that paragraph (what "that" or "it" in the note refers to; empty when
    the note opens its paragraph). A paragraph ends at a blank line, the end of its docstring or
    comment, or a new list item."""
    comment = lines[start][:column].lstrip().startswith("#")

    def content(line: str) -> str | None:
        stripped = line.strip()
        if comment:
            if not stripped.startswith("#"):
                return None
            stripped = stripped.lstrip("#").strip()
        if not stripped or stripped.startswith('"""') or stripped.endswith('"""'):
            return None if not stripped.endswith('"""') or stripped == '"""' else stripped
        return stripped

    before: list[str] = []
    for line in reversed(lines[:start]):
        if line.strip().startswith('"""'):  # the docstring's first line opens the paragraph
            before.insert(0, line.strip().removeprefix('"""'))
            break
        text = content(line)
        if text is None or text.endswith('"""'):
            if text is not None:
                before.insert(0, text.removeprefix('"""'))
            break
        before.insert(0, text)
        if text.startswith("* "):
            break
    head = lines[start][:column]
    head = head.strip().lstrip("#").strip().removeprefix('"""').removeprefix("* ")
    before.append(head)
    after = [lines[start][column:].strip()]
    for line in lines[start + 1 :]:
        text = content(line)
        if text is None or text.startswith("* "):
            break
        after.append(text)
    note = " ".join(after).split('"""')[0].strip()
    if note.count(")") > note.count("("):  # the note began inside parentheses
        note = note[::-1].replace(")", "", note.count(")") - note.count("("))[::-1]
    preceding = " ".join(before).strip().removesuffix("(").strip().removeprefix("* ")
    sentences = re.split(r"(?<=[.!?])\s+", preceding) if preceding else [""]
    return sentences[-1], note


def simplification_notes() -> list[Note]:
    notes = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if not SIMPLIFICATION.search(source):
            continue
        lines = source.splitlines()
        tree = ast.parse(source)
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for number, line in enumerate(lines):
            for match in SIMPLIFICATION.finditer(line):
                context, text = _note_text(lines, number, match.start())
                where = _enclosing(tree, number + 1, module)
                notes.append(Note(str(path.relative_to(ROOT)), number + 1, where, context, text))
    return notes


def _markdown(rst: str) -> str:
    """A docstring's reST inline markup as Markdown: :role:`~a.b.c` as `c`, ``x`` as `x`."""
    text = re.sub(r":\w+:`~?([\w.]+\.)?([\w()]+)`", r"`\2`", rst)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def write_differences() -> None:
    notes = simplification_notes()
    lines = [
        "# How reflog differs from Kafka",
        "",
        "reflog does what Kafka does, the way Kafka does it, except where a note in its code says",
        "`reflog simplification:`. This page is every such note, collected from the source when",
        f"the site was built ({len(notes)} notes), so it cannot fall out of date. Each names where",
        "it is: the file and line, and the module, class or function that it describes.",
        "",
    ]
    by_area: dict[str, list[Note]] = {}
    for note in notes:
        parts = Path(note.path).parts
        area = parts[1] if len(parts) > 2 else Path(parts[1]).stem
        by_area.setdefault(area, []).append(note)
    for area, area_notes in sorted(by_area.items()):
        lines += [f"## {area}", ""]
        for note in area_notes:
            # {py:obj} links to the API page where the object is public, and is plain code
            # text where it is not (a private helper).
            context = f"{_markdown(note.context)} " if note.context else ""
            lines += [
                f"* {{py:obj}}`{note.where}` (`{note.path}:{note.line}`)  ",
                f"  {context}{SIMPLIFICATION.sub(lambda m: f'**{m[0]}**', _markdown(note.text))}",
            ]
        lines.append("")
    write_if_changed(GENERATED / "differences.md", "\n".join(lines))


# --- exercises ---------------------------------------------------------------------------------


def write_exercises() -> None:
    lines = [
        "# Exercises",
        "",
        "Interview-prep exercises on the mechanisms of the chapters. Each is a folder",
        "`exercises/NN-name/`: write your answer in its `starter.py`, then check it from the",
        "repository's root with the command under its prompt (it prints ok or FAIL per test, and",
        "what was expected). `python -m exercises list` lists them.",
        "",
    ]
    for folder in sorted(p for p in EXERCISES.iterdir() if (p / "starter.py").exists()):
        number = int(folder.name.split("-")[0])
        readme = (folder / "README.md").read_text().splitlines()
        title = readme[0].lstrip("# ").strip() if readme else folder.name
        body = [("#" + line if line.startswith("#") else line) for line in readme[1:]]
        lines += [
            f"## {number}. {title}",
            "",
            f"`exercises/{folder.name}/`",
            *body,
            "",
            "```bash",
            f"python -m exercises check {number}",
            "```",
            "",
        ]
    write_if_changed(GENERATED / "exercises.md", "\n".join(lines))


# --- CLI ---------------------------------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
    """Every command under parser, depth first: [], ["broker"], ["topics"], ["topics", "create"]."""
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, [*path, name])
    return found


def write_cli() -> None:
    from reflog.cli import build_parser

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal's width
    try:
        parser = build_parser()
        lines = [
            "# The `reflog` command",
            "",
            "Every command's `--help`, as the installed `reflog` prints it (generated when the",
            "site was built).",
            "",
        ]
        for path in _commands(parser, []):
            sub = parser
            for name in path:
                sub = next(
                    a for a in sub._actions if isinstance(a, argparse._SubParsersAction)
                ).choices[name]
            command = " ".join(["reflog", *path])
            lines += [f"## `{command}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    write_if_changed(GENERATED / "cli.md", "\n".join(lines))


# --- plotly.js from the site -------------------------------------------------------------------


class LocalPlotly(SphinxTransform):
    """Points the <script> of each stored plotly figure at the site's own plotly.js instead
    of plotly's CDN: in place, since the figure's own script, right after it, calls it."""

    default_priority = 400

    def apply(self, **kwargs: Any) -> None:
        served = posixpath.relpath(f"_static/{PLOTLY_JS}", posixpath.dirname(self.env.docname))
        script = f'<script charset="utf-8" src="{served}"></script>'
        for node in self.document.findall(nodes.raw):
            if "html" in node.get("format", "") and PLOTLY_CDN_SCRIPT.search(node.astext()):
                text = PLOTLY_CDN_SCRIPT.sub(script, node.astext())
                node.replace_self(nodes.raw(text, text, format="html"))


def generate(app: Sphinx) -> None:
    GENERATED.mkdir(exist_ok=True)
    static = GENERATED / "_static"
    static.mkdir(exist_ok=True)
    import plotly

    bundled = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    served = static / PLOTLY_JS
    if not served.exists() or served.read_bytes() != bundled.read_bytes():
        shutil.copyfile(bundled, served)
    write_chapters()
    # The chapters that run in the browser, and what their JupyterLite needs.
    app.config.jupyterlite_contents = [
        str(path) for path in chapter_notebooks() if runs_in_browser(json.loads(path.read_text()))
    ]
    app.config.jupyterlite_dir = str(reflog_lite.prepare(reflog_lite.CACHE / "lite-dir"))
    write_api()
    write_differences()
    write_exercises()
    write_cli()


def add_static(app: Sphinx, config: Any) -> None:
    config.html_static_path.append(str(GENERATED / "_static"))
    (GENERATED / "_static").mkdir(parents=True, exist_ok=True)


def chapters_without_page_toc(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """A chapter's page gives furo's "on this page" column to its figures (reflog.css): furo
    hides that column for a page whose metadata says hide-toc."""
    if pagename.startswith("_generated/chapters/"):
        context["meta"] = {**(context.get("meta") or {}), "hide-toc": ""}


def drop_jupyterlite_sphinx_assets(app: Sphinx) -> None:
    """jupyterlite-sphinx adds a web font from Google and the CSS and JS of its directives to
    every page; the site uses none of its directives (a chapter links to JupyterLite instead)
    and fetches nothing from elsewhere."""
    app.registry.css_files = [
        (name, attributes)
        for name, attributes in app.registry.css_files
        if "googleapis" not in name and not name.startswith("jupyterlite_sphinx")
    ]
    app.registry.js_files = [
        (name, attributes)
        for name, attributes in app.registry.js_files
        if not (name or "").startswith("jupyterlite_sphinx")
    ]


def forget_jupyterlite_tasks(app: Sphinx, *args: Any) -> None:
    """``jupyter lite build`` (run in docs/) keeps which of its tasks are done in a database
    there, and skips them in the next build even into a new output folder (whose
    jupyter-lite.json then lacks the kernel's settings: it fetched Pyodide from a CDN).
    jupyterlite-sphinx means to delete it but looks in the wrong folder."""
    (DOCS / ".jupyterlite.doit.db").unlink(missing_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("jupyterlite_sphinx")
    drop_jupyterlite_sphinx_assets(app)
    app.connect("config-inited", add_static)
    app.connect("builder-inited", generate)
    app.connect("builder-inited", forget_jupyterlite_tasks)
    app.connect("build-finished", forget_jupyterlite_tasks)
    app.add_transform(LocalPlotly)
    app.connect("html-page-context", chapters_without_page_toc, priority=400)  # before furo's
    return {"parallel_read_safe": True, "parallel_write_safe": True}
