"""``iqa-eval serve``: the studio in headless Chromium against the real server.

The server is the command itself, started in a subprocess on a free port (``--port 0``; the
test waits for its URL line). Every page runs with the network cut off except that server: a
request anywhere else is aborted and recorded, and must not happen. Exports are compared byte
for byte with the command line the page shows, run in a subprocess.

Screenshots for docs/serve.md: ``IQA_EVAL_SCREENSHOTS=docs/figures pytest -m browser tests/test_serve.py``.
"""
from __future__ import annotations

import os
import queue
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_report_browser import ARGS, CHROMIUM, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "simulated_study.csv"
LIMIT = 400_000                     # --max-upload of the test server (the example has 128 kB)
EVIL = "<img src=x onerror=window.__xss=1>"


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "IQA_EVAL_DEBUG": "0"}


def _start(args, cwd):
    """The server in a subprocess; returns (process, url) once it printed its URL line."""
    proc = subprocess.Popen([sys.executable, "-m", "iqa_eval.cli", "serve", "--port", "0", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=120)          # the event: the URL line (or the end of stdout)
    except queue.Empty:
        proc.kill()
        pytest.fail("the server printed no URL within 120 s")
    assert line.startswith("serving the studio on http://127.0.0.1:"), (line, proc.stderr.read())
    return proc, line.split(" on ", 1)[1].split()[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    tables = folder / "tables"
    tables.mkdir()
    shutil.copy(EXAMPLE, tables / EXAMPLE.name)
    # two more datasets for the paper table: the example's two halves
    df = pd.read_csv(EXAMPLE)
    for name, part in (("setA", df.iloc[:750]), ("setB", df.iloc[750:])):
        (folder / name).mkdir()
        part.to_csv(folder / name / "study.csv", index=False)
    proc, url = _start([str(tables), str(folder / "setA"), str(folder / "setB"), "--max-upload", str(LIMIT),
                        "--workers", "2"], folder)
    yield url
    alive = proc.poll() is None
    proc.terminate()
    out, err = proc.communicate(timeout=60)
    assert alive, f"the server died: {err[-2000:]}"
    assert "Traceback" not in err, err[-3000:]


class Visit:
    """One browser session (its own context: its own session id) on the studio."""

    def __init__(self, browser, url):
        self.url, self.blocked, self.errors, self.dialogs = url, [], [], []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_selector("#upload input[type=file]", state="attached", timeout=60_000)

    def _route(self, route):
        if route.request.url.startswith(self.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def upload(self, *paths):
        self.page.set_input_files("#upload input[type=file]", [str(p) for p in paths])

    def wait_scores(self, timeout=120_000):
        self.page.wait_for_selector("#score-table td", timeout=timeout)
        return self.page.inner_text("#score-table")

    def wait_surface(self, timeout=180_000):
        self.page.wait_for_selector("#surface-contour[src^='data:image/png']", state="attached", timeout=timeout)
        self.page.wait_for_function(
            "() => { const d = document.querySelector('#surface-3d .js-plotly-plot');"
            " return d && d._fullData && d._fullData.length > 0 && d._fullData[0].type === 'surface'; }",
            timeout=timeout)

    def choose(self, dropdown, value):
        """Pick ``value`` in a dcc.Dropdown (open it, click the option)."""
        self.page.click(f"#{dropdown}")
        self.page.get_by_role("option", name=value, exact=True).click()
        self.page.wait_for_function(
            f"() => document.querySelector('#{dropdown}').innerText.trim() === {value!r}")

    def download(self, button):
        with self.page.expect_download(timeout=180_000) as info:
            self.page.click(f"#{button}")
        return info.value.suggested_filename, Path(info.value.path()).read_bytes()

    def check_clean(self):
        assert self.blocked == [], f"the page tried to reach the network: {self.blocked[:5]}"
        assert self.errors == [], f"console errors: {self.errors[:5]}"
        assert self.dialogs == []

    def shot(self, name):
        where = os.environ.get("IQA_EVAL_SCREENSHOTS")
        if where:
            self.page.screenshot(path=str(REPO / where / name), full_page=True)


def _run_cli_line(line, cwd):
    """Run the command line the page shows (``iqa-eval ...``), in ``cwd``; returns its -o file."""
    args = shlex.split(line.split("    #")[0])
    assert args[0] == "iqa-eval"
    done = subprocess.run([sys.executable, "-m", "iqa_eval.cli", *args[1:], "--no-progress"], cwd=cwd,
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    return Path(cwd) / args[args.index("-o") + 1]


def _library_scores(path):
    from iqa_eval.data.io import load_dataset
    from iqa_eval.studies.evaluation import evaluate

    return evaluate(load_dataset([str(path)]).oriented()).table


def test_explore_compare_drill_down_and_export(browser, server, tmp_path):  # noqa: F811
    v = Visit(browser, server)
    v.upload(EXAMPLE)
    text = v.wait_scores()
    # the library's numbers, in its order (SROCC descending), with the tie marks
    table = _library_scores(EXAMPLE)
    rows = v.page.locator("#score-table tr").all_inner_texts()[1:]
    assert [r.split("\t")[0].strip() for r in rows] == list(table["model"])
    for r, (_, want) in zip(rows, table.iterrows()):
        cells = [c.strip() for c in r.split("\t")]
        assert cells[3] == f"{want['srocc']:.4f}" and cells[4] == f"{want['srocc_ci_low']:.4f}"
        assert (cells[1] == "\u2020") == bool(want["tied_with_best"])
    assert "flipped" in v.page.inner_text("#notes")     # the reader's note, on the page
    v.wait_surface()
    assert "GMC surface (SROCC)" in v.page.inner_text("#surface-3d")

    # a view option: no recomputation, another form drawn
    v.choose("view-method", "plcc")
    v.page.wait_for_function("() => document.querySelector('#surface-3d').innerText.includes('GMC surface (PLCC)')")
    # a computation option: a new surface and the command line that gives it
    old = v.page.get_attribute("#surface-contour", "src")
    v.page.fill("#grid", "10x10")
    v.page.press("#grid", "Enter")
    v.page.wait_for_function("() => document.querySelector('#surface-cli').innerText.includes('--grid 10x10')")
    v.page.wait_for_function(f"() => document.querySelector('#surface-contour').src !== {old!r}", timeout=180_000)
    v.shot("serve_explore.png")

    # exports: byte for byte the file the shown command writes
    work = tmp_path / "cli"
    work.mkdir()
    shutil.copy(EXAMPLE, work / EXAMPLE.name)
    for fmt, suffix in (("csv", ".csv"), ("latex", ".tex"), ("markdown", ".md")):
        v.choose("score-format", fmt)
        v.page.wait_for_function(
            f"() => document.querySelector('#score-cli').innerText.endsWith('-o scores{suffix}')")
        name, body = v.download("score-export")
        assert name == f"scores{suffix}"
        assert body == _run_cli_line(v.page.inner_text("#score-cli"), work).read_bytes(), fmt
    v.choose("surface-format", "png")
    name, body = v.download("surface-export")
    assert name == "gmc_plcc.png" and body[:8] == b"\x89PNG\r\n\x1a\n"
    _run_cli_line(v.page.inner_text("#surface-cli"), work)
    assert body == (work / "gmc_plcc.png").read_bytes()

    # compare two models, click a cell, see the pairs that carry it
    v.choose("model-a", "high_end")
    v.choose("model-b", "fine_grain")
    v.page.click("#compare-run")
    v.page.wait_for_selector("#compare-table td", timeout=180_000)
    assert [m in v.page.inner_text("#compare-table") for m in ("srocc", "plcc", "krcc")] == [True] * 3
    v.page.wait_for_function("() => { const d = document.querySelector('#diff-map .js-plotly-plot');"
                             " return d && d._fullData && d._fullData[0].type === 'heatmap'; }")
    box = v.page.locator("#diff-map .nsewdrag").first.bounding_box()
    v.page.mouse.click(box["x"] + 0.1 * box["width"], box["y"] + 0.08 * box["height"])   # high MOS, small |dMOS|
    v.page.wait_for_selector("#cell-pairs td", timeout=60_000)
    pairs = v.page.locator("#cell-pairs tr").all_inner_texts()[1:]
    assert len(pairs) == 15
    header = v.page.locator("#cell-pairs tr").first.inner_text().split("\t")
    assert [h.strip() for h in header[:4]] == ["image_i", "image_j", "weight", "share"]
    names = set(pd.read_csv(EXAMPLE)["image"])
    weights = []
    for p in pairs:
        cells = [c.strip() for c in p.split("\t")]
        assert cells[0] in names and cells[1] in names
        weights.append(float(cells[2]))
    assert weights == sorted(weights, reverse=True) and weights[-1] > 0
    assert "MOS" in v.page.inner_text("#pairs-title")
    v.shot("serve_compare.png")
    name, body = v.download("compare-export")
    assert body == _run_cli_line(v.page.inner_text("#compare-cli"), work).read_bytes()
    assert v.page.inner_text("#error") == ""
    v.check_clean()
    v.context.close()


def test_sessions_see_only_their_own_data_and_hostile_names_are_inert(browser, server, tmp_path):  # noqa: F811
    df = pd.read_csv(EXAMPLE).head(300)
    other = tmp_path / "other.csv"
    pd.DataFrame({"image": df["image"], "mos": df["mos"], "std": df["std"], "alpha_net": df["precise"],
                  EVIL: df["noisy"]}).to_csv(other, index=False)
    a, b = Visit(browser, server), Visit(browser, server)
    a.upload(EXAMPLE)
    b.upload(other)
    text_a, text_b = a.wait_scores(), b.wait_scores()
    assert "precise" in text_a and "alpha_net" not in text_a and EVIL not in text_a
    assert "alpha_net" in text_b and EVIL in text_b and "precise" not in text_b   # shown as text
    # a new computation in one session leaves the other's page and data alone
    a.choose("mapping", "linear")
    a.page.wait_for_function("() => document.querySelector('#score-table').innerText.includes('linear')")
    b.wait_surface()
    assert "precise" not in b.page.inner_text("#data-status")
    assert "1500 images" in a.page.inner_text("#data-status") and "300 images" in b.page.inner_text("#data-status")
    for v in (a, b):
        assert v.page.evaluate("() => window.__xss === undefined")
        assert v.page.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
        v.check_clean()
    b.shot("serve_hostile_name.png")
    a.context.close()
    b.context.close()


def test_bad_uploads_are_errors_on_the_page_and_the_server_keeps_serving(browser, server, tmp_path):  # noqa: F811
    v = Visit(browser, server)
    big = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"mos": rng.random(15_000), "a": rng.random(15_000)}).to_csv(big, index=False)
    assert big.stat().st_size > LIMIT
    v.upload(big)
    v.page.wait_for_function("() => document.querySelector('#error').innerText.includes('limit')")
    assert v.page.inner_text("#error") == (f"error: the upload has {big.stat().st_size:,} bytes; the limit is "
                                           f"{LIMIT:,} (iqa-eval serve --max-upload)")
    # far over the limit (beyond what the server accepts in one request): the page says so too,
    # and nothing is sent
    huge = tmp_path / "huge.csv"
    pd.DataFrame({"mos": rng.random(60_000), "a": rng.random(60_000)}).to_csv(huge, index=False)
    assert huge.stat().st_size > LIMIT * 4 / 3 + 2 ** 20
    sent = []
    v.page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if r.method == "POST" else None)
    v.page.evaluate("() => { document.querySelector('#error').innerText = ''; }")
    v.upload(huge)
    v.page.wait_for_function("() => document.querySelector('#error').innerText.includes('limit')")
    assert f"{huge.stat().st_size:,} bytes" in v.page.inner_text("#error")
    assert max(sent, default=0) < LIMIT, "the over-limit file was sent to the server"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"mos,a\n1,2\n\x00\xff\xfe garbage,\x01\n3\n")
    v.upload(bad)
    v.page.wait_for_function("() => document.querySelector('#error').innerText.includes('bad.csv')")
    message = v.page.inner_text("#error")
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message
    # the same page, the same server: a good file still works
    v.upload(EXAMPLE)
    v.wait_scores()
    v.page.wait_for_function("() => document.querySelector('#error').innerText === ''")
    v.check_clean()
    v.context.close()


def test_a_table_given_at_start_is_chosen_from_a_list_and_a_project_restores_it(browser, server, tmp_path):  # noqa: F811
    import urllib.request

    with urllib.request.urlopen(server, timeout=60) as page:
        csp = page.headers["Content-Security-Policy"]
        body = page.read().decode()
    scripts = csp.split("script-src ")[1].split(";")[0].split()
    assert scripts[0] == "'self'" and all(s.startswith("'sha256-") for s in scripts[1:]), csp
    assert "frame-ancestors 'none'" in csp and "http" not in csp
    assert "https://" not in body and "cdn" not in body.lower()      # every script from this server
    v = Visit(browser, server)
    v.choose("source", f"tables/{EXAMPLE.name}")
    v.wait_scores()
    assert "1500 images" in v.page.inner_text("#data-status")
    # the session as a project file, loaded in a new browser context: the same table and options
    v.choose("mapping", "linear")
    v.page.wait_for_function("() => document.querySelector('#score-table').innerText.includes('linear')",
                             timeout=120_000)
    table = v.page.inner_text("#score-table")
    name, body = v.download("project-save")
    assert name == "iqa-eval-project.json" and f"tables/{EXAMPLE.name}".encode() in body
    saved = tmp_path / name
    saved.write_bytes(body)
    (tmp_path / "old.json").write_bytes(body.replace(b'"version": 1', b'"version": 0'))
    v.check_clean()
    v.context.close()
    w = Visit(browser, server)
    w.page.set_input_files("#project-load input[type=file]", str(tmp_path / "old.json"))
    w.page.wait_for_function("() => document.querySelector('#error').innerText.includes('version 0')")
    assert w.page.inner_text("#error").strip().count("\n") == 0
    w.page.set_input_files("#project-load input[type=file]", str(saved))
    w.page.wait_for_function("() => document.querySelector('#score-table').innerText.includes('linear')",
                             timeout=120_000)
    assert w.page.inner_text("#score-table") == table
    assert w.page.inner_text("#mapping").strip() == "linear" and "1500 images" in w.page.inner_text("#data-status")
    w.check_clean()
    w.context.close()


def _post(url, body):
    import json
    import urllib.request

    request = urllib.request.Request(url + "_dash-update-component", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read()) if answer.status == 200 else {}


def _with(body, **values):
    """A recorded callback request with some inputs/states replaced (``values``: 'id.prop' -> value)."""
    import copy

    body = copy.deepcopy(body)
    for item in body.get("inputs", []) + body.get("state", []):
        key = f"{item['id']}.{item['property']}"
        if key in values:
            item["value"] = values[key]
    return body


def _scored_in_http_session(url, recorded, path, deadline):
    """One session driven through the page's own callback requests: upload, score, surfaces,
    poll until both are delivered, then read the table and the figure."""
    import base64
    import secrets
    import time

    sid = secrets.token_urlsafe(24)
    content = "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode()
    payload = {"contents": [content], "filenames": [path.name], "at": 0}
    loaded = _post(url, _with(recorded["load"], **{"upload-payload.data": payload, "sid.data": sid}))["response"]
    version = loaded["data-version"]["data"]
    status = loaded["data-status"]["children"]
    _post(url, _with(recorded["score"], **{"data-version.data": version, "sid.data": sid}))
    _post(url, _with(recorded["surface"], **{"data-version.data": version, "sid.data": sid}))
    seen = {"score-version": 0, "surface-version": 0}
    while not all(seen.values()):
        assert time.monotonic() < deadline, f"{path.name}: no result by the deadline"
        answer = _post(url, _with(recorded["poll"], **{"sid.data": sid, "score-version.data": seen["score-version"],
                                                       "surface-version.data": seen["surface-version"]}))
        response = answer.get("response", {})
        assert "error" not in response or not response["error"]["children"], response["error"]
        for key in seen:
            if key in response:
                seen[key] = response[key]["data"]
        if not all(seen.values()):
            time.sleep(0.3)            # the page's own poll cadence (the protocol, not a synchronisation)
    table = _post(url, _with(recorded["show-score"], **{"score-version.data": seen["score-version"],
                                                        "sid.data": sid}))["response"]["score-table"]["data"]
    figure = _post(url, _with(recorded["show-surface"], **{"surface-version.data": seen["surface-version"],
                                                           "sid.data": sid}))["response"]["surface-3d"]["figure"]
    return status, table, figure


def test_twenty_concurrent_sessions_each_score_and_draw_a_surface(browser, server, tmp_path):  # noqa: F811
    """20 sessions at once, each with its own data, each scoring and drawing surfaces: driven by
    the requests a real page sends (recorded from one browser session), replayed concurrently
    with other session ids and files; each gets its own, correct table."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    recorded = {}
    keys = {"data-version.data": "load", "score-cli.children": "score", "surface-cli.children": "surface",
            "progress.style": "poll", "score-table.columns": "show-score", "surface-3d.figure": "show-surface"}

    def record(request):
        if "/_dash-update-component" in request.url and request.method == "POST":
            body = request.post_data_json
            for key, name in keys.items():
                if key in body["output"] and name not in recorded:
                    recorded[name] = body

    v = Visit(browser, server)
    v.page.on("request", record)
    df = pd.read_csv(EXAMPLE)
    first = tmp_path / "first.csv"
    df.head(200).to_csv(first, index=False)
    v.upload(first)
    v.wait_scores()
    v.wait_surface()
    v.check_clean()
    v.context.close()
    assert sorted(recorded) == sorted(keys.values())

    paths = []
    for k in range(20):
        path = tmp_path / f"set{k:02d}.csv"
        part = df.iloc[k * 50:k * 50 + 120 + k]        # a different size each: whose table is whose
        part[["image", "mos", "std", "precise", "noisy"]].to_csv(path, index=False)
        paths.append(path)
    deadline = time.monotonic() + 240
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda p: _scored_in_http_session(server, recorded, p, deadline), paths))
    for path, (status, table, figure) in zip(paths, results):
        want = _library_scores(path)
        assert status.startswith(f"{len(pd.read_csv(path))} images, 2 models")
        assert [r["model"] for r in table] == list(want["model"])
        np.testing.assert_allclose([r["srocc"] for r in table], want["srocc"], rtol=1e-12)
        assert [r["n"] for r in table] == list(want["n"])
        assert len(figure["data"]) == 2 and all(d["type"] == "surface" for d in figure["data"])


def test_the_paper_table_of_the_datasets_given_at_start(browser, server, tmp_path):  # noqa: F811
    """The datasets given at start (the DIR arguments) as bench's table: the numbers are the
    library's, each export is byte for byte the file of the command line shown (which follows
    the metrics and format chosen), loading data leaves the table alone, and a changed dataset
    folder is read again."""
    from iqa_eval.studies.bench import benchmark, dataset_spec

    v = Visit(browser, server)
    v.page.click("#bench-run")
    frame = v.page.frame_locator("#bench-table")
    frame.locator("table").wait_for(timeout=180_000)
    text = frame.locator("body").inner_text()
    assert all(name in text for name in ("tables", "setA", "setB"))
    v.page.wait_for_function("() => document.querySelector('#bench-cli').innerText.includes('iqa-eval bench')")
    args = shlex.split(v.page.inner_text("#bench-cli"))
    assert args[:2] == ["iqa-eval", "bench"] and args[-2:] == ["-o", "table.tex"]
    want = benchmark([dataset_spec(p) for p in args[2:5]], nan_policy="omit")
    for cell in want.cells.itertuples():          # every SROCC printed as the library's value
        assert f"{cell.srocc:.3f}" in text
    work = tmp_path / "cli"
    work.mkdir()
    for fmt, suffix in (("latex", ".tex"), ("csv", ".csv"), ("markdown", ".md"), ("html", ".html")):
        v.choose("bench-format", fmt)             # the line follows the format: no rebuild
        v.page.wait_for_function(
            f"() => document.querySelector('#bench-cli').innerText.endsWith('-o table{suffix}')")
        name, body = v.download("bench-export")
        assert name == f"table{suffix}"
        assert body == _run_cli_line(v.page.inner_text("#bench-cli"), work).read_bytes(), fmt
    v.page.click("#bench-metrics")                # a metric added: the frame, the line and the export
    v.page.get_by_role("option", name="krcc", exact=True).click()
    v.page.keyboard.press("Escape")
    v.page.wait_for_function("() => document.querySelector('#bench-cli').innerText.includes('srocc,plcc,krcc')")
    frame.locator("th", has_text="KRCC").first.wait_for(timeout=60_000)
    name, body = v.download("bench-export")
    assert body == _run_cli_line(v.page.inner_text("#bench-cli"), work).read_bytes()
    v.shot("serve_bench.png")

    # loading data for the other sections leaves the paper table shown and exportable
    v.upload(EXAMPLE)
    v.wait_scores()
    assert "setA" in frame.locator("body").inner_text()
    assert v.download("bench-export")[1] == body

    # a table added to a dataset folder while the server runs: the next build reads it
    folder = Path(args[4])
    extra = pd.read_csv(folder / "study.csv")[["image"]].assign(newcomer=np.arange(750, dtype=float))
    extra.to_csv(folder / "extra.csv", index=False)
    try:
        v.page.click("#bench-run")
        # a file's one prediction column is the model named after the file
        frame.locator("th", has_text="extra").first.wait_for(timeout=180_000)
    finally:
        (folder / "extra.csv").unlink()
    v.check_clean()
    v.context.close()
