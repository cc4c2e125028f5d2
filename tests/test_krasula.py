"""Krasula et al. (2016) analysis: AUCs against a plain O(n^2) count, DeLong against its definition."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from helpers import run_cli as run
from helpers import write_simulated_study
from iqa_eval.studies.bench import benchmark
from iqa_eval.data.dataset import Dataset
from iqa_eval.studies.krasula import auc_delong, delong_pvalues, krasula


def _study(n=30, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.uniform(1, 5, n)
    mos = np.round(q + 0.2 * rng.normal(size=n), 2)
    std = rng.uniform(0.4, 1.2, n)
    n_ratings = rng.integers(8, 25, n).astype(float)
    preds = {"good": q + 0.3 * rng.normal(size=n),
             "coarse": np.round(q + 0.5 * rng.normal(size=n)),  # many ties in the differences
             "poor": q + 2.0 * rng.normal(size=n)}
    return Dataset(mos=mos, predictions=preds, std=std, n_ratings=n_ratings)


def _count_auc(pos, neg):
    """P(positive > negative) + P(tie) / 2, counted pair by pair."""
    wins = ties = 0
    for p in pos:
        for q in neg:
            wins += p > q
            ties += p == q
    return (wins + 0.5 * ties) / (len(pos) * len(neg))


def test_aucs_and_c0_equal_a_plain_count_over_image_pairs():
    data = _study()
    res = krasula(data)
    n = len(data)
    sig = {}
    for i in range(n):
        for j in range(i + 1, n):
            z = (data.mos[i] - data.mos[j]) / math.sqrt(data.std[i] ** 2 / data.n_ratings[i]
                                                        + data.std[j] ** 2 / data.n_ratings[j])
            sig[(i, j)] = 1 if z > 2 else (-1 if z < -2 else 0)
    assert res.n_pairs == len(sig) and res.n_different == sum(s != 0 for s in sig.values())
    table = res.table.set_index("model")
    for model, x in data.predictions.items():
        different = [abs(x[i] - x[j]) for (i, j), s in sig.items() if s != 0]
        similar = [abs(x[i] - x[j]) for (i, j), s in sig.items() if s == 0]
        better = [s * (x[i] - x[j]) for (i, j), s in sig.items() if s != 0]  # first image the better one
        worse = [-b for b in better]
        assert table.loc[model, "auc_ds"] == pytest.approx(_count_auc(different, similar), abs=1e-12)
        assert table.loc[model, "auc_bw"] == pytest.approx(_count_auc(better, worse), abs=1e-12)
        c0 = (sum(b > 0 for b in better) + sum(w < 0 for w in worse)) / (len(better) + len(worse))
        assert table.loc[model, "cc0"] == pytest.approx(c0, abs=1e-12)
        # vmaf's THR: 95th percentile of the similar pairs' |difference|, linear interpolation
        # between order statistics at h = 0.95 (m - 1) (numpy's and vmaf's default), by hand
        srt = sorted(similar)
        h = 0.95 * (len(srt) - 1)
        lo = int(math.floor(h))
        thr = srt[lo] + (h - lo) * (srt[min(lo + 1, len(srt) - 1)] - srt[lo])
        assert table.loc[model, "thr"] == pytest.approx(thr, rel=1e-12)
    assert table.loc["good", "auc_bw"] > table.loc["poor", "auc_bw"]


def test_delong_covariance_and_pvalues_equal_the_structural_components_definition():
    rng = np.random.default_rng(1)
    m, n = 40, 55
    truth = np.r_[np.ones(m), np.zeros(n)]
    scores = np.vstack([truth + s * rng.normal(size=m + n) for s in (0.8, 1.0, 1.5)])
    scores[1] = np.round(scores[1], 1)  # ties
    pos, neg = scores[:, :m], scores[:, m:]
    auc, cov = auc_delong(pos, neg)
    # DeLong, DeLong & Clarke-Pearson (1988): psi(X, Y) = 1, 1/2, 0; V10 per positive, V01 per negative
    v10, v01, ref_auc = [], [], []
    for r in range(3):
        psi = (pos[r][:, None] > neg[r][None, :]) + 0.5 * (pos[r][:, None] == neg[r][None, :])
        ref_auc.append(psi.mean())
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    ref_cov = np.cov(np.array(v10)) / m + np.cov(np.array(v01)) / n
    np.testing.assert_allclose(auc, ref_auc, atol=1e-14)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-14)
    p = delong_pvalues(auc, cov)
    z = (ref_auc[0] - ref_auc[2]) / math.sqrt(ref_cov[0, 0] + ref_cov[2, 2] - 2 * ref_cov[0, 2])
    assert p[0, 2] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    assert p[2, 0] == p[0, 2] and p[1, 1] == 1.0
    # one scorer: the AUC is scipy's Mann-Whitney U / (m n)
    u = stats.mannwhitneyu(pos[1], neg[1]).statistic
    assert auc[1] == pytest.approx(u / (m * n), abs=1e-14)


def test_large_sets_use_a_seeded_subset_within_max_pairs():
    data = _study(200, seed=2)
    a = krasula(data, max_pairs=1000, seed=3)
    b = krasula(data, max_pairs=1000, seed=3)
    assert a.n_pairs <= 1000 and a.n_images == 45
    assert any("random subset of 45 images (seed 3)" in note for note in a.notes)
    assert a.table.equals(b.table)


def test_score_and_bench_krasula_outputs_and_notes(tmp_path):
    study = write_simulated_study(tmp_path, 120, 4)
    code, out, err = run("score", study, "--krasula", "--format", "json")
    assert code == 0, err
    k = json.loads(out)["krasula"]["the data"]
    assert {m["model"] for m in k["models"]} == {"precise", "noisy", "saturating", "distance", "high_end", "fine_grain"}
    assert set(k["delong"][0]) == {"model_a", "model_b", "different_similar_pvalue", "better_worse_pvalue",
                                   "cc0_pvalue"} and k["n_pairs"] == 120 * 119 // 2
    assert "thr" in k["models"][0] and "1e-8" in k["settings"]["se_floor"]
    code, out, err = run("score", study, "--krasula")
    assert code == 0 and "AUC better/worse" in out and "not adjusted for multiplicity" in out
    assert "THR" in out and "p_c0 = " in out and "Standard-error floor: a zero standard error" in out
    assert "treat the pairs as independent" in out
    code, _, err = run("score", study, "--krasula", "--format", "csv")
    assert code == 2 and err.startswith("error: ") and "--krasula" in err and "krasula=True" not in err
    no_ratings = tmp_path / "no_n.csv"
    import pandas as pd
    pd.read_csv(study).drop(columns=["n_ratings"]).to_csv(no_ratings, index=False)
    code, out, err = run("score", no_ratings, "--krasula")
    assert code == 0 and "Krasula analysis skipped: no number-of-ratings column" in err
    assert "--std-col / --nratings-col" in err            # the library's std_col / nratings_col, in CLI words
    res = benchmark({"S": _study(40, 5), "T": Dataset(mos=_study(40, 6).mos, predictions=_study(40, 6).predictions)},
                    krasula=True)
    assert list(res.krasula) == ["S"] and any("T: Krasula analysis skipped" in n for n in res.notes)
    assert "Krasula et al. (2016) on S" in res.format("markdown")


@pytest.mark.parametrize("option, value, message", [
    ("z_critical", 0.0, "z_critical must be a number > 0; got 0.0"),
    ("max_pairs", 2, "max_pairs must be an integer >= 3; got 2"),
    ("max_pairs", 10.5, "max_pairs must be an integer >= 3; got 10.5"),
    ("seed", -1, "seed must be an integer >= 0; got -1"),
    ("nan_policy", "propagate", "nan_policy must be one of omit, raise; got 'propagate'"),
])
def test_options_are_validated_in_the_package_vocabulary(option, value, message):
    from iqa_eval.errors import InputError

    with pytest.raises(InputError) as info:
        krasula(_study(), **{option: value})
    assert str(info.value) == message


def test_public_names():
    import iqa_eval

    assert iqa_eval.krasula is krasula and iqa_eval.KrasulaResult.__name__ == "KrasulaResult"
    assert iqa_eval.krasula(_study()).table.equals(krasula(_study()).table)


def test_cc0_binomial_pvalues_equal_the_two_proportion_chi_square():
    """vmaf's significanceBinomial is the pooled two-proportion z test: its p equals scipy's 2x2
    chi-square without continuity correction on (correct, wrong) counts of the different pairs."""
    res = krasula(_study(n=60))
    n = res.n_different
    c0 = res.table.set_index("model")["cc0"]
    models = list(c0.index)
    for a in models:
        for b in models:
            if a == b:
                assert res.pvalues_cc0.loc[a, b] == 1.0
                continue
            ka, kb = round(c0[a] * n), round(c0[b] * n)
            ref = stats.chi2_contingency([[ka, n - ka], [kb, n - kb]], correction=False).pvalue
            assert res.pvalues_cc0.loc[a, b] == pytest.approx(ref, rel=1e-9)
    assert "independent" in res.settings["independence"] and "1e-8" in res.settings["se_floor"]


def test_rendered_c0_pvalues_and_thr_are_the_results():
    """The Krasula block shows, for every pair, the C0 binomial p of ``pvalues_cc0`` and per model
    the THR of the table, in every text format; JSON carries them unrounded."""
    from iqa_eval.render._text import format_p
    from iqa_eval.render.krasula import format_krasula, krasula_json

    res = krasula(_study(n=50, seed=3))
    doc = krasula_json({"S": res})["S"]
    table = res.table.set_index("model")
    for row in doc["models"]:
        assert row["thr"] == table.loc[row["model"], "thr"]
    for pair in doc["delong"]:
        assert pair["cc0_pvalue"] == res.pvalues_cc0.loc[pair["model_a"], pair["model_b"]]
    for fmt in ("table", "markdown", "html", "latex"):
        text = format_krasula({"S": res}, fmt)
        assert f"{table.loc['good', 'thr']:.4g}" in text
        p = format_p(res.pvalues_cc0.loc["good", "coarse"])
        assert (f"p_c0 = {p}" if fmt in ("table", "latex") else f"p (C0) = {p}") in text
        assert "1e-8" in text
