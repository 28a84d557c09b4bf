"""Every notebook, opened and run in a real JupyterLab in Debian's Chromium, shows what it should.

JupyterLab is started by the test on 127.0.0.1 with its own config, settings and runtime dirs;
Chromium is driven by Playwright (``executable_path``, no browser download). For each notebook,
as a student would meet it:

1. opened before running: the figures stored in it are drawn, and a stored figure with a slider
   scrubs without a kernel;
2. run top to bottom: no error output, every widget output renders (a plotly figure drawn as
   SVG, not "Loading widget…" or a text repr; a protocol inspector's live table with its rows
   and filters), as many as the notebook's own outputs hold;
3. one control of its main view pressed: the figure changes;
4. the view's time slider dragged back (the view says it shows a recorded moment), another
   control pressed: the view is live again (slider at the end, "live", the clock says so);
5. where ``DRIVES`` says what else its figure must show after each control, it shows it
   (07: every processor line its status lists, clear of the states' labels).

Which view of a notebook to drive and which controls to press are data, in ``DRIVES``.
02-zero-copy's last cell stops its cluster (the view then disables its buttons, which the test
checks); as the notebook tells a student, the test then selects that cell and runs all cells
above it, which starts a fresh cluster, and drives that one.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reflog.viz.inspector import STORED_TEXT as INSPECTOR_TABLE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = Path(os.environ.get("REFLOG_BROWSER_NOTEBOOKS_DIR", ROOT / "notebooks"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"
RUN_TIMEOUT_MS = 300_000  # a whole notebook, on a CI machine shared with other jobs


@dataclass(frozen=True)
class Drive:
    """How the test drives one notebook's main view."""

    control: str  # a button of the view whose press changes its figure
    scrubbed_control: str  # pressed while the time slider is back: the view must go live
    view: int = 0  # which widget output of the notebook (in order) is that view
    # The notebook's last cell stops what the view acts on: rerun the cells above it first.
    last_cell_stops_it: bool = False
    # What else its figure must show after each control (page, view), beyond having changed.
    figure_shows: Callable[[Any, Any], None] | None = None


PROCESSOR_STATUS = re.compile(r"^(\S+) \(([^)]*)\): \d+ results sent", re.MULTILINE)
# The texts plotly drew as scatter text (the state panel's labels and lines), with their boxes.
SCATTER_TEXTS = """el => [...el.querySelectorAll('.scatterlayer .textpoint text')].map(t => {
    const r = t.getBoundingClientRect();
    return [t.textContent, r.left, r.top, r.right, r.bottom];
})"""


def processor_lines_drawn_clear_of_states(page: Any, view: Any) -> None:
    """07's figure writes each processor's line that its status lists (the newest three), and
    no line covers a state's label."""
    plot = view.locator(".js-plotly-plot").first

    def expected() -> list[str]:
        status = PROCESSOR_STATUS.findall(view.inner_text())
        return [f"{name}: {life}" for name, life in status][-3:]

    def drawn() -> list[str]:
        return [t[0] for t in plot.evaluate(SCATTER_TEXTS) if t[0].startswith(tuple(
            f"{line.split(':')[0]}:" for line in expected()))]  # fmt: skip

    wait_until(
        page,
        lambda: bool(expected()) and drawn() == expected(),
        "the figure writes every processor line the status lists",
        timeout_s=15,
    )
    texts = plot.evaluate(SCATTER_TEXTS)
    lines = [t for t in texts if t[0] in expected()]
    labels = [t for t in texts if t not in lines]
    assert labels, "the states' labels are drawn"
    for line in lines:
        for label in labels:
            apart = (
                line[3] <= label[1] or label[3] <= line[1] or line[4] <= label[2]
                or label[4] <= line[2]
            )  # fmt: skip
            assert apart, f"{line[0]!r} covers the state label {label[0]!r}"


DRIVES = {
    "00-tour": Drive(control="kill", scrubbed_control="restart"),
    "01-segments": Drive(control="crash follower", scrubbed_control="restart it"),
    "02-zero-copy": Drive(
        control="produce 10 MB", scrubbed_control="consume all", last_cell_stops_it=True
    ),
    "03-raft": Drive(control="propose entry", scrubbed_control="propose entry"),
    "04-replication": Drive(control="kill", scrubbed_control="restart"),
    "05-consumer-groups": Drive(control="add a consumer", scrubbed_control="crash a consumer"),
    "06-idempotence": Drive(control="kill the leader", scrubbed_control="restart"),
    "07-transactions": Drive(
        control="kill the processor",
        scrubbed_control="start a successor",
        figure_shows=processor_lines_drawn_clear_of_states,
    ),
    "08-operations": Drive(control="kill", scrubbed_control="restart"),
    # Its first three widget outputs are the protocol inspector's tables (kcat's metadata, a
    # producer, a consumer joining a group); the fourth is the checker's view.
    "09-checking": Drive(control="kill the leader", scrubbed_control="produce 10", view=3),
}
TIME_SLIDER = "time"  # every view's, from reflog.viz.controls.TimelineControls


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing in CI (scripts/system-deps.sh installs it)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.2)  # polling a server we do not control, bounded by the deadline
    raise TimeoutError(f"{url} did not answer within {timeout_s} s: {last}")


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path

    def open_url(self, notebook: str) -> str:
        # A workspace per notebook, reset: only this notebook open, nothing restored.
        workspace = f"{self.url}/lab/workspaces/{notebook}"
        return f"{workspace}/tree/{notebook}.ipynb?reset&token={self.token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    settings = base / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Every cell in the DOM, so that the test sees all outputs without scrolling.
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port = free_port()
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    log = open(base / "jupyter.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
            # window.jupyterapp, to wait until the notebook's document and kernel are ready.
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api?token={token}", timeout_s=60)
        yield Lab(f"http://127.0.0.1:{port}", token, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def stored_outputs(notebook: str) -> list[dict[str, Any]]:
    content = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())
    return [o for cell in content["cells"] for o in cell.get("outputs", [])]


# What a figure shows, to tell whether it changed: the SVG plotly drew.
DRAWN = "el => [...el.querySelectorAll('.main-svg')].map(s => s.innerHTML).join('')"


def wait_until(page: Any, condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Polls the page until condition() holds: a redraw may replace the elements it reads."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        page.wait_for_timeout(200)  # the browser's clock, bounded by the deadline


def wait_until_changed(page: Any, plot: Any, before: str, what: str) -> None:
    wait_until(page, lambda: plot.evaluate(DRAWN) != before, f"the figure changed after {what}")


def select_kernel_if_asked(page: Any) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    select = page.get_by_role("button", name="Select", exact=True)
    try:
        select.wait_for(state="visible", timeout=10_000)
        select.click()
    except PlaywrightTimeoutError:
        pass


def check_stored_figures(page: Any, notebook: str) -> None:
    """Before any kernel runs: each stored plotly figure is drawn, and a slider scrubs one."""
    stored = [o for o in stored_outputs(notebook) if PLOTLY in o.get("data", {})]
    figures = page.locator(".jp-RenderedPlotly")  # plotly's renderer of its own mime type
    if stored:
        figures.first.locator(".main-svg").first.wait_for(state="visible", timeout=60_000)
    assert figures.count() == len(stored)
    with_slider = [
        i for i, o in enumerate(stored) if o["data"][PLOTLY].get("layout", {}).get("sliders")
    ]
    if not with_slider:
        return
    plot = figures.nth(with_slider[0])
    plot.scroll_into_view_if_needed()
    before = plot.evaluate(DRAWN)
    rail = plot.locator(".slider-rail-touch-rect").bounding_box()
    assert rail is not None
    page.mouse.click(rail["x"] + 3, rail["y"] + rail["height"] / 2)  # the first recorded frame
    wait_until_changed(page, plot, before, "scrubbing the stored figure")


def run_all(page: Any) -> None:
    # Cells show before the document is loaded for good: cleared and run earlier, they would be
    # replaced by the stored ones (untrusted: the views would show their static figures).
    page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            await panel.context.ready;
            await panel.sessionContext.ready;
        }"""
    )
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    # Start from a blank page so that what we see afterwards came from this run.
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    assert page.locator(".jp-OutputArea-output").count() == 0
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # Done when every code cell shows its execution count ("[*]" while queued or running).
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=RUN_TIMEOUT_MS,
    )


def notebook_model(page: Any) -> dict[str, Any]:
    """The notebook as the browser holds it now (outputs included), in .ipynb form."""
    model = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON()")
    assert isinstance(model, dict)
    return model


def plain_text(output: dict[str, Any]) -> str:
    text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def check_live_outputs(page: Any) -> Any:
    """No errors; every widget output rendered with its figure (or, for the protocol
    inspector, its table). Returns the widget outputs."""
    model = notebook_model(page)
    outputs = [o for cell in model["cells"] for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    widgets = page.locator(
        ".jp-OutputArea-output:not(.jp-RenderedPlotly):has(.jupyter-widgets, .js-plotly-plot)"
    )
    views = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
    assert widgets.count() == len(views)
    for i, output in enumerate(views):
        widget = widgets.nth(i)
        if plain_text(output) == INSPECTOR_TABLE:
            # The inspector's live table: a header and the conversation's rows, its filters.
            widget.locator("table tr").nth(1).wait_for(state="attached", timeout=60_000)
            assert widget.locator("select").count() >= 1  # the API filter
            assert widget.locator(".js-plotly-plot").count() == 0
        else:
            # plotly draws the axes before the traces: on a busy machine the traces come later.
            widget.locator(".js-plotly-plot .main-svg .trace").first.wait_for(
                state="attached", timeout=60_000
            )
        text = widget.inner_text()
        assert "Loading widget" not in text
        assert "Error displaying widget" not in text
    # Figures shown without a live twin (plotly's own mime type) are drawn too.
    data = [o.get("data", {}) for o in outputs]
    static_only = [d for d in data if PLOTLY in d and WIDGET_VIEW not in d]
    assert page.locator(".jp-RenderedPlotly .main-svg").count() >= len(static_only)
    assert page.locator(".jp-RenderedPlotly").count() == len(static_only)
    for output in page.locator(".jp-OutputArea").all():
        assert "FigureWidget(" not in output.inner_text()  # a repr instead of the figure
    return widgets


def press(view: Any, label: str) -> None:
    button = view.locator("button", has_text=label).first
    assert button.is_enabled(), f"{label!r} is disabled"
    button.click()


def check_control_changes_figure(page: Any, view: Any, drive: Drive) -> None:
    plot = view.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    before = plot.evaluate(DRAWN)
    press(view, drive.control)
    wait_until_changed(page, plot, before, f"pressing {drive.control!r}")


def check_scrubbed_view_goes_live(page: Any, view: Any, drive: Drive) -> None:
    """Drag the time slider to its start, as a student would, then press a control."""
    slider = view.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{TIME_SLIDER}$"))
    )
    handle = slider.locator(".noUi-handle").first  # noUiSlider: aria-valuenow, aria-valuemax
    live_button = view.locator("button", has_text=re.compile(r"^\s*(go )?live\s*$")).first

    def position() -> tuple[float, float]:
        now, most = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
        return float(now or "nan"), float(most or "nan")

    def says(words: str) -> bool:
        return words in view.inner_text()

    handle.scroll_into_view_if_needed()
    grip, rail = handle.bounding_box(), slider.locator(".noUi-target").bounding_box()
    assert grip is not None and rail is not None
    y = grip["y"] + grip["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(rail["x"] - 20, y, steps=10)
    page.mouse.up()
    wait_until(page, lambda: position()[0] == 0, "the time slider is back at its start")
    # The kernel drew the first recorded moment and stopped following the run.
    wait_until(page, lambda: says("(recorded)"), "the view says it shows a recorded moment")
    assert live_button.inner_text().strip() == "go live"
    recorded = position()[1]
    press(view, drive.scrubbed_control)
    wait_until(page, lambda: position()[1] > recorded, f"{drive.scrubbed_control!r} recorded more")
    wait_until(
        page, lambda: says("(live)"), f"the view is live after {drive.scrubbed_control!r}", 120
    )
    # The slider's end and its handle arrive as two updates (a run that goes on recording
    # moves the end first), so wait for the handle to be at the end rather than read it once.
    wait_until(
        page,
        lambda: position()[0] == position()[1],
        f"the time slider follows the end after {drive.scrubbed_control!r}",
        timeout_s=15,
    )
    assert live_button.inner_text().strip() == "live"


def code_cells_run(page: Any) -> list[int | None]:
    return [
        c.get("execution_count") for c in notebook_model(page)["cells"] if c["cell_type"] == "code"
    ]


def rerun_all_above_last_cell(page: Any, view: Any, drive: Drive) -> Any:
    """The notebook's last cell stopped what its view acts on: the view says so and its
    control is disabled. Do what the notebook tells a student: select the last cell, *Run ▸
    Run All Above Selected Cell*. Returns the widget outputs of that rerun."""
    assert "the cluster is stopped" in view.inner_text()
    assert view.locator("button", has_text=drive.control).first.is_disabled()
    last_count = code_cells_run(page)[-1]
    assert last_count is not None
    page.locator(".jp-CodeCell").last.locator(".jp-InputPrompt").click()  # select, not edit
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Above Selected Cell", exact=True).click()

    def rerun() -> bool:
        counts = code_cells_run(page)[:-1]
        return all(c is not None and c > last_count for c in counts)

    wait_until(page, rerun, "every cell above the last one ran again", RUN_TIMEOUT_MS / 1000)
    return check_live_outputs(page)


@pytest.mark.parametrize("notebook", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_in_jupyterlab_and_its_views_respond(
    notebook: str, lab: Lab, browser: Any, tmp_path: Path
) -> None:
    assert notebook in DRIVES, f"say how to drive {notebook} in DRIVES"
    drive = DRIVES[notebook]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(lab.open_url(notebook))
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        check_stored_figures(page, notebook)
        select_kernel_if_asked(page)
        run_all(page)
        widgets = check_live_outputs(page)
        assert page.get_by_text("Jupyter news").count() == 0  # make venv turns the prompt off
        if drive.last_cell_stops_it:
            widgets = rerun_all_above_last_cell(page, widgets.nth(drive.view), drive)
        view = widgets.nth(drive.view)
        check_control_changes_figure(page, view, drive)
        if drive.figure_shows is not None:
            drive.figure_shows(page, view)
        check_scrubbed_view_goes_live(page, view, drive)
        if drive.figure_shows is not None:
            drive.figure_shows(page, view)
    except Exception:
        page.screenshot(path=str(tmp_path / f"{notebook}-failure.png"), full_page=True)
        raise
    finally:
        page.screenshot(path=str(tmp_path / f"{notebook}.png"), full_page=True)
        page.close()
