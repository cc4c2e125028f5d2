"""The `bench --format html` page in real headless Chromium: names shown as text, no script runs.

Uses the ``browser`` fixture of test_report_browser (Debian's chromium + playwright; FAIL
when CI=true and missing, SKIP otherwise).
"""
from __future__ import annotations

import numpy as np
import pytest

from test_report import EVIL
from test_report_browser import browser  # noqa: F401  (the fixture)

from iqa_eval.studies.bench import benchmark
from iqa_eval.data.dataset import Dataset

pytestmark = pytest.mark.browser


def test_bench_html_shows_user_strings_as_text_and_marks(browser, tmp_path):  # noqa: F811
    rng = np.random.default_rng(0)
    q = rng.normal(size=300)
    data = Dataset(mos=q, predictions={EVIL: q + 0.3 * rng.normal(size=300), "plain": q + rng.normal(size=300)})
    page_path = tmp_path / "bench.html"
    page_path.write_text(benchmark({"D " + EVIL: data, "E": data}).format("html"), encoding="utf-8")
    page = browser.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    assert dialogs == [] and page.locator("img").count() == 0
    assert all(u.startswith("file:") for u in requests)
    assert EVIL in page.locator("th[scope=row]").all_inner_texts()
    assert any(EVIL in t for t in page.locator("thead th").all_inner_texts())
    caption = page.locator("caption").inner_text()
    # the caption says what applies: no dagger is printed here (plain is far behind), so no tie rule
    assert page.locator("td b").count() >= 2 and "Best bold" in caption and "Williams" not in caption
    # an underline means "second best" only: no CI (<small>) and no plain value is drawn underlined,
    # the table's bottom rule included (it is on the last row's cells, not on their contents)
    styles = page.evaluate("""() => [...document.querySelectorAll('td small, td b')].map(e => {
        const s = getComputedStyle(e); return [s.borderBottomStyle, s.textDecorationLine]; })""")
    assert styles and all(style == ["none", "none"] for style in styles), styles
    underlined = page.evaluate("""() => [...document.querySelectorAll('td')].filter(td =>
        getComputedStyle(td).borderBottomStyle !== 'none').length""")
    last_row = page.locator("table > :last-child > tr:last-child > td").count()
    assert underlined == last_row   # only the bottom rule of the table, on its last row's cells
    page.close()
