"""The tour runs in a real JupyterLab in Debian's Chromium, and its widgets really render.

JupyterLab is started by the test on 127.0.0.1 with its own config and runtime dirs; Chromium
is driven by Playwright (``executable_path``, no browser download). The assertion is on what a
person would see: a plotly figure drawn as SVG and ipywidgets controls, not "Loading widget…"
and not a text repr.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

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


@pytest.fixture
def jupyter_lab(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    port = free_port()
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    log = open(tmp_path / "jupyter.log", "w")  # noqa: SIM115
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
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api?token={token}", timeout_s=60)
        yield f"http://127.0.0.1:{port}/lab/tree/00-tour.ipynb?token={token}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_tour_runs_in_jupyterlab_and_its_widgets_render(jupyter_lab: str, tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(jupyter_lab)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            # JupyterLab may ask which kernel to start; the notebook names python3.
            select = page.get_by_role("button", name="Select", exact=True)
            try:
                select.wait_for(state="visible", timeout=10_000)
                select.click()
            except PlaywrightTimeoutError:
                pass
            page.wait_for_selector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
            )
            # Start from a blank page so that what we see afterwards came from this run.
            page.get_by_role("menuitem", name="Edit", exact=True).click()
            page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
            assert page.locator(".jp-OutputArea-output").count() == 0
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            # The last code cell prints this once everything above it has run.
            page.get_by_text("seed 42 twice gives the same trace: True").wait_for(timeout=180_000)
            plot = page.locator(".js-plotly-plot .main-svg").first
            plot.wait_for(state="visible", timeout=60_000)
            plot.scroll_into_view_if_needed()
            # plotly draws the axes before the traces: on a busy machine the bars come later.
            bars = page.locator(".js-plotly-plot .bars path, .js-plotly-plot .trace.bars")
            bars.first.wait_for(state="attached", timeout=60_000)
            assert bars.count() > 0
            assert page.locator(".widget-toggle-button").first.is_visible()
            assert page.locator(".widget-slider, .widget-hslider").first.is_visible()
            # Play runs the cluster live on the kernel's loop: the clock and bars move.
            page.locator(".widget-toggle-button").first.click()
            page.wait_for_function(
                """() => [...document.querySelectorAll('.widget-html')].some(
                    e => {
                        const m = e.textContent.match(/t = (\\d+) ms/);
                        return m && +m[1] > 2500;
                    })""",
                timeout=60_000,
            )
            page.locator(".widget-toggle-button").first.click()  # pause again
            text = page.locator(".jp-Notebook").inner_text()
            assert "Loading widget" not in text
            assert "FigureWidget(" not in text
            assert "Error displaying widget" not in text
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            page.screenshot(path=str(tmp_path / "tour.png"), full_page=True)
            browser.close()
