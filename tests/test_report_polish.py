"""Report polish (issue 16 item 6): notes grouped by kind with a count, the command line's words in
every note, resampling p floors as '≤', the GMC score table ranked, and the all-pairs matrix."""
from __future__ import annotations

import html
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from iqa_eval.cli._common import cli_words
from iqa_eval.data.io import load_dataset
from iqa_eval.render import report
from iqa_eval.render.formatting import summarize_comparison
from iqa_eval.studies.evaluation import evaluate

from test_report import fake_inputs

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated_study.csv"


def _rounding_note(model, diff, row):
    return (f"/data/kadid/{model}.csv: aligned by row order, checked: its MOS column 'Ground Truth Labels' agrees "
            f"with /data/kadid/meta.csv 'mos' row by row only within rounding (largest difference {diff:.3g}, "
            f"row {row}): the values of /data/kadid/meta.csv 'mos' are used")


def test_notes_of_one_kind_are_one_line_with_a_count():
    seven = [_rounding_note(m, d, r) for m, d, r in zip("abcdefg", np.linspace(1e-7, 3e-7, 7), range(10, 17))]
    other = "model 'distance' flipped (scores negated so higher is better)"
    groups = report.group_notes(seven + [other, seven[0]])
    assert [len(members) for _, members in groups] == [7, 1]
    block = report._notes(seven + [other])
    items = re.findall(r'<ul class="notes">(.*)</ul>', block)[0]
    top = items.count("<li>note")
    assert top == 2 and "note (7 of this kind): " + html.escape(seven[0]) in block
    for note in seven[1:]:   # each of the others still on the page, folded
        assert html.escape(note) in block
    assert html.escape(other) in block


def test_notes_speak_the_command_lines_words():
    data, evaluation, gmc, comparison = fake_inputs()
    # the library's own note (evaluation.py) names its parameters; the CLI's page names its options
    note = ("outlier ratio and RMSE* not computed: they need the number of ratings per image with the std of the "
            "individual ratings (give nratings_col or n_ratings=N)")
    evaluation.notes = [note]
    library = report.report_html(evaluation=evaluation)
    assert "nratings_col" in library
    page = report.report_html(evaluation=evaluation, words=cli_words)
    assert "give --nratings-col or --n-ratings N" in page and "nratings_col" not in page and "n_ratings=" not in page


def test_p_floor_reads_as_a_bound():
    assert report._pvalue(2 / 1001, 1000) == "\u2264 0.002"
    frame = pd.DataFrame({"model_a": ["a"], "model_b": ["b"], "bootstrap_pvalue": [2 / 1001],
                          "williams_pvalue": [0.002]})
    table = report.frame_table(frame, n_resamples=1000)
    assert "\u2264 0.002" in table and "0.0020" in table   # the analytic p stays a value
    data, evaluation, gmc, comparison = fake_inputs()
    comparison.global_tests.loc[2, "pvalue"] = 2 / 1001
    comparison.n_resamples = 1000
    text = summarize_comparison(comparison)
    assert "p \u2264 0.002" in text and "p = 0.0020" not in text
    page = report.report_html(evaluation=evaluation, comparison=comparison)
    assert "\u2264 0.002" in page and "0.0020" not in page.split('id="compare"')[1]


def test_gmc_score_table_is_ranked():
    data, evaluation, gmc, comparison = fake_inputs()
    section = report.report_html(evaluation=evaluation, gmc_result=gmc).split('id="gmc"')[1]
    table = section.split("<table>")[1].split("</table>")[0]
    values = [float(v) for v in re.findall(r"<tr><td[^>]*>\d+</td><td[^>]*>[^<]*</td><td[^>]*>([\d.]+)</td>", table)]
    srocc = gmc.scores[gmc.scores.method == "srocc"]["gmc"].to_numpy()
    assert len(values) == len(srocc) and values == sorted(values, reverse=True)
    assert values == [float(f"{v:.4f}") for v in sorted(srocc, reverse=True)]
    ranks = re.findall(r"<tr><td[^>]*>(\d+)</td>", table)
    assert ranks == ["1", "2", "3"] and "ranked by SROCC" in section


def test_report_shows_the_significance_matrix(tmp_path):
    part = tmp_path / "part.csv"   # the shipped example's first 300 images (fast)
    pd.read_csv(EXAMPLE).head(300).to_csv(part, index=False)
    data = load_dataset([part]).oriented(flip=True)
    ev = evaluate(data)
    page = report.report_html(evaluation=ev)   # (no dataset: no scatter plots to draw)
    assert 'class="significance"' in page and "Holm" in page
    assert page.count("<td>\u00b7</td>") == 2 * len(ev.table)   # the diagonal of the SROCC and PLCC blocks
