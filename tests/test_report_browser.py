"""Open generated pages in headless Chromium with the network blocked.

Checks: no console error, no request leaves the page (every URL that is not file: or
data: is aborted and recorded), a 3D surface is rendered by WebGL (plotly's div holds one
trace per model, a WebGL canvas exists, the screenshot of the figure is not blank and
shows the models' colours), the legend toggles a model, and a model named
``<img src=x onerror=alert(1)>`` runs no script and injects no element.

Needs Debian's ``chromium`` and the ``playwright`` Python package (no ``playwright
install``: the system browser is used). Missing either: the tests FAIL when CI=true and
SKIP otherwise.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_report import EVIL, fake_inputs

from iqa_eval.render import report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# WebGL without a GPU: Chromium falls back to SwiftShader (software GL); recent versions
# want that fallback asked for explicitly.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--enable-unsafe-swiftshader"]

pytestmark = pytest.mark.browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str):
    msg = f"{what} not available for the browser test"
    if _in_ci():
        pytest.fail(msg + " (CI=true: the browser test must run)")
    pytest.skip(msg)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (pip install playwright)")
    if not Path(CHROMIUM).exists():
        _missing(f"chromium ({CHROMIUM}; apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A page opened with every network request blocked and everything it did recorded."""

    def __init__(self, browser, path: Path):
        self.blocked, self.errors, self.dialogs = [], [], []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        # plotly draws asynchronously: wait until every figure has its WebGL scene
        # (predicates are given as functions: a bare expression would be eval'd in the page,
        # which the report's Content-Security-Policy forbids)
        self.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".every(d => d._fullLayout && d.querySelector('.gl-container canvas'))", timeout=60_000)
        self.page.wait_for_timeout(500)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def js(self, code):
        return self.page.evaluate(code)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def _check_surface_rendered(visit, div_index: int, n_models: int):
    div = visit.page.locator(".js-plotly-plot").nth(div_index)
    traces = visit.js(f"""(() => {{
        const d = document.querySelectorAll('.js-plotly-plot')[{div_index}];
        return d._fullData.map(t => [t.type, t.visible, t.z.length]);
    }})()""")
    assert len(traces) == n_models
    assert all(t[0] == "surface" and t[1] is True and t[2] > 1 for t in traces)
    canvas = visit.js(f"""(() => {{
        const c = document.querySelectorAll('.js-plotly-plot')[{div_index}]
                  .querySelector('.gl-container canvas');
        const gl = c.getContext('webgl') || c.getContext('experimental-webgl');
        return [c.width, c.height, !!gl];
    }})()""")
    assert canvas[0] > 100 and canvas[1] > 100 and canvas[2], canvas
    px = _pixels(div.screenshot())
    assert px.std() > 10, "figure screenshot is blank"
    # the surfaces themselves are drawn: many strongly coloured pixels (axes and text are grey)
    saturation = px.max(axis=2) - px.min(axis=2)
    assert (saturation > 60).mean() > 0.02, "no coloured surface pixels in the figure"
    return px


def _check_no_script_ran(visit):
    assert visit.dialogs == []
    assert visit.js("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    assert visit.js("window.__xss === undefined")


def _check_clean(visit):
    assert visit.blocked == [], f"the page tried to reach the network: {visit.blocked[:5]}"
    assert visit.errors == [], f"console errors: {visit.errors[:5]}"


def test_report_renders_offline_and_runs_no_injected_script(browser, tmp_path):
    data, evaluation, gmc, comparison = fake_inputs()
    path = report.write_report(tmp_path / "report.html", evaluation=evaluation, gmc_result=gmc,
                               comparison=comparison, dataset=data, title=f"Report {EVIL}")
    visit = Visit(browser, path)
    try:
        _check_clean(visit)
        _check_no_script_ran(visit)
        n_models = len(data.models)
        assert visit.js("document.querySelectorAll('.js-plotly-plot').length") == 2
        _check_surface_rendered(visit, 0, n_models)
        # the evil name shows literally as text: in the table, the legend and the title
        assert EVIL in visit.js("document.querySelector('#scores table').innerText")
        legend = visit.js("Array.from(document.querySelectorAll('.js-plotly-plot')[0]"
                          ".querySelectorAll('.legendtext')).map(e => e.textContent)")
        assert legend == data.models
        assert visit.js("document.title") == f"Report {EVIL}"
        # every static figure decoded (data URIs, nothing fetched)
        assert visit.js("Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
        # the legend toggles a model
        visit.page.locator(".js-plotly-plot").nth(0).locator(".legendtoggle").nth(1).click()
        # (plotly waits out its double-click delay before acting on a single click)
        visit.page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot')[0]"
                                     "._fullData[1].visible === 'legendonly'", timeout=10_000)
        visible = visit.js("document.querySelectorAll('.js-plotly-plot')[0]._fullData.map(t => t.visible)")
        assert visible == [True, "legendonly", True]
        full = _pixels(visit.page.screenshot(full_page=True))
        assert full.std() > 10
        _check_clean(visit)
    finally:
        visit.page.close()


def test_comparison_page_renders_offline(browser, tmp_path):
    comparison = fake_inputs()[3]
    path = report.write_comparison_page(tmp_path / "compare.html", comparison)
    visit = Visit(browser, path)
    try:
        _check_clean(visit)
        _check_no_script_ran(visit)
        _check_surface_rendered(visit, 0, 2)
    finally:
        visit.page.close()


def _check_cli_page(browser, tmp_path, seed, models, command, options, n_surfaces, selector):
    """Write a CSV whose last model is named like a script, run ``iqa-eval COMMAND`` as a real
    process, open the page it wrote offline, and check it like every other page."""
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(n_images=150, seed=seed)[["image", "mos", "std", *models]]
    src = tmp_path / "study.csv"
    df.rename(columns={models[-1]: EVIL}).to_csv(src, index=False)
    out = tmp_path / f"{command}.html"
    done = subprocess.run([sys.executable, "-m", "iqa_eval.cli", command, str(src), "-o", str(out),
                           *options],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    visit = Visit(browser, out)
    try:
        _check_clean(visit)
        _check_no_script_ran(visit)
        _check_surface_rendered(visit, 0, n_surfaces)
        assert EVIL in visit.js(f"document.querySelector({selector!r}).innerText")
    finally:
        visit.page.close()


def test_cli_report_with_a_hostile_column_name(browser, tmp_path):
    """End to end: ``iqa-eval report`` on a CSV whose model column is named like a script."""
    _check_cli_page(browser, tmp_path, 3, ["precise", "noisy", "high_end"], "report",
                    ["--samples", "40", "--grid-res", "30"], 3, "#scores table")


def test_cli_compare_page_with_a_hostile_column_name(browser, tmp_path):
    """End to end: ``iqa-eval compare -o compare.html`` on two models, one named like a script."""
    _check_cli_page(browser, tmp_path, 5, ["precise", "noisy"], "compare", ["--grid", "8x8"], 2, "h3")
