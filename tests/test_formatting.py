"""format_evaluation: every format carries the rows, marks ties, escapes and parses."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from iqa_eval.data.dataset import Dataset
from iqa_eval.errors import InputError
from iqa_eval.studies.evaluation import evaluate
from iqa_eval.render.formatting import format_evaluation, latex_escape


@pytest.fixture(scope="module")
def ev():
    rng = np.random.default_rng(0)
    q = rng.normal(size=150)
    preds = {"good_1": q + 0.3 * rng.normal(size=150), "good&2": q + 0.31 * rng.normal(size=150),
             "poor%": q + 2 * rng.normal(size=150)}
    preds["good&2"][4] = np.nan
    return evaluate(Dataset(mos=q, predictions=preds))


def test_table_marks_ties_with_legend(ev):
    text = format_evaluation(ev, "table")
    lines = text.splitlines()
    tied = set(ev.table.loc[ev.table.tied_with_best, "model"])
    assert len(tied) >= 1 and "poor%" not in tied
    for name in ev.table["model"]:
        line = next(l for l in lines if l.startswith(name + " ") or l == name)
        assert ("\u2020" in line.split()[1]) == (name in tied)   # the one tie mark, the dagger
    assert any(l.startswith("\u2020 tied with the best") for l in lines)
    # rows in SROCC order
    assert [l.split()[0] for l in lines[2:5]] == list(ev.table["model"])


def test_json_structure_and_nan_as_null(ev):
    doc = json.loads(format_evaluation(ev, "json"))
    assert set(doc) >= {"models", "pairwise", "notes"}
    assert [r["model"] for r in doc["models"]] == list(ev.table["model"])
    assert len(doc["pairwise"]) == len(ev.pairwise)
    assert all(r["bootstrap_pvalue"] is None for r in doc["pairwise"])
    assert any("dropped 1 row" in n for n in doc["notes"])
    assert doc["models"][0]["srocc"] == ev.table["srocc"].iloc[0]


def test_csv_round_trips(ev):
    back = pd.read_csv(io.StringIO(format_evaluation(ev, "csv")))
    assert list(back["model"]) == list(ev.table["model"])
    np.testing.assert_allclose(back["srocc"], ev.table["srocc"], rtol=1e-15)


def test_markdown_and_latex(ev):
    md = format_evaluation(ev, "markdown").splitlines()
    assert md[0].startswith("| model |") and len([l for l in md if l.startswith("| ")]) == 4
    tex = format_evaluation(ev, "latex")
    assert r"good\_1" in tex and r"good\&2" in tex and r"poor\%" in tex
    assert tex.count(r"\\") == 4 and r"\begin{tabular}" in tex and r"\end{tabular}" in tex
    assert latex_escape("a_b{c}~^\\") == r"a\_b\{c\}\textasciitilde{}\textasciicircum{}\textbackslash{}"


def test_unknown_format(ev):
    with pytest.raises(InputError, match="fmt must be one of table, csv, json, markdown, latex; got "):
        format_evaluation(ev, "xml")
