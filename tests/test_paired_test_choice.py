"""The paired test (``test=``) and its ``alternative`` through evaluate, compare_models, benchmark and the
command line: each p equals the library's direct call (compare_correlations / compare_overlapping), a
one-sided p is half the two-sided p in the direction of the statistic (every cocor test here is a
symmetric z or t), and the outputs name the test and the alternative."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from helpers import run_cli
from iqa_eval.data.dataset import Dataset
from iqa_eval.options import PAIRED_TESTS
from iqa_eval.stats.dependent_correlations import compare_overlapping
from iqa_eval.stats.inference import compare_correlations
from iqa_eval.studies.evaluation import evaluate


def _data(n=150, seed=3):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    return Dataset(mos=q, predictions={"good": q + 0.6 * rng.normal(size=n), "fair": q + 0.9 * rng.normal(size=n),
                                       "poor": q + 1.5 * rng.normal(size=n)})


def _one_sided_from_two(stat, p_two, alternative):
    """A symmetric test's one-sided p from its two-sided p and the sign of the statistic."""
    if alternative == "two-sided":
        return p_two
    toward = stat > 0 if alternative == "greater" else stat < 0
    return p_two / 2 if toward else 1 - p_two / 2


def test_paired_tests_are_cocors_tests_with_a_pvalue():
    assert "zou2007" not in PAIRED_TESTS and "williams1959" in PAIRED_TESTS and len(PAIRED_TESTS) == 9


@pytest.mark.parametrize("test", PAIRED_TESTS)
def test_evaluate_pvalue_is_the_direct_call_and_one_sided_is_half(test):
    data = _data()
    ev = {alt: evaluate(data, test=test, alternative=alt) for alt in ("two-sided", "greater", "less")}
    two = ev["two-sided"].pairwise
    for alt, e in ev.items():
        assert e.settings["test"] == test and e.settings["alternative"] == alt
        assert f"({test}), {alt}" in e.settings["tie_rule"]
        for row in e.pairwise.itertuples():
            a, b = data.predictions[row.model_a], data.predictions[row.model_b]
            if row.metric == "srocc":
                direct = compare_correlations(a, b, data.mos, metric="srocc", test=test, alternative=alt,
                                              confidence_level=0.95)
                assert row.pvalue == pytest.approx(direct.pvalue, rel=1e-12, abs=1e-300)
                # and the three rank correlations through the formula module
                ra, rb, ry = stats.rankdata(a), stats.rankdata(b), stats.rankdata(data.mos)
                r = np.corrcoef(np.vstack([ry, ra, rb]))
                factor = 1 + ((r[0, 1] + r[0, 2]) / 2) ** 2 / 2
                ref = compare_overlapping(r[0, 1], r[0, 2], r[1, 2], data.mos.size, test=test, alternative=alt,
                                          z_variance_factor=factor if test not in ("hotelling1940", "williams1959",
                                                                                   "hendrickson1970") else 1.0)
                assert row.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
            assert (row.test, row.alternative) == (test, alt)
            base = two[(two.model_a == row.model_a) & (two.model_b == row.model_b) & (two.metric == row.metric)]
            assert row.pvalue == pytest.approx(_one_sided_from_two(row.diff, float(base.pvalue.iloc[0]), alt),
                                               rel=1e-9)
    # the rows are ordered by SROCC: the first model is the better one, so 'greater' is the small tail
    g, le = ev["greater"].pairwise, ev["less"].pairwise
    s = g["metric"] == "srocc"
    assert (g["diff"][s] > 0).all()
    assert (g["pvalue"][s] < le["pvalue"][s]).all()


def test_the_chosen_tests_p_decides_the_ties():
    rng = np.random.default_rng(0)
    n = 60
    q = rng.normal(size=n)
    data = Dataset(mos=q, predictions={"a": q + 0.5 * rng.normal(size=n), "b": q + 0.62 * rng.normal(size=n)})
    for test in ("williams1959", "steiger1980", "meng1992"):
        for alt in ("two-sided", "greater"):
            ev = evaluate(data, test=test, alternative=alt)
            p = ev.pairwise.set_index("metric").loc["srocc", "pvalue"]
            tied = dict(zip(ev.table["model"], ev.table["tied_with_best"]))
            other = ev.pairwise.iloc[0].model_b
            assert tied[other] == bool(p >= 0.05)
    # a case where the one-sided test separates what the two-sided does not
    two = evaluate(data, alternative="two-sided").pairwise.set_index("metric").loc["srocc", "pvalue"]
    one = evaluate(data, alternative="greater").pairwise.set_index("metric").loc["srocc", "pvalue"]
    assert one == pytest.approx(two / 2, rel=1e-12)


def test_bootstrap_alternative_is_the_paired_bootstrap_one_sided_p():
    from iqa_eval.stats.inference import paired_bootstrap_difference

    data = _data(80)
    ev = evaluate(data, ci="percentile", n_resamples=300, alternative="greater")
    assert "paired bootstrap, greater" in ev.settings["tie_rule"]
    row = ev.pairwise[ev.pairwise.metric == "srocc"].iloc[0]
    ref = paired_bootstrap_difference("srocc", data.predictions[row.model_a], data.predictions[row.model_b], data.mos,
                                      n_resamples=300, seed=0, alternative="greater")
    assert row.bootstrap_pvalue == ref.pvalue


@pytest.mark.parametrize("test", ["williams1959", "steiger1980"])
def test_compare_models_global_tests_take_the_test_and_alternative_in_a_then_b_order(test):
    from iqa_eval.studies.compare import compare_models

    data = _data(200)
    for a, b, alt in (("good", "poor", "greater"), ("poor", "good", "greater"), ("poor", "good", "less"),
                      ("good", "poor", "two-sided")):
        comp = compare_models(data, a, b, grid=(3, 3), test=test, alternative=alt)
        g = comp.global_tests.set_index("metric")
        direct = compare_correlations(data.predictions[a], data.predictions[b], data.mos, metric="srocc",
                                      test=test, alternative=alt)
        assert g.loc["srocc", "pvalue"] == pytest.approx(direct.pvalue, rel=1e-12, abs=1e-300)
        assert g.loc["srocc", "diff"] == pytest.approx(direct.diff, abs=1e-12)
        assert (comp.test, comp.alternative) == (test, alt)
        assert set(g["alternative"]) == {alt} and test in g.loc["srocc", "test"]
        doc = comp.to_dict()["global"]["srocc"]
        assert doc["alternative"] == alt and test in doc["test"]
        # A 'good' vs B 'poor': 'greater' is the small tail, 'less' the large one
        small = (alt == "greater") == (a == "good")
        if alt != "two-sided":
            assert (g.loc["srocc", "pvalue"] < 0.5) == small
            assert (g.loc["krcc", "pvalue"] < 0.5) == small


def test_benchmark_passes_the_test_and_names_it():
    from iqa_eval.studies.bench import benchmark

    sets = {name: _data(120, seed) for name, seed in (("A", 1), ("B", 2))}
    res = benchmark(sets, test="hittner2003", alternative="greater")
    assert (res.settings["test"], res.settings["alternative"]) == ("hittner2003", "greater")
    assert "Hittner-May-Silver z (hittner2003), greater" in res.settings["tie_rule"]
    for name, ev in res.evaluations.items():
        assert set(ev.pairwise["test"]) == {"hittner2003"}
        best = ev.best
        cells = res.cells[res.cells.dataset == name].set_index("model")
        for row in ev.pairwise[(ev.pairwise.metric == "srocc") & (ev.pairwise.model_a == best)].itertuples():
            assert bool(cells.loc[row.model_b, "tied_with_best"]) == bool(row.pvalue >= 0.05)


def test_cli_score_compare_bench_take_and_report_the_test(tmp_path):
    data = _data(100)
    path = tmp_path / "study.csv"
    import pandas as pd

    pd.DataFrame({"mos": data.mos, **data.predictions}).to_csv(path, index=False)
    code, out, err = run_cli("score", path, "--paired-test", "steiger1980", "--alternative", "greater",
                             "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["settings"]["test"] == "steiger1980" and doc["settings"]["alternative"] == "greater"
    assert {r["test"] for r in doc["pairwise"]} == {"steiger1980"}
    ref = evaluate(data, test="steiger1980", alternative="greater").pairwise
    assert [r["pvalue"] for r in doc["pairwise"]] == pytest.approx(list(ref.pvalue), rel=1e-12)
    code, out, err = run_cli("score", path, "--paired-test", "steiger1980", "--alternative", "greater")
    assert code == 0, err
    assert "Steiger's z (steiger1980), greater" in out and "(steiger1980, greater, good vs" in out
    code, out, err = run_cli("score", path, "--paired-test", "zou2007")
    assert code == 2 and "zou2007" in err and "Traceback" not in err

    code, out, err = run_cli("compare", path, "--models", "good,poor", "--grid", "3x3", "--paired-test", "meng1992",
                             "--alternative", "less", "--format", "json")
    assert code == 0, err
    g = json.loads(out)["global"]
    assert g["srocc"]["alternative"] == "less" and "meng1992" in g["srocc"]["test"]
    direct = compare_correlations(data.predictions["good"], data.predictions["poor"], data.mos, test="meng1992",
                                  alternative="less")
    assert g["srocc"]["pvalue"] == pytest.approx(direct.pvalue, rel=1e-12)
    code, out, err = run_cli("compare", path, "--models", "good,poor", "--grid", "3x3", "--alternative", "greater")
    assert code == 0, err
    assert "('greater': A's correlation larger than B's)" in out

    d1, d2 = tmp_path / "D1", tmp_path / "D2"
    for d, seed in ((d1, 1), (d2, 2)):
        d.mkdir()
        other = _data(90, seed)
        pd.DataFrame({"mos": other.mos, **other.predictions}).to_csv(d / "scores.csv", index=False)
    code, out, err = run_cli("bench", d1, d2, "--paired-test", "dunn1969", "--alternative", "greater",
                             "--format", "json")
    assert code == 0, err
    settings = json.loads(out)["settings"]
    assert settings["test"] == "dunn1969" and settings["alternative"] == "greater"
    assert "Dunn-Clark z (dunn1969), greater" in settings["tie_rule"]


def test_cli_breakdowns_refuse_a_paired_test_they_do_not_use(tmp_path):
    data = _data(60)
    path = tmp_path / "study.csv"
    import pandas as pd

    frame = pd.DataFrame({"image": [f"img_{i % 2}_{i}.png" for i in range(60)], "mos": data.mos, **data.predictions})
    frame.to_csv(path, index=False)
    code, out, err = run_cli("score", path, "--group-pattern", r"^img_(?P<half>\d)_\d+\.png$",
                             "--paired-test", "steiger1980")
    assert code == 2 and err.count("error:") == 1 and "--paired-test" in err
    code, out, err = run_cli("score", path, "--group-pattern", r"^img_(?P<half>\d)_\d+\.png$")
    assert code == 0, err
