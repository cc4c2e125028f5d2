"""Analytic paired KRCC: per-image concordance counts and the influence-value variance.

References: the counts against a plain O(n^2) double loop over the pairs; tau-b against
scipy.stats.kendalltau; the standard error of the difference against the spread of a large
paired bootstrap (plain loop over seeded resamples, scipy's tau-b on each).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

from iqa_eval.stats import inference as I
from iqa_eval.stats._kendall_influence import concordance_counts


def plain_counts(x, y):
    """C_i = sum_{j != i} sign(x_i - x_j) sign(y_i - y_j); Tx_i, Ty_i = partners untied in x, y."""
    n = x.size
    C, tx, ty = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    for i in range(n):
        for j in range(n):
            if i != j:
                C[i] += int(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]))
                tx[i] += x[i] != x[j]
                ty[i] += y[i] != y[j]
    return C, tx, ty


@pytest.mark.parametrize("case", ["distinct", "ties", "heavy ties", "constant x", "reversed"])
def test_concordance_counts_equal_the_plain_double_loop(case):
    rng = np.random.default_rng(4)
    n = 157
    x, y = rng.normal(size=n), rng.normal(size=n)
    if case == "ties":
        x, y = np.round(x, 1), np.round(y + x, 1)
    elif case == "heavy ties":
        x, y = rng.integers(0, 4, n).astype(float), rng.integers(0, 3, n).astype(float)
    elif case == "constant x":
        x = np.full(n, 2.0)
    elif case == "reversed":
        y = -x
    got = concordance_counts(x, y)
    for g, r in zip(got, plain_counts(x, y)):
        np.testing.assert_array_equal(g, r)


def test_influence_tau_is_tau_b_and_psi_is_centred():
    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=300), 1)
    y = np.round(x + rng.normal(size=300), 1)
    tau, psi = I._kendall_influence(x, y)
    assert tau == pytest.approx(st.kendalltau(x, y)[0], abs=1e-13)
    assert abs(psi.sum()) < 1e-9 * np.abs(psi).sum()
    tau, psi = I._kendall_influence(np.ones(10), y[:10])
    assert math.isnan(tau) and np.isnan(psi).all()


@pytest.mark.slow
@pytest.mark.parametrize("ties", [False, True])
def test_analytic_krcc_difference_matches_a_large_paired_bootstrap(ties):
    rng = np.random.default_rng(6 + ties)
    n = 400
    q = rng.normal(size=n)
    a, b = q + 0.8 * rng.normal(size=n), q + 1.2 * rng.normal(size=n)
    if ties:
        q, a = np.round(q, 1), np.round(a, 1)
    res = I.compare_correlations(a, b, q, metric="krcc", ci="analytic")
    ref_diff = st.kendalltau(a, q)[0] - st.kendalltau(b, q)[0]
    assert res.diff == pytest.approx(ref_diff, abs=1e-12)
    assert math.isnan(res.williams_pvalue) and math.isnan(res.bootstrap_pvalue)
    # reference: a plain paired bootstrap, 3000 seeded resamples, scipy's tau-b on each
    boot_rng = np.random.default_rng(11)
    d = np.empty(3000)
    for k in range(d.size):
        idx = boot_rng.integers(0, n, n)
        d[k] = st.kendalltau(a[idx], q[idx])[0] - st.kendalltau(b[idx], q[idx])[0]
    se_boot = d.std(ddof=1)
    z = st.norm.ppf(0.975)
    se_analytic = (res.ci_high - res.ci_low) / (2 * z)
    # Monte Carlo error of a bootstrap SD from 3000 draws is ~1.3%; first-order vs bootstrap ~ a few %
    assert se_analytic == pytest.approx(se_boot, rel=0.08)
    lo, hi = np.percentile(d, [2.5, 97.5])
    assert res.ci_low == pytest.approx(lo, abs=0.25 * se_boot)
    assert res.ci_high == pytest.approx(hi, abs=0.25 * se_boot)
    assert res.pvalue == pytest.approx(2 * st.norm.sf(abs(res.diff) / se_analytic), rel=1e-9)
    one = I.compare_correlations(a, b, q, metric="krcc", alternative="greater")
    assert one.pvalue == pytest.approx(st.norm.sf(res.diff / se_analytic), rel=1e-9)


def test_analytic_krcc_se_matches_the_jackknife():
    """Fast check (the bootstrap one is slow): the jackknife variance of the difference,
    (n-1)/n sum (d_(i) - mean d_(.))^2 with scipy's tau-b left out one image at a time."""
    rng = np.random.default_rng(9)
    n = 250
    q = np.round(rng.normal(size=n), 1)
    a, b = q + 0.7 * rng.normal(size=n), np.round(q + rng.normal(size=n), 1)
    res = I.compare_correlations(a, b, q, metric="krcc")
    keep = np.ones(n, bool)
    d = np.empty(n)
    for i in range(n):
        keep[i] = False
        d[i] = st.kendalltau(a[keep], q[keep])[0] - st.kendalltau(b[keep], q[keep])[0]
        keep[i] = True
    se_jack = math.sqrt((n - 1) / n * np.sum((d - d.mean()) ** 2))
    se_analytic = (res.ci_high - res.ci_low) / (2 * st.norm.ppf(0.975))
    assert se_analytic == pytest.approx(se_jack, rel=0.03)


def test_krcc_difference_of_identical_models_is_exactly_zero():
    rng = np.random.default_rng(2)
    q = rng.normal(size=50)
    a = q + rng.normal(size=50)
    res = I.compare_correlations(a, a.copy(), q, metric="krcc")
    assert (res.diff, res.ci_low, res.ci_high, res.pvalue) == (0.0, 0.0, 0.0, 1.0)
