"""The HTML report: self-contained, every user string escaped, the numbers it was given shown.

The report only lays out results computed elsewhere, so these tests feed it stand-ins with
the attributes of Evaluation / GMCResult / Comparison (their numbers are checked in their
own test files); the end-to-end page of the real pipeline is opened in a browser in
test_report_browser.py.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli
from iqa_eval.render import report
from iqa_eval.data.dataset import Dataset
from iqa_eval.errors import InputError

EVIL = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT = "</script><script>alert(2)</script>"


class IdentityFit:
    kind = "linear"
    params = np.array([1.0, 0.0])

    def predict(self, x):
        return np.asarray(x, dtype=float)


def fake_inputs(models=("precise", EVIL, "noisy"), n=80, seed=0, tied=(0, 1)):
    """(dataset, evaluation, gmc_result, comparison) stand-ins with the documented attributes."""
    rng = np.random.default_rng(seed)
    mos = rng.uniform(1, 5, n)
    preds = {m: mos + rng.normal(0, 0.2 * (k + 1), n) for k, m in enumerate(models)}
    sources = {m: ("preds.csv", m) for m in models}
    sources["mos"] = (f"{EVIL}.csv", "mos")
    data = Dataset(mos=mos, predictions=preds, sources=sources, flipped=(models[-1],),
                   notes=(f"dropped 1 row(s) with NaN/inf/empty prediction in column {EVIL!r}",))
    rows = [dict(model=m, n=n, srocc=0.9 - 0.05 * k, srocc_ci_low=0.85 - 0.05 * k, srocc_ci_high=0.93 - 0.05 * k,
                 krcc=0.7 - 0.05 * k, plcc=0.9 - 0.04 * k, plcc_ci_low=0.86 - 0.04 * k,
                 plcc_ci_high=0.93 - 0.04 * k, rmse=0.3 + 0.1 * k, mapping="logistic4",
                 tied_with_best=k in tied, flipped=(k == len(models) - 1)) for k, m in enumerate(models)]
    evaluation = SimpleNamespace(
        table=pd.DataFrame(rows),
        pairwise=pd.DataFrame({"model_a": [models[0]], "model_b": [models[1]], "diff": [0.05], "williams_pvalue": [0.2]}),
        fits={m: IdentityFit() for m in models}, notes=[f"fit note for {EVIL}"])
    q, qd = np.meshgrid(np.linspace(1, 5, 12), np.linspace(0, 4, 9))
    frames = [pd.DataFrame({"model": m, "method": method, "Q": q.ravel(), "Qd": qd.ravel(),
                            "value": (0.4 + 0.1 * k + 0.1 * np.sin(q) + 0.05 * qd).ravel()})
              for k, m in enumerate(models) for method in ("srocc", "plcc")]
    surface = pd.concat(frames, ignore_index=True)
    scores = surface.groupby(["model", "method"], sort=False)["value"].mean().rename("gmc").reset_index()
    gmc = SimpleNamespace(points=None, surface=surface, scores=scores, notes=[f"gmc note {EVIL}"])
    qc, qdc = np.meshgrid(np.linspace(1, 5, 8), np.linspace(0, 4, 6), indexing="ij")
    a, b = 0.6 + 0.1 * np.sin(qc), 0.6 + 0.02 * qdc
    cells = pd.DataFrame({"Q": qc.ravel(), "Qd": qdc.ravel(), "A": a.ravel(), "B": b.ravel()})
    cells["diff"] = cells.A - cells.B
    cells["ci_low"], cells["ci_high"] = cells["diff"] - 0.05, cells["diff"] + 0.05
    cells["significant"] = (cells.ci_low > 0) | (cells.ci_high < 0)
    cells["tested"] = True
    tests = pd.DataFrame({"metric": ["srocc", "plcc", "krcc"], "A": [0.9, 0.9, 0.7], "B": [0.85, 0.86, 0.66],
                          "diff": [0.05, 0.04, 0.04], "ci_low": [-0.01, -0.02, -0.01],
                          "ci_high": [0.1, 0.1, 0.09], "pvalue": [0.1234, 0.2, 1e-6],
                          "test": ["williams", "williams", "bootstrap"]})
    comparison = SimpleNamespace(models=[models[0], models[1]], method="srocc", global_tests=tests,
                                 cells=cells, n_images=n, alpha=0.05, adjust="maxt", notes=())
    return data, evaluation, gmc, comparison


@functools.lru_cache(maxsize=None)
def default_page():
    return page()


def page(**overrides):
    data, evaluation, gmc, comparison = fake_inputs()
    kwargs = dict(evaluation=evaluation, gmc_result=gmc, comparison=comparison, dataset=data,
                  title=f"Report {EVIL}")
    kwargs.update(overrides)
    return report.report_html(**kwargs)


def scripts(text):
    return re.findall(r"<script>(.*?)</script>", text, flags=re.S)


def outside_scripts(text):
    return re.sub(r"<script>.*?</script>", "<script></script>", text, flags=re.S)


# -- self-contained and safe -------------------------------------------------------------
@pytest.mark.slow
def test_page_embeds_plotly_once_and_requests_nothing():
    from plotly.offline import get_plotlyjs

    text = default_page()
    assert text.count(get_plotlyjs()) == 1  # two methods' surfaces, one copy of plotly.js
    assert text.count('class="plotly-graph-div"') == 2
    rest = outside_scripts(text)
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:|//)", rest)
    assert "<link" not in rest and "@import" not in rest
    # every <img> is an embedded data URI
    for src in re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", rest):
        assert src.startswith("data:image/png;base64,")


def test_content_security_policy_allows_exactly_the_page_scripts():
    text = default_page()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    found = scripts(text)
    assert len(found) >= 4  # plotly config, plotly.js, two figures
    for body in found:
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_user_strings_are_escaped_everywhere():
    text = default_page()
    assert EVIL not in text
    assert "onerror=alert(1)>" not in text
    escaped = html.escape(EVIL)
    rest = outside_scripts(text)
    assert f"<title>Report {escaped}</title>" in text
    assert f'<td class="name">{escaped}</td>' in rest          # score table
    assert f"Global SROCC: precise 0.9000, {escaped} 0.8500" in rest   # comparison summary
    assert f"gmc note {escaped}" in rest and f"fit note for {escaped}" in rest
    assert f"<b>mos</b>: {html.escape(EVIL + '.csv')}" in rest  # input file names
    # inside the plotly JSON the name is HTML-escaped (plotly.js shows it literally) and
    # '<', '>', '/' are JSON-escaped, so no script element can be closed early
    for body in scripts(text):
        assert "</script" not in body.lower()


@pytest.mark.slow
def test_script_closing_names_cannot_break_out_of_the_figure_json():
    data, evaluation, gmc, comparison = fake_inputs(models=("ok", EVIL_SCRIPT))
    text = report.report_html(evaluation=evaluation, gmc_result=gmc, comparison=comparison, dataset=data)
    assert "<script>alert(2)" not in text
    assert all("</script" not in body.lower() for body in scripts(text))
    # the guard itself: an unsafe script body is refused, not written
    with pytest.raises(AssertionError):
        report._page("t", "<script>var s = '</script>';</script>", with_plotly=False)


# -- content ---------------------------------------------------------------------------
def _score_rows(text):
    body = text.split('<section id="scores">')[1].split("</tbody>")[0]
    return re.findall(r'<tr class="(\w*)">(.*?)</tr>', body)


def test_score_table_marks_best_and_ties_and_shows_cis():
    rows = _score_rows(default_page())
    assert [cls for cls, _ in rows] == ["best", "tied", ""]
    best, tied, other = (r for _, r in rows)
    assert "\u2605" in best and "&dagger;" in tied and "&dagger;" not in other and "\u2605" not in other
    assert '0.9000<br><span class="ci">[0.850, 0.930]</span>' in best     # SROCC with its CI
    assert '0.8600<br><span class="ci">[0.820, 0.890]</span>' in tied     # mapped PLCC with its CI
    assert "negated: lower is better" in other


def test_missing_values_print_as_a_dash_not_nan():
    data, evaluation, gmc, comparison = fake_inputs()
    evaluation.table.loc[2, ["srocc", "srocc_ci_low", "srocc_ci_high"]] = np.nan
    text = report.report_html(evaluation=evaluation)
    third = _score_rows(text)[2][1]
    assert "nan" not in third.lower() and "&ndash;" in third


def test_sections_follow_the_inputs_given():
    data, evaluation, gmc, comparison = fake_inputs()
    bare = report.report_html(evaluation=evaluation)
    assert 'id="scores"' in bare
    for section in ("scatter", "gmc", "compare"):
        assert f'id="{section}"' not in bare
    assert "Plotly" not in bare and len(bare) < 100_000
    full = default_page()
    for section in ("scores", "scatter", "gmc", "compare"):
        assert f'id="{section}"' in full
    with pytest.raises(InputError, match="Evaluation"):
        report.report_html(evaluation=None)


def test_gmc_scores_table_holds_the_given_scores():
    data, evaluation, gmc, comparison = fake_inputs()
    text = report.report_html(evaluation=evaluation, gmc_result=gmc)
    section = text.split('id="gmc"')[1]
    for row in gmc.scores.itertuples():
        assert f"{row.gmc:.4f}" in section
    assert "<th>SROCC</th>" in section.replace(' class=""', "")


def test_comparison_section_shows_tests_summary_and_figure():
    text = default_page()
    section = outside_scripts(text).split('id="compare"')[1]
    assert "0.1234" in section and "&lt;1e-4" in section        # p-values
    assert "williams" in section
    assert section.count("data:image/png;base64,") == 1
    frac = 100 * fake_inputs()[3].cells.significant.mean()
    assert f"({frac:.1f}% of cells)" in section


@pytest.mark.slow
def test_several_comparisons_are_all_shown():
    data, evaluation, gmc, comparison = fake_inputs()
    other = SimpleNamespace(**{**vars(comparison), "models": ["precise", "noisy"]})
    text = report.report_html(evaluation=evaluation, comparison=[comparison, other])
    assert text.count("<h3>precise (A) vs") == 2


def test_comparison_page_is_interactive_and_escaped(tmp_path):
    comparison = fake_inputs()[3]
    out = report.write_comparison_page(tmp_path / "c.html", comparison)
    text = out.read_text(encoding="utf-8")
    assert text.count('class="plotly-graph-div"') == 1
    assert EVIL not in text and html.escape(EVIL) in text
    assert outside_scripts(text).count("data:image/png;base64,") == 1


def test_write_report_and_unwritable_path(tmp_path):
    data, evaluation, gmc, comparison = fake_inputs()
    out = report.write_report(tmp_path / "r.html", evaluation=evaluation, dataset=data)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(InputError, match="cannot write"):
        report.write_report(tmp_path / "missing-dir" / "r.html", evaluation=evaluation)


@pytest.mark.slow
def test_each_note_is_listed_once():
    data, evaluation, gmc, comparison = fake_inputs()
    shared = data.notes[0]
    gmc.notes = [shared, "only in gmc"]
    comparison.notes = (shared, "only in compare")
    text = report.report_html(evaluation=evaluation, gmc_result=gmc, comparison=comparison, dataset=data)
    assert text.count(html.escape(shared)) == 1
    assert "note: only in gmc" in text and "note: only in compare" in text


@pytest.mark.slow
def test_output_is_deterministic():
    assert page() == default_page()


# -- what to compare -------------------------------------------------------------------
def _table(srocc, tied):
    return pd.DataFrame({"model": [f"m{k}" for k in range(len(srocc))], "srocc": srocc,
                         "tied_with_best": tied})


def test_models_to_compare_pairs_best_with_each_tied_model():
    table = _table([0.80, 0.90, 0.89, 0.70], [True, True, True, False])  # not sorted
    assert report.models_to_compare(table) == [("m1", "m2"), ("m1", "m0")]
    assert report.models_to_compare(table, max_pairs=1) == [("m1", "m2")]


def test_models_to_compare_falls_back_to_the_top_two():
    table = _table([0.5, np.nan, 0.9, 0.7], [False, False, True, False])
    assert report.models_to_compare(table) == [("m2", "m3")]
    assert report.models_to_compare(table.drop(columns="tied_with_best")) == [("m2", "m3")]
    assert report.models_to_compare(_table([0.9], [True])) == []


# -- the command (end to end) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def study_csv(tmp_path_factory):
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(200, seed=4)
    df = df[["image", "mos", "std", "precise", "noisy", "distance"]].rename(columns={"noisy": EVIL})
    df.loc[5, "precise"] = np.nan
    path = tmp_path_factory.mktemp("report") / "study.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_cli_report_writes_the_page(study_csv, tmp_path):
    out = tmp_path / "r.html"
    code, stdout, stderr = run_cli("report", study_csv, "-o", out, "--samples", "30", "--grid-res", "25",
                                   "--compare-grid", "6x6", "--method", "srocc")
    assert code == 0, stderr
    assert f"wrote {out}" in stderr
    assert "note: dropped 1 row(s)" in stderr            # the NaN in 'precise', said once
    assert "flipped" in stderr                            # 'distance' is lower-is-better
    text = out.read_text(encoding="utf-8")
    assert EVIL not in text and html.escape(EVIL) in text
    for section in ("scores", "scatter", "gmc", "compare"):
        assert f'id="{section}"' in text
    assert text.count('class="plotly-graph-div"') == 1    # one method asked for
    assert "<title>IQA evaluation of study.csv</title>" in text


def test_cli_report_without_comparisons(study_csv, tmp_path):
    out = tmp_path / "r.html"
    code, _, stderr = run_cli("report", study_csv, "-o", out, "--samples", "20", "--grid-res", "20",
                              "--max-compare", "0", "--method", "krcc", "--title", "T")
    assert code == 0, stderr
    text = out.read_text(encoding="utf-8")
    assert 'id="compare"' not in text and "<title>T</title>" in text


def test_cli_report_bad_input_is_one_line_exit_2(tmp_path):
    code, _, stderr = run_cli("report", tmp_path / "missing.csv", "-o", tmp_path / "r.html")
    assert code == 2
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert "missing.csv" in stderr
    assert not (tmp_path / "r.html").exists()
