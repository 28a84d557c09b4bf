"""The docs site, built by ``make docs`` and read in Debian's Chromium with nothing but the site.

The site is built once for the module (into a temporary folder; set REFLOG_DOCS_SITE to a built
site to skip that while working on the test) and served from 127.0.0.1 by a plain static file
server. Chromium (Playwright with ``executable_path``, as tests/browser does) reaches nothing
else: every request to another origin is aborted and recorded, and each test asserts that none
was attempted; a proxy that does not exist stands behind that for whatever might not pass
through Playwright's routing.

What a reader gets:

* every page loads with no console error, and every internal link (and #anchor) resolves;
* every chapter draws each plotly figure its notebook stores, and a recorded run's slider
  scrubs it, with no kernel;
* "How reflog differs from Kafka" lists every ``reflog simplification`` note in reflog/;
* the glossary links each term to the code, and to a chapter where one shows it;
* the tour chapter opened in the site's JupyterLite runs top to bottom in the page's own
  Python (Pyodide), and its live figure changes when Play is pressed.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_notebooks_in_jupyterlab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DRAWN,
    PLOTLY,
    WIDGET_VIEW,
    require_chromium,
    wait_until,
    wait_until_changed,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHAPTER = re.compile(r"\d\d-.+\.ipynb")
JUPYTERLAB_ONLY_TAG = "jupyterlab-only"
LITE = "lite"
TOUR = "00-tour"
# No proxy listens on port 9 (discard): a request that escaped Playwright's routing would fail
# there instead of leaving the machine. Chromium sends loopback requests directly.
NO_PROXY_ARGS = ["--proxy-server=http://127.0.0.1:9"]
LITE_RUN_TIMEOUT_MS = 600_000  # Pyodide starts, then the tour runs, on a shared CI machine


def chapters() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if CHAPTER.fullmatch(p.name))


def notebook(path: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(path.read_text())
    return content


def jupyterlab_only(path: Path) -> bool:
    first = notebook(path)["cells"][0]
    return JUPYTERLAB_ONLY_TAG in first.get("metadata", {}).get("tags", [])


def stored_figures(path: Path) -> list[dict[str, Any]]:
    outputs = [o for cell in notebook(path)["cells"] for o in cell.get("outputs", [])]
    return [o["data"][PLOTLY] for o in outputs if PLOTLY in o.get("data", {})]


# --- the site and its server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("REFLOG_DOCS_SITE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("docs") / "html"
    started = time.monotonic()
    subprocess.run(["make", "docs", f"DOCS_HTML={out}"], cwd=ROOT, check=True)
    print(f"make docs built the site in {time.monotonic() - started:.0f} s")
    return out


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Python's static file server, as `make docs-serve` runs it, without its log."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Browsing:
    """A browser context that reaches only the site, and what it tried to reach besides."""

    context: Any
    origin: str
    elsewhere: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def page(self) -> Any:
        page = self.context.new_page()

        def on_console(message: Any) -> None:
            if message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: {error}"))
        return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *NO_PROXY_ARGS]
        )
        yield chromium
        chromium.close()


def local(url: str, origin: str) -> bool:
    return url.startswith((origin + "/", "data:", "blob:", "about:"))


@pytest.fixture
def browsing(browser: Any, server: str) -> Iterator[Browsing]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    browsing = Browsing(context, server)

    def route(route: Any) -> None:
        if local(route.request.url, server):
            route.continue_()
        else:
            browsing.elsewhere.append(route.request.url)
            route.abort()

    def seen(request: Any) -> None:  # what routing might not see (a service worker's)
        if not local(request.url, server):
            browsing.elsewhere.append(request.url)

    context.route("**/*", route)
    context.on("request", seen)
    try:
        yield browsing
    finally:
        context.close()
    assert browsing.elsewhere == [], "requests that left the site's server"


# --- the static pages --------------------------------------------------------------------------


class Links(html.parser.HTMLParser):
    """The links, scripts, stylesheets and images a page refers to, and the ids it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in ("href", "src"):
            value = values.get(name)
            if value and tag in ("a", "link", "script", "img", "iframe"):
                self.refs.append(value)


@functools.cache
def parsed(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(errors="replace"))
    return links


def pages(site: Path) -> list[Path]:
    """Every HTML page of the site but JupyterLite's (its own app)."""
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != LITE)


def test_every_internal_link_of_every_page_resolves(site: Path) -> None:
    broken = []
    for page in pages(site):
        for ref in parsed(page).refs:
            url = urllib.parse.urlsplit(ref)
            if url.scheme or url.netloc:
                assert url.scheme in ("http", "https", "mailto"), ref
                continue  # a link out (the theme's credits): the test of loads checks none loads
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {ref}")
            elif (
                url.fragment
                and target.suffix == ".html"
                and LITE not in target.parts
                and url.fragment not in parsed(target).ids
            ):
                broken.append(f"{page.relative_to(site)}: {ref} (no such anchor)")
    assert broken == []


def test_every_page_loads_with_no_console_error_and_nothing_from_elsewhere(
    site: Path, browsing: Browsing
) -> None:
    page = browsing.page()
    loaded = 0
    for path in pages(site):
        url = f"{browsing.origin}/{path.relative_to(site).as_posix()}"
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, url
        loaded += 1
    assert loaded >= len(chapters()) + 5
    assert browsing.console_errors == []


@pytest.mark.parametrize("chapter", [p.stem for p in chapters()])
def test_chapter_draws_every_stored_figure_and_its_slider_scrubs_without_a_kernel(
    chapter: str, browsing: Browsing
) -> None:
    figures = stored_figures(NOTEBOOKS / f"{chapter}.ipynb")
    page = browsing.page()
    page.goto(f"{browsing.origin}/_generated/chapters/{chapter}.html")
    plots = page.locator(".js-plotly-plot")
    if figures:
        wait_until(page, lambda: page.locator(".js-plotly-plot .main-svg").count() > 0, "drawn")
    assert plots.count() == len(figures)
    for i in range(len(figures)):
        plots.nth(i).locator(".main-svg .cartesianlayer, .main-svg .trace").first.wait_for(
            state="attached", timeout=30_000
        )
    with_slider = [i for i, f in enumerate(figures) if f.get("layout", {}).get("sliders")]
    if with_slider:
        plot = plots.nth(with_slider[0])
        plot.scroll_into_view_if_needed()
        before = plot.evaluate(DRAWN)
        rail = plot.locator(".slider-rail-touch-rect").bounding_box()
        assert rail is not None
        # An early recorded frame: not the rail's very start, which the ▶ ❚❚ buttons may
        # overlap on a figure narrower than the page's column.
        page.mouse.click(rail["x"] + rail["width"] * 0.1, rail["y"] + rail["height"] / 2)
        wait_until_changed(page, plot, before, "scrubbing the stored figure back")
    assert browsing.console_errors == []


def test_every_chapter_that_runs_in_the_browser_links_to_it_in_jupyterlite(site: Path) -> None:
    assert jupyterlab_only(NOTEBOOKS / "02-zero-copy.ipynb")
    for path in chapters():
        page = site / "_generated" / "chapters" / f"{path.stem}.html"
        lite_links = [r for r in parsed(page).refs if f"/{LITE}/" in r]
        if jupyterlab_only(path):
            assert lite_links == [], path.name
            assert "runs only in JupyterLab" in page.read_text()
        else:
            assert lite_links == [f"../../{LITE}/lab/index.html?path={path.name}"], path.name
            assert (site / LITE / "files" / path.name).is_file()


def simplification_notes() -> list[tuple[str, int]]:
    """(file, line) of every "reflog simplification" note in reflog/, found here by grep."""
    found = subprocess.run(
        ["grep", "-rn", "--include=*.py", "reflog simplification", "reflog"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [(line.split(":")[0], int(line.split(":")[1])) for line in found]


def test_how_reflog_differs_lists_every_simplification_note_in_the_code(
    site: Path, browsing: Browsing
) -> None:
    notes = simplification_notes()
    assert len(notes) >= 10
    page = browsing.page()
    page.goto(f"{browsing.origin}/_generated/differences.html")
    text = page.locator("article").inner_text()
    assert f"({len(notes)} notes)" in text
    listed = [li for li in page.locator("article li").all_inner_texts() if "reflog simplif" in li]
    assert len(listed) == len(notes)
    for path, line in notes:
        assert sum(f"({path}:{line})" in li for li in listed) == 1, f"{path}:{line}"


def test_glossary_links_each_term_to_the_code_and_to_a_chapter_that_shows_it(site: Path) -> None:
    text = (site / "glossary.html").read_text()
    terms = re.split(r"<dt ", text)[1:]
    assert {"LEO", "High watermark", "ISR", "Leader epoch", "Generation", "LSO"} <= {
        re.sub(r"<[^>]+>", "", t.split(">", 1)[1].split("</dt>")[0]).strip("¶ \n")
        for t in terms
    }
    for term in terms:
        links = re.findall(r'<a class="reference internal" href="([^"]+)"', term)
        assert any(link.startswith("_generated/api/") for link in links), term[:80]
        if "No chapter yet" not in term:
            assert any(link.startswith("_generated/chapters/") for link in links), term[:80]


def page_text(site: Path, page: str) -> str:
    """A page's text as a reader sees it (tags dropped, entities decoded)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", (site / page).read_text()))


def test_cli_page_holds_every_commands_help_as_the_installed_reflog_prints_it(site: Path) -> None:
    environment = {**os.environ, "COLUMNS": "100"}

    def help_of(*command: str) -> str:
        command_line = [sys.executable, "-m", "reflog", *command, "--help"]
        done = subprocess.run(command_line, capture_output=True, text=True, env=environment)
        assert done.returncode == 0, done.stderr
        return done.stdout

    top = help_of()
    commands = re.findall(r"^    ([\w-]+)", top.split("positional arguments:")[1], re.MULTILINE)
    assert {"broker", "cluster", "topics", "produce", "consume"} <= set(commands)
    text = page_text(site, "_generated/cli.html")
    for command in ["", *commands]:
        usage = help_of(*command.split()).split("\n\n")[0]
        assert " ".join(usage.split()) in " ".join(text.split()), command


def test_exercises_page_gives_each_prompt_and_the_command_that_checks_it(site: Path) -> None:
    text = page_text(site, "_generated/exercises.html")
    folders = sorted(p for p in (ROOT / "exercises").iterdir() if (p / "starter.py").exists())
    assert len(folders) >= 9
    for folder in folders:
        number = int(folder.name.split("-")[0])
        title = (folder / "README.md").read_text().splitlines()[0].lstrip("# ").strip()
        assert f"{number}. {title}" in text
        assert f"python -m exercises check {number}\n" in text


# --- every chapter on the simulated cluster runs on the site's Pyodide ----------------------------

# Runs a notebook's code cells in order in IPython on Pyodide under Node.js, loaded from the
# site's own files exactly as the site's JupyterLite kernel loads them (its lock file, its
# preloaded packages); prints one line per cell, and the error of the first that fails.
RUN_IN_PYODIDE = """
import { loadPyodide } from "SITE_PYODIDE/pyodide.mjs";
import fs from "node:fs";
const [notebookPath, settingsPath] = process.argv.slice(2);
const settings = JSON.parse(fs.readFileSync(settingsPath, "utf8"))["jupyter-config-data"]
  .litePluginSettings["@jupyterlite/pyodide-kernel-extension:kernel"];
const pyodide = await loadPyodide({
  indexURL: "SITE_PYODIDE/", packages: settings.loadPyodideOptions.packages,
});
await pyodide.runPythonAsync(
  "from IPython.core.interactiveshell import InteractiveShell; InteractiveShell.instance()");
const cells = JSON.parse(fs.readFileSync(notebookPath, "utf8")).cells
  .filter(cell => cell.cell_type === "code").map(cell => [].concat(cell.source).join(""));
for (const [i, source] of cells.entries()) {
  pyodide.globals.set("cell_source", source);
  try {
    await pyodide.runPythonAsync(`from IPython import get_ipython
result = await get_ipython().run_cell_async(cell_source, store_history=False)
result.raise_error()`);
    console.log(`cell ${i + 1} ran`);
  } catch (error) {
    console.log(`cell ${i + 1} failed: ${error}`);
    process.exit(1);
  }
}
"""


@pytest.mark.parametrize(
    "chapter", [p.stem for p in chapters() if not jupyterlab_only(p) and p.stem != TOUR]
)
def test_chapter_runs_top_to_bottom_on_the_sites_pyodide(
    chapter: str, site: Path, tmp_path: Path
) -> None:
    """The widgets draw nothing here (no front end): what this checks is that every cell of
    the chapter runs on Pyodide with the packages the site serves. (The tour runs in the
    browser instead, below, with its views live.)"""
    if shutil.which("node") is None:
        pytest.fail("Node.js is missing (Debian's nodejs, which npm needs too)")
    script = tmp_path / "run.mjs"
    script.write_text(RUN_IN_PYODIDE.replace("SITE_PYODIDE", str(site / LITE / "static/pyodide")))
    path = NOTEBOOKS / f"{chapter}.ipynb"
    done = subprocess.run(
        ["node", str(script), str(path), str(site / LITE / "jupyter-lite.json")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    code_cells = sum(c["cell_type"] == "code" for c in notebook(path)["cells"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count(" ran\n") == code_cells


# --- the tour, live in JupyterLite -------------------------------------------------------------


def test_tour_runs_in_jupyterlite_and_its_live_figure_changes_after_play(
    browsing: Browsing, tmp_path: Path
) -> None:
    page = browsing.page()
    try:
        page.goto(f"{browsing.origin}/{LITE}/lab/index.html?path={TOUR}.ipynb")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000
        )
        page.evaluate(
            """async () => {
                const panel = window.jupyterapp.shell.currentWidget;
                await panel.context.ready;
                await panel.sessionContext.ready;
            }"""
        )
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=LITE_RUN_TIMEOUT_MS
        )
        page.evaluate(
            """async () => {
                const app = window.jupyterapp;
                await app.commands.execute('notebook:clear-all-cell-outputs');
                await app.commands.execute('notebook:run-all-cells');
            }"""
        )
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=LITE_RUN_TIMEOUT_MS,
        )
        model = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON()")
        outputs = [o for cell in model["cells"] for o in cell.get("outputs", [])]
        assert [o for o in outputs if o["output_type"] == "error"] == []
        assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs), "no live view"
        view = page.locator(".jp-OutputArea-output:has(.jupyter-widgets .js-plotly-plot)").first
        plot = view.locator(".js-plotly-plot").first
        plot.locator(".main-svg .trace").first.wait_for(state="attached", timeout=120_000)
        assert "Loading widget" not in view.inner_text()
        plot.scroll_into_view_if_needed()
        before = plot.evaluate(DRAWN)
        view.locator("button", has_text="Play").first.click()
        wait_until_changed(page, plot, before, "pressing Play")
        assert browsing.console_errors == []
    except Exception:
        page.screenshot(path=str(tmp_path / "lite-failure.png"), full_page=True)
        raise
    finally:
        page.screenshot(path=str(tmp_path / "lite.png"))
