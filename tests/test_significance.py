"""The all-pairs significance matrix (issue 16 item 3): its p-values are the library's paired test
called directly, Holm written out here; the verdicts follow; text, LaTeX (compiled), JSON, CSV."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import pdflatex, run_cli as run
from iqa_eval.data.io import load_dataset
from iqa_eval.errors import InputError
from iqa_eval.render.significance import format_significance
from iqa_eval.stats.inference import compare_correlations
from iqa_eval.studies.bench import benchmark
from iqa_eval.studies.evaluation import evaluate
from iqa_eval.studies.significance import significance_matrix

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated_study.csv"


def _holm(p):
    """Holm (1979): sort ascending, p_(j) * (m - j + 1) for j = 1..m, running maximum, capped at 1."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    out = np.empty(m)
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[i]))
        out[i] = running
    return out


@pytest.fixture(scope="module")
def example():
    data = load_dataset([EXAMPLE]).oriented(flip=True)
    return data, evaluate(data)


@pytest.mark.parametrize("metric", ["srocc", "plcc"])
def test_pvalues_are_the_paired_test_called_directly_then_holm(example, metric):
    data, ev = example
    res = significance_matrix(ev, metrics=[metric])
    pairs = res.pairs
    models = list(ev.table["model"])
    k = len(models)
    assert len(pairs) == k * (k - 1) // 2 == 15
    direct = []
    for r in pairs.itertuples():
        a, b = data.predictions[r.model_a], data.predictions[r.model_b]
        if metric == "plcc":   # PLCC on the mapped predictions, as score fits them
            a, b = ev.fits[r.model_a].predict(a), ev.fits[r.model_b].predict(b)
        c = compare_correlations(a, b, data.mos, metric=metric)
        direct.append(c.williams_pvalue)
        assert r.pvalue == pytest.approx(c.williams_pvalue, rel=1e-9, abs=1e-300)
        assert r.diff == pytest.approx(c.diff, abs=1e-12)
    adjusted = _holm(direct)
    np.testing.assert_allclose(pairs["pvalue_adjusted"], adjusted, rtol=1e-9, atol=1e-300)
    for r, q in zip(pairs.itertuples(), adjusted):
        assert r.verdict == (np.sign(r.diff) if q < 0.05 else 0.0)
    m = res.matrix("data", metric)
    for r in pairs.itertuples():
        assert m.loc[r.model_a, r.model_b] == r.verdict and m.loc[r.model_b, r.model_a] == -r.verdict
    assert np.isnan(np.diag(m.to_numpy())).all()
    # no adjustment: each pair at alpha (Holm never calls more pairs different)
    plain = significance_matrix(ev, metrics=[metric], multiplicity="none")
    np.testing.assert_array_equal(plain.pairs["pvalue_adjusted"], plain.pairs["pvalue"])
    assert (plain.pairs["verdict"] != 0).sum() >= (pairs["verdict"] != 0).sum()
    assert "Holm's step-down over the 15 pairs of the 6 models" in res.describe()


def test_a_benchmark_gives_one_family_per_dataset_and_metric(example):
    res = benchmark({"A": EXAMPLE, "B": EXAMPLE})
    sm = significance_matrix(res)
    assert len(sm.pairs) == 2 * 2 * 15
    for (d, metric), group in sm.pairs.groupby(["dataset", "metric"]):
        np.testing.assert_allclose(group["pvalue_adjusted"], _holm(group["pvalue"]), rtol=1e-12)
    counts = sm.counts("srocc").set_index("model")
    assert (counts.sum(axis=1) == 2 * 5).all()
    assert counts["better"].sum() == counts["worse"].sum()
    with pytest.raises(InputError, match="metrics must be among srocc, plcc"):
        significance_matrix(res, metrics=["rmse"])
    with pytest.raises(InputError, match="multiplicity must be one of none, holm"):
        significance_matrix(res, multiplicity="bonferroni")


def test_formats_text_latex_json_csv(example, tmp_path):
    _, ev = example
    sm = significance_matrix(ev)
    labels = {"precise": "Pre&cise_1"}
    text = format_significance(sm, "table", labels=labels)
    lines = text.splitlines()
    assert lines[1].split()[0] == "model" and "Pre&cise_1 (" in text
    row = next(line for line in lines if line.startswith("noisy"))
    assert row.split()[-1] == "\u00b7"   # noisy is last in the table's order: its diagonal ends the row
    assert "Holm" in text and "1 = the row model" in text
    tex = format_significance(sm, "latex", labels=labels)
    assert r"Pre\&cise\_1" in tex and r"\toprule" in tex and r"\hline" not in tex
    pdflatex(tmp_path, tex, packages=("booktabs", "graphicx"))
    doc = json.loads(format_significance(sm, "json"))
    assert len(doc["pairs"]) == 30 and doc["settings"]["multiplicity"] == "holm"
    csv = format_significance(sm, "csv")
    assert csv.splitlines()[0] == "dataset,metric,model_a,model_b,n,diff,pvalue,pvalue_adjusted,verdict"


def test_cli_bench_writes_the_matrix(tmp_path):
    out = tmp_path / "sig.txt"
    code, _, err = run("bench", EXAMPLE, "--significance", out, "-o", tmp_path / "t.md")
    assert code == 0, err
    assert "1 = the row model" in out.read_text() and f"wrote {out}" in err
    code, _, err = run("bench", EXAMPLE, "--significance", tmp_path / "sig.png")
    assert code == 2 and "--significance writes" in err and len(err.splitlines()) == 1


def test_cli_score_writes_the_matrix_in_the_files_format(example, tmp_path):
    _, ev = example
    out = tmp_path / "sig.json"
    code, _, err = run("score", EXAMPLE, "--significance", out, "--label", "precise=P")
    assert code == 0, err
    doc = json.loads(out.read_text())
    expected = significance_matrix(ev)
    assert [p["pvalue_adjusted"] for p in doc["pairs"]] == pytest.approx(list(expected.pairs["pvalue_adjusted"]),
                                                                         rel=1e-12, abs=1e-300)
    assert doc["labels"]["precise"] == "P"
    code, _, err = run("score", EXAMPLE, "--significance", tmp_path / "s.tex", "--no-pairwise")
    assert code == 2 and err == "error: --significance needs the paired tests: leave out --no-pairwise\n"


def test_the_chosen_paired_test_decides_and_one_sided_scores_are_refused(example):
    """The matrix reads the p of the paired test the scores were computed with (here Steiger's Z,
    checked against compare_correlations(test=...) called directly); one-sided scores have no
    1 / 0 / - reading in both directions and are refused."""
    data, _ = example
    ev = evaluate(data, test="steiger1980")
    got = significance_matrix(ev, metrics=["srocc"], multiplicity="none")
    assert "steiger1980" in got.settings["test"]
    first = got.pairs.iloc[0]
    direct = compare_correlations(data.predictions[first.model_a], data.predictions[first.model_b], data.mos,
                                  metric="srocc", test="steiger1980")
    assert first.pvalue == pytest.approx(direct.pvalue, rel=1e-12, abs=0)
    with pytest.raises(InputError, match="two-sided"):
        significance_matrix(evaluate(data, alternative="greater"), metrics=["srocc"])
