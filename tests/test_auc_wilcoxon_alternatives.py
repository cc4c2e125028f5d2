"""``alternative`` on the Wilcoxon-Holm post-hoc test, the DeLong AUC tests and the C0 binomial test of the
Krasula analysis: equal to scipy.stats.wilcoxon(alternative=...) + Holm by hand, and to DeLong's one-sided z
written out below from DeLong, DeLong & Clarke-Pearson (1988) with the O(m n) structural components."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iqa_eval.studies.krasula import auc_delong, binomial_pvalues, delong_pvalues, krasula
from iqa_eval.stats.posthoc import posthoc, wilcoxon_holm


def _holm_by_hand(p):
    """Holm (1979): sort ascending, multiply the j-th smallest by m - j + 1, running maximum, cap at 1."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_wilcoxon_holm_alternative_is_scipys(alternative):
    rng = np.random.default_rng(4)
    values = pd.DataFrame(rng.uniform(0.6, 0.9, size=(9, 4)) + np.array([0.05, 0.03, 0.0, -0.02]),
                          columns=["m1", "m2", "m3", "m4"])
    res = wilcoxon_holm(values, alternative=alternative)
    assert res.settings["alternative"] == alternative and alternative in res.describe()
    ref = [stats.wilcoxon(values[r.model_a], values[r.model_b], alternative=alternative).pvalue
           for r in res.pairs.itertuples()]
    np.testing.assert_allclose(res.pairs["pvalue"], ref, rtol=1e-12)
    np.testing.assert_allclose(res.pairs["pvalue_holm"], _holm_by_hand(ref), rtol=1e-12)
    assert posthoc(values, "wilcoxon-holm", alternative=alternative).pairs.equals(res.pairs)
    if alternative != "two-sided":   # exact, no ties: the one-sided p is half the two-sided in its direction
        two = wilcoxon_holm(values).pairs
        smaller = 0
        for r, t in zip(res.pairs.itertuples(), two.itertuples()):
            if r.pvalue < 0.5:   # the tail the statistic points to (discrete: the other tail is 1 - p/2 + P(T = t))
                smaller += 1
                assert r.pvalue == pytest.approx(t.pvalue / 2, rel=1e-12)
        assert smaller >= 1


def _delong_plain(pos, neg):
    """AUCs and covariance by DeLong et al. (1988), eqs. for V10, V01 and S10, S01, with the kernel
    psi(x, y) = 1 if y < x, 1/2 if y == x, 0 else, written as double loops."""
    k, m = pos.shape
    n = neg.shape[1]
    v10, v01 = np.zeros((k, m)), np.zeros((k, n))
    for r in range(k):
        for i in range(m):
            for j in range(n):
                psi = 1.0 if neg[r, j] < pos[r, i] else 0.5 if neg[r, j] == pos[r, i] else 0.0
                v10[r, i] += psi / n
                v01[r, j] += psi / m
    auc = v10.mean(axis=1)
    s10 = np.array([[np.sum((v10[a] - auc[a]) * (v10[b] - auc[b])) / (m - 1) for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01[a] - auc[a]) * (v01[b] - auc[b])) / (n - 1) for b in range(k)] for a in range(k)])
    return auc, s10 / m + s01 / n


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_delong_one_sided_z_against_the_plain_formula(alternative):
    rng = np.random.default_rng(8)
    truth = np.r_[np.ones(40), np.zeros(55)]
    scores = np.round(np.vstack([truth * 1.0 + rng.normal(size=95), truth * 0.6 + rng.normal(size=95),
                                 truth * 0.9 + rng.normal(size=95)]), 1)   # rounded: ties
    pos, neg = scores[:, truth == 1], scores[:, truth == 0]
    auc, cov = auc_delong(pos, neg)
    auc_ref, cov_ref = _delong_plain(pos, neg)
    np.testing.assert_allclose(auc, auc_ref, rtol=1e-12)
    np.testing.assert_allclose(cov, cov_ref, rtol=1e-10)
    p = delong_pvalues(auc, cov, alternative=alternative)
    for i, j in itertools.permutations(range(3), 2):
        z = (auc_ref[i] - auc_ref[j]) / np.sqrt(cov_ref[i, i] + cov_ref[j, j] - 2 * cov_ref[i, j])
        ref = {"two-sided": 2 * stats.norm.sf(abs(z)), "greater": stats.norm.sf(z), "less": stats.norm.cdf(z)}
        assert p[i, j] == pytest.approx(ref[alternative], rel=1e-9)
    assert np.all(np.diag(p) == 1)
    if alternative == "greater":   # the two one-sided tails of a pair add to 1
        np.testing.assert_allclose(p + p.T, 1 + np.eye(3), rtol=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_binomial_c0_alternative_is_the_pooled_z_tail(alternative):
    c, n = np.array([0.80, 0.75, 0.78]), 400
    p = binomial_pvalues(c, n, alternative=alternative)
    for a, b in itertools.permutations(range(3), 2):
        pooled = (c[a] + c[b]) / 2
        z = (c[a] - c[b]) / np.sqrt(pooled * (1 - pooled) * 2 / n)
        ref = {"two-sided": 2 * stats.norm.sf(abs(z)), "greater": stats.norm.sf(z), "less": stats.norm.cdf(z)}
        assert p[a, b] == pytest.approx(ref[alternative], rel=1e-12)
    # vmaf's significanceBinomial, two-sided: the value of the docstring
    assert binomial_pvalues([0.80, 0.75], 400)[0, 1] == pytest.approx(0.0904, abs=5e-5)


def test_krasula_passes_the_alternative_to_its_tests():
    from iqa_eval.data.dataset import Dataset

    rng = np.random.default_rng(0)
    q = rng.uniform(1, 5, 70)
    data = Dataset(mos=q, predictions={"good": q + 0.3 * rng.normal(size=70), "poor": q + 1.5 * rng.normal(size=70)},
                   std=np.full(70, 0.8), n_ratings=np.full(70, 20.0))
    two, one = krasula(data), krasula(data, alternative="greater")
    assert one.settings["alternative"] == "greater" and "greater" in one.settings["test"]
    for table in ("pvalues_bw", "pvalues_ds", "pvalues_cc0"):
        t, o = getattr(two, table), getattr(one, table)
        for a, b in (("good", "poor"), ("poor", "good")):
            diff_sign = {"pvalues_bw": "auc_bw", "pvalues_ds": "auc_ds", "pvalues_cc0": "cc0"}[table]
            tab = one.table.set_index("model")[diff_sign]
            expected = t.loc[a, b] / 2 if tab[a] > tab[b] else 1 - t.loc[a, b] / 2
            assert o.loc[a, b] == pytest.approx(expected, rel=1e-9)
