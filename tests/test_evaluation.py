"""evaluate(): per-model rows equal scipy, NaN handling with notes, paired tests, ties."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

from iqa_eval.data.dataset import Dataset
from iqa_eval.data.simulation import simulate_study
from iqa_eval.errors import InputError, IQAEvalWarning
from iqa_eval.studies.evaluation import evaluate
from iqa_eval.stats.inference import williams_test
from iqa_eval.stats.mapping import fit_mapping

MODELS = ["precise", "noisy", "saturating", "distance", "high_end", "fine_grain"]


def _dataset(n=400, seed=1, std=True):
    df = simulate_study(n, seed=seed)
    preds = {m: df[m].to_numpy(float) for m in MODELS}
    return Dataset(mos=df["mos"].to_numpy(float), predictions=preds,
                   std=df["std"].to_numpy(float) if std else None,
                   n_ratings=df["n_ratings"].to_numpy(float) if std else None,
                   sources={m: ("study.csv", m) for m in MODELS} | {"mos": ("study.csv", "mos")})


def test_rows_equal_scipy_and_sorted():
    data = _dataset().oriented()
    ev = evaluate(data)
    t = ev.table
    assert list(t["srocc"]) == sorted(t["srocc"], reverse=True)
    for row in t.to_dict("records"):
        x, y = data.predictions[row["model"]], data.mos
        assert row["srocc"] == pytest.approx(st.spearmanr(x, y)[0], abs=1e-12)
        assert row["krcc"] == pytest.approx(st.kendalltau(x, y)[0], abs=1e-12)
        assert row["plcc_raw"] == pytest.approx(st.pearsonr(x, y)[0], abs=1e-12)
        fit = fit_mapping(x, y)
        f = fit.predict(x)
        assert row["plcc"] == pytest.approx(st.pearsonr(f, y)[0], abs=1e-12)
        assert row["rmse"] == pytest.approx(np.sqrt(np.mean((y - f) ** 2)), rel=1e-10)
        assert row["srocc_ci_low"] < row["srocc"] < row["srocc_ci_high"]
        assert row["mapping"] == "logistic4" and row["n"] == 400
        assert 0 <= row["outlier_ratio"] <= 1 and row["rmse_star"] >= 0
    assert t.set_index("model").loc["distance", "flipped"]
    assert not t.set_index("model").loc["precise", "flipped"]
    assert {"model", "n", "srocc", "srocc_ci_low", "srocc_ci_high", "krcc", "krcc_ci_low", "krcc_ci_high", "plcc_raw", "plcc",
            "plcc_ci_low", "plcc_ci_high", "rmse", "mae", "mapping", "tied_with_best", "flipped"} <= set(t.columns)


def test_pairwise_williams_and_tie_rule():
    data = _dataset().oriented()
    ev = evaluate(data)
    p = ev.pairwise
    assert len(p) == 2 * 15 and set(p["metric"]) == {"srocc", "plcc"}
    assert p["bootstrap_pvalue"].isna().all()  # analytic by default
    r = p[(p.metric == "srocc")].iloc[0]
    a, b, y = data.predictions[r.model_a], data.predictions[r.model_b], data.mos
    ra, rb, rab = st.spearmanr(a, y)[0], st.spearmanr(b, y)[0], st.spearmanr(a, b)[0]
    assert r["diff"] == pytest.approx(ra - rb, abs=1e-12)
    assert r.williams_pvalue == pytest.approx(williams_test(ra, rb, rab, y.size)[1], rel=1e-9)
    # the tie rule, recomputed from the pairwise table
    best = ev.table["model"].iloc[0]
    assert ev.best == best
    for row in ev.table.itertuples():
        if row.model == best:
            assert row.tied_with_best
            continue
        q = p[(p.metric == "srocc") & (((p.model_a == best) & (p.model_b == row.model)) |
                                       ((p.model_b == best) & (p.model_a == row.model)))]
        assert row.tied_with_best == bool(q.williams_pvalue.iloc[0] >= 0.05)
    assert "Williams" in ev.settings["tie_rule"]


def test_nan_rows_dropped_per_model_with_notes():
    data = _dataset(std=False)
    preds = dict(data.predictions)
    preds["noisy"] = preds["noisy"].copy()
    preds["noisy"][[2, 5, 9]] = np.nan
    data = Dataset(mos=data.mos, predictions=preds, sources=data.sources)
    ev = evaluate(data, pairwise=True)
    t = ev.table.set_index("model")
    assert t.loc["noisy", "n"] == 397 and t.loc["precise", "n"] == 400
    assert "outlier_ratio" not in t.columns
    assert any("dropped 3 row(s)" in n and "'noisy'" in n for n in ev.notes)
    keep = np.ones(400, bool)
    keep[[2, 5, 9]] = False
    assert t.loc["noisy", "srocc"] == pytest.approx(st.spearmanr(preds["noisy"][keep], data.mos[keep])[0])
    pair = ev.pairwise[(ev.pairwise.model_a.isin(["noisy"]) | ev.pairwise.model_b.isin(["noisy"]))]
    assert (pair["n"] == 397).all()
    other = ev.pairwise[~(ev.pairwise.model_a.isin(["noisy"]) | ev.pairwise.model_b.isin(["noisy"]))]
    assert (other["n"] == 400).all()
    assert any("rows complete in both" in n for n in ev.notes)
    with pytest.raises(InputError, match=r"study.csv, column 'noisy', row 3"):
        evaluate(data, nan_policy="raise")


def test_bootstrap_settings_are_seeded():
    data = _dataset(200).oriented().select(["precise", "noisy", "fine_grain"])
    a = evaluate(data, ci="percentile", n_resamples=200, seed=1)
    b = evaluate(data, ci="percentile", n_resamples=200, seed=1)
    c = evaluate(data, ci="bca", n_resamples=200, seed=1)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.pairwise, b.pairwise)
    assert a.pairwise["bootstrap_pvalue"].notna().all()
    assert not np.allclose(a.table["srocc_ci_low"], c.table["srocc_ci_low"])
    assert "bootstrap" in a.settings["tie_rule"]


def test_constant_model_is_nan_with_warning():
    data = _dataset(100, std=False)
    preds = dict(data.predictions, flat=np.full(100, 3.0))
    data = Dataset(mos=data.mos, predictions=preds)
    with pytest.warns(IQAEvalWarning, match="constant"):
        ev = evaluate(data)
    row = ev.table.set_index("model").loc["flat"]
    assert math.isnan(row["srocc"]) and math.isnan(row["plcc"]) and not row["tied_with_best"]
    assert ev.table["model"].iloc[-1] == "flat"
    assert any("constant" in n for n in ev.notes)


def test_fallback_is_reported():
    rng = np.random.default_rng(0)
    q = rng.normal(size=4)
    ev = evaluate(Dataset(mos=q, predictions={"a": q + 0.1 * rng.normal(size=4)}))
    assert ev.table["mapping"].iloc[0] == "linear"
    assert any("fell back to linear" in n for n in ev.notes)


@pytest.mark.parametrize("kwargs, match", [({"mapping": "cubic"}, "mapping"), ({"ci": "boot"}, "ci"),
                                           ({"alpha": 1.5}, "alpha"), ({"n_resamples": 0}, "n_resamples"),
                                           ({"nan_policy": "propagate"}, "nan_policy")])
def test_bad_options(kwargs, match):
    with pytest.raises(InputError, match=match):
        evaluate(_dataset(50, std=False), **kwargs)


def test_real_data_livec(shared_dir):
    folder = shared_dir / "LIVEC"
    files = sorted(p for p in folder.glob("*.csv") if p.stem not in ("meta", "samples", "golden_points",
                                                                     "golden_heights"))
    frames = {p.stem: pd.read_csv(p) for p in files}
    mos = next(iter(frames.values()))["Ground Truth Labels"].to_numpy(float)
    for f in frames.values():
        np.testing.assert_allclose(f["Ground Truth Labels"].to_numpy(float), mos, rtol=1e-6)  # same images
    data = Dataset(mos=mos, predictions={k: f["Results Scores for CC"].to_numpy(float) for k, f in frames.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = evaluate(data.oriented())
    for row in ev.table.to_dict("records"):
        sign = -1 if row["flipped"] else 1
        x = sign * frames[row["model"]]["Results Scores for CC"].to_numpy(float)
        assert row["srocc"] == pytest.approx(st.spearmanr(x, mos)[0], abs=1e-9)
        assert row["krcc"] == pytest.approx(st.kendalltau(x, mos)[0], abs=1e-9)
    # the reference files store NIQE already negated: nothing needs flipping
    assert not ev.table["flipped"].any() and (ev.table["srocc"] > 0).all()


def test_a_decreasing_fitted_mapping_is_a_note():
    """A model scored opposite to MOS and not oriented: its PLCC after the (falling) logistic is
    positive while its SROCC is negative; the note says why, and an oriented run has no note."""
    from iqa_eval import Dataset, evaluate

    rng = np.random.default_rng(3)
    q = rng.normal(size=300)
    data = Dataset(mos=q, predictions={"good": q + 0.3 * rng.normal(size=300),
                                       "reversed": -q + 0.3 * rng.normal(size=300)})
    ev = evaluate(data)
    row = ev.table.set_index("model").loc["reversed"]
    assert row["srocc"] < 0 < row["plcc"]
    assert any("'reversed': the fitted logistic4 mapping decreases" in n for n in ev.notes)
    assert not any("decreases" in n for n in evaluate(data.oriented()).notes)
