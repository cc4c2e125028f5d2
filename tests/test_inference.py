"""Confidence intervals and paired tests against hand formulas, naive resampling and scipy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

from iqa_eval.stats import inference as I
from iqa_eval.stats import metrics as M
from iqa_eval.errors import InputError


def _data(n, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    return q + noise * rng.normal(size=n), q


def test_fisher_ci_matches_hand_formula():
    x, y = _data(60)
    z975 = st.norm.ppf(0.975)
    for f, kind, var in ((M.plcc_raw, "plcc", lambda r, n: 1 / (n - 3)),
                         (M.srocc, "srocc", lambda r, n: (1 + r * r / 2) / (n - 3)),
                         (M.krcc, "krcc", lambda r, n: 0.437 / (n - 4))):
        res = f(x, y)
        r, n = res.statistic, res.n
        lo, hi = res.confidence_interval()
        half = z975 * math.sqrt(var(r, n))
        assert lo == pytest.approx(math.tanh(math.atanh(r) - half), abs=1e-12), kind
        assert hi == pytest.approx(math.tanh(math.atanh(r) + half), abs=1e-12), kind
        lo90, hi90 = res.confidence_interval(0.90)
        assert lo < lo90 < r < hi90 < hi


def test_fisher_ci_small_n_is_nan():
    assert all(map(math.isnan, I.fisher_ci(0.5, 3, kind="plcc")))
    assert all(map(math.isnan, I.fisher_ci(0.5, 4, kind="krcc")))
    assert not any(map(math.isnan, I.fisher_ci(0.5, 5, kind="krcc")))
    with pytest.raises(InputError, match="confidence_level"):
        I.fisher_ci(0.5, 50, kind="plcc", confidence_level=95)


def test_fisher_coverage_sanity():
    # PLCC Fisher interval covers the true correlation ~95% of the time (bivariate normal)
    rng = np.random.default_rng(11)
    rho, n, hits, trials = 0.6, 40, 0, 2000
    cov = [[1, rho], [rho, 1]]
    for _ in range(trials):
        xy = rng.multivariate_normal([0, 0], cov, size=n)
        lo, hi = I.fisher_ci(np.corrcoef(xy.T)[0, 1], n, kind="plcc")
        hits += lo <= rho <= hi
    assert 0.93 <= hits / trials <= 0.97


@pytest.mark.parametrize("kind", ["srocc", "plcc", "krcc"])
def test_bootstrap_kernels_equal_naive_resampling(kind):
    x, y = _data(57, seed=3)
    x = np.round(x, 1)  # ties
    dist = I.bootstrap_distribution(kind, x, y, n_resamples=40, seed=5)
    ref_fn = {"srocc": st.spearmanr, "plcc": st.pearsonr, "krcc": st.kendalltau}[kind]
    rng = np.random.default_rng(5)
    idx = rng.integers(0, x.size, size=(40, x.size))  # the same draws, written plainly
    ref = [ref_fn(x[i], y[i])[0] for i in idx]
    assert dist[:, 0] == pytest.approx(ref, abs=1e-12)


def test_bootstrap_is_seeded_and_reproducible():
    x, y = _data(80)
    a = M.srocc(x, y).confidence_interval(method="percentile", seed=3)
    b = M.srocc(x, y).confidence_interval(method="percentile", seed=3)
    c = M.srocc(x, y).confidence_interval(method="percentile", seed=4)
    assert a == b and a != c
    # chunking of resamples does not change the draws
    d1 = I.bootstrap_distribution("srocc", x, y, n_resamples=50, seed=1)
    d2 = np.concatenate(list(I._resample_chunks(80, 50, 1, max_cells=80 * 7)))
    ref = [st.spearmanr(x[i], y[i])[0] for i in d2]
    assert d1[:, 0] == pytest.approx(ref, abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("kind, stat", [("plcc", lambda x, y: st.pearsonr(x, y)[0]),
                                        ("srocc", lambda x, y: st.spearmanr(x, y)[0])])
def test_bca_close_to_scipy_bootstrap(kind, stat):
    x, y = _data(40, seed=2)
    ours = I.bootstrap_ci(kind, x, y, method="bca", n_resamples=4000, seed=0).confidence_interval()
    ref = st.bootstrap((x, y), stat, paired=True, vectorized=False, method="BCa", n_resamples=4000,
                       random_state=np.random.default_rng(1)).confidence_interval
    # different random draws: agree within Monte Carlo error
    assert ours.low == pytest.approx(ref.low, abs=0.03)
    assert ours.high == pytest.approx(ref.high, abs=0.03)
    perc = I.bootstrap_ci(kind, x, y, method="percentile", n_resamples=4000, seed=0).confidence_interval()
    assert perc != ours


def test_jackknife_equals_leave_one_out():
    x, y = _data(30, seed=9)
    x = np.round(x, 1)
    for kind, f in (("srocc", st.spearmanr), ("plcc", st.pearsonr), ("krcc", st.kendalltau)):
        jack = I._jackknife(kind, x, y, seed=0)
        ref = [f(np.delete(x, i), np.delete(y, i))[0] for i in range(x.size)]
        assert jack == pytest.approx(ref, abs=1e-12)


def _williams_by_hand(r12, r13, r23, n):
    # Steiger (1980) eq. 3 written out; 1 = MOS, 2 = model A, 3 = model B
    detR = 1 - r12 ** 2 - r13 ** 2 - r23 ** 2 + 2 * r12 * r13 * r23
    rbar = (r12 + r13) / 2
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23) /
                                (2 * (n - 1) / (n - 3) * detR + rbar ** 2 * (1 - r23) ** 3))
    return t, 2 * st.t.sf(abs(t), n - 3)


def test_williams_matches_hand_formula():
    for r12, r13, r23, n in [(0.8, 0.7, 0.6, 100), (0.5, 0.55, 0.9, 40), (0.91, 0.9, 0.95, 3000)]:
        t, p = I.williams_test(r12, r13, r23, n)
        t_ref, p_ref = _williams_by_hand(r12, r13, r23, n)
        assert t == pytest.approx(t_ref, rel=1e-12) and p == pytest.approx(p_ref, rel=1e-9)
    assert I.williams_test(0.8, 0.8, 0.5, 50) == (0.0, 1.0)
    assert all(map(math.isnan, I.williams_test(0.8, 0.7, 0.5, 3)))


def test_compare_correlations_uses_ranks_for_srocc():
    rng = np.random.default_rng(4)
    q = rng.normal(size=300)
    a, b = q + 0.5 * rng.normal(size=300), q + 1.0 * rng.normal(size=300)
    res = I.compare_correlations(a, b, q, metric="srocc")
    ra, rb, rab = st.spearmanr(a, q)[0], st.spearmanr(b, q)[0], st.spearmanr(a, b)[0]
    assert res.diff == pytest.approx(ra - rb, abs=1e-12)
    assert res.williams_pvalue == pytest.approx(_williams_by_hand(ra, rb, rab, 300)[1], rel=1e-9)
    assert res.williams_pvalue < 0.01 and math.isnan(res.bootstrap_pvalue)
    lo, hi = res.confidence_interval()
    assert lo < res.diff < hi and lo > 0
    boot = I.compare_correlations(a, b, q, metric="srocc", ci="percentile", n_resamples=500, seed=0)
    assert boot.bootstrap_pvalue < 0.01 and boot.confidence_interval().low > 0
    # same model twice: no difference
    same = I.compare_correlations(a, a, q, ci="percentile", n_resamples=200)
    assert same.diff == 0 and same.williams_pvalue == 1.0 and same.bootstrap_pvalue == 1.0


def _check_plain_paired_bootstrap(res, stat, a, b, q, n_resamples, seed):
    """``res`` equals a paired bootstrap written plainly: the same resampled images for both
    models, scipy's coefficient on each, percentile interval, +1-corrected two-sided p."""
    idx = np.concatenate(list(I._resample_chunks(q.size, n_resamples, seed)))
    diffs = np.array([stat(a[i], q[i])[0] - stat(b[i], q[i])[0] for i in idx])
    assert (res.ci_low, res.ci_high) == tuple(res.confidence_interval()) == pytest.approx(
        tuple(np.percentile(diffs, [2.5, 97.5])), abs=1e-12)
    tail = min(np.sum(diffs <= 0), np.sum(diffs >= 0))
    assert res.bootstrap_pvalue == pytest.approx(min(1, 2 * (tail + 1) / (n_resamples + 1)))


def test_paired_bootstrap_uses_the_same_images_for_both_models():
    rng = np.random.default_rng(6)
    q = rng.normal(size=100)
    a, b = q + rng.normal(size=100), q + rng.normal(size=100)
    res = I.compare_correlations(a, b, q, ci="percentile", n_resamples=300, seed=2)
    _check_plain_paired_bootstrap(res, st.spearmanr, a, b, q, 300, 2)


def test_krcc_difference_is_a_paired_bootstrap_of_kendall_tau_b():
    rng = np.random.default_rng(8)
    q = rng.normal(size=90)
    a, b = np.round(q + rng.normal(size=90), 1), q + 1.5 * rng.normal(size=90)   # ties in a
    res = I.compare_correlations(a, b, q, metric="krcc", ci="percentile", n_resamples=200, seed=3)
    assert res.statistic_a == pytest.approx(st.kendalltau(a, q)[0], abs=1e-12)
    assert res.diff == pytest.approx(st.kendalltau(a, q)[0] - st.kendalltau(b, q)[0], abs=1e-12)
    assert math.isnan(res.williams_pvalue)
    _check_plain_paired_bootstrap(res, st.kendalltau, a, b, q, 200, 3)
    # ci='analytic' (the default) is the influence-value test of tests/test_kendall_influence.py
    assert I.compare_correlations(a, b, q, metric="krcc").diff == pytest.approx(res.diff, abs=1e-15)


def test_bootstrap_ci_result_is_an_object_with_the_plain_percentile_interval():
    x, y = _data(60, seed=11)
    x[:5] = x[5]                       # ties: scipy's average ranks are the reference
    res = I.bootstrap_ci("srocc", x, y, method="percentile", confidence_level=0.9, n_resamples=400, seed=5)
    assert isinstance(res, I.BootstrapInterval)
    # reference: scipy's SROCC on each resample drawn by the same seeded index chunks
    idx = np.concatenate(list(I._resample_chunks(x.size, 400, 5)))
    dist = np.array([st.spearmanr(x[i], y[i])[0] for i in idx])
    lo, hi = np.percentile(dist, [5, 95])
    assert tuple(res.confidence_interval()) == pytest.approx((lo, hi), abs=1e-12)
    assert (res.ci_low, res.ci_high) == tuple(res.confidence_interval())
    assert res.confidence_interval().low == res.ci_low           # a ConfidenceInterval(low, high)
    assert res.statistic == pytest.approx(st.spearmanr(x, y)[0], abs=1e-12)
    assert (res.method, res.n_resamples, res.confidence_level, res.notes) == ("percentile", 400, 0.9, ())
    with pytest.raises(TypeError):     # not a tuple: the old ``ci, notes = bootstrap_ci(...)`` fails loudly
        _, _ = res
    with pytest.raises(AttributeError):
        res.ci_low = 0.0                # frozen
    bca = I.bootstrap_ci("srocc", x, y, method="bca", n_resamples=400, seed=5)
    assert bca.method == "bca" and bca.confidence_interval() != res.confidence_interval()


def test_bootstrap_ci_notes_undefined_resamples_and_nan_interval():
    x = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    y = np.arange(5.0)
    res = I.bootstrap_ci("plcc", x, y, n_resamples=200, seed=0)
    # a resample without the one distinct value is constant: P = (4/5)^5 per resample
    idx = np.concatenate(list(I._resample_chunks(5, 200, 0)))
    undefined = int(sum(np.all(x[i] == x[i][0]) for i in idx))
    assert undefined > 0
    assert res.notes == (f"{undefined} of 200 bootstrap resamples of PLCC were undefined (constant resample) "
                         f"and were left out",)
    const = I.bootstrap_ci("plcc", np.ones(5), y, n_resamples=50)
    assert all(map(math.isnan, const.confidence_interval())) and math.isnan(const.statistic)


@pytest.mark.parametrize("kind, stat", [("srocc", st.spearmanr), ("krcc", st.kendalltau), ("plcc", st.pearsonr)])
def test_paired_bootstrap_difference_result_unpacks_and_matches_plain_loop(kind, stat):
    rng = np.random.default_rng(12)
    q = rng.normal(size=80)
    a, b = np.round(q + rng.normal(size=80), 1), q + 1.5 * rng.normal(size=80)
    res = I.paired_bootstrap_difference(kind, a, b, q, n_resamples=250, seed=4, confidence_level=0.9)
    assert isinstance(res, I.PairedBootstrap)
    idx = np.concatenate(list(I._resample_chunks(q.size, 250, 4)))
    diffs = np.array([stat(a[i], q[i])[0] - stat(b[i], q[i])[0] for i in idx])
    tail = min(np.sum(diffs <= 0), np.sum(diffs >= 0))
    p_ref = min(1.0, 2 * (tail + 1) / (250 + 1))
    diff, pvalue = res                                   # scipy style: statistic, pvalue
    assert diff == res.diff == pytest.approx(stat(a, q)[0] - stat(b, q)[0], abs=1e-12)
    assert pvalue == res.pvalue == res[1] == pytest.approx(p_ref, rel=1e-12)
    assert len(res) == 2
    assert tuple(res.confidence_interval()) == (res.ci_low, res.ci_high) == pytest.approx(
        tuple(np.percentile(diffs, [5, 95])), abs=1e-12)
    assert (res.method, res.n_resamples, res.confidence_level, res.notes) == (kind, 250, 0.9, ())
    # compare_correlations' bootstrap fields are this result's
    cmp = I.compare_correlations(a, b, q, metric=kind, ci="percentile", n_resamples=250, seed=4,
                                 confidence_level=0.9)
    assert cmp.confidence_interval() == res.confidence_interval() and cmp.bootstrap_pvalue == res.pvalue
    assert (cmp.ci_low, cmp.ci_high, cmp.confidence_level) == (res.ci_low, res.ci_high, 0.9)


def test_zou_interval_contains_difference_and_matches_formula():
    r1, r2, r12, n = 0.7, 0.5, 0.4, 100
    ci1, ci2 = I.fisher_ci(r1, n, kind="plcc"), I.fisher_ci(r2, n, kind="plcc")
    lo, hi = I.zou_difference_ci(r1, r2, r12, ci1, ci2)
    c = ((r12 - 0.5 * r1 * r2) * (1 - r1 ** 2 - r2 ** 2 - r12 ** 2) + r12 ** 3) / ((1 - r1 ** 2) * (1 - r2 ** 2))
    l1, u1 = ci1
    l2, u2 = ci2
    assert lo == pytest.approx(r1 - r2 - math.sqrt((r1 - l1) ** 2 + (u2 - r2) ** 2 - 2 * c * (r1 - l1) * (u2 - r2)))
    assert hi == pytest.approx(r1 - r2 + math.sqrt((u1 - r1) ** 2 + (r2 - l2) ** 2 - 2 * c * (u1 - r1) * (r2 - l2)))


def test_tied_with_best_rule():
    stats = {"a": 0.90, "b": 0.89, "c": 0.70, "d": float("nan")}
    pvals = {("a", "b"): 0.40, ("c", "a"): 0.001, ("a", "d"): float("nan")}
    best, tied = I.tied_with_best(stats, pvals, alpha=0.05)
    assert best == "a" and tied == {"a": True, "b": True, "c": False, "d": False}
    assert I.tied_with_best(stats, {("a", "b"): 0.04})[1]["b"] is False


def test_williams_one_sided_p_values_are_the_t_tails():
    for r12, r13, r23, n in [(0.8, 0.7, 0.6, 100), (0.5, 0.55, 0.9, 40)]:
        t_ref, _ = _williams_by_hand(r12, r13, r23, n)
        t, p_g = I.williams_test(r12, r13, r23, n, alternative="greater")
        _, p_l = I.williams_test(r12, r13, r23, n, alternative="less")
        assert t == pytest.approx(t_ref, rel=1e-12)
        assert p_g == pytest.approx(st.t.sf(t_ref, n - 3), rel=1e-9)
        assert p_l == pytest.approx(st.t.cdf(t_ref, n - 3), rel=1e-9)
    assert I.williams_test(0.8, 0.8, 0.5, 50, alternative="greater") == (0.0, 0.5)
    with pytest.raises(InputError, match="alternative"):
        I.williams_test(0.8, 0.7, 0.5, 50, alternative="bigger")


def _fisher_z_p(z, alternative):
    return {"two-sided": 2 * st.norm.sf(abs(z)), "greater": st.norm.sf(z), "less": st.norm.cdf(z)}[alternative]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_compare_correlations_test_choice(alternative):
    from iqa_eval.options import DEPENDENT_CORRELATION_TESTS
    from iqa_eval.stats.dependent_correlations import compare_dependent

    rng = np.random.default_rng(21)
    q = rng.normal(size=120)
    a, b = q + 0.8 * rng.normal(size=120), q + 1.1 * rng.normal(size=120)
    n = q.size
    for metric, corr in (("plcc", st.pearsonr), ("srocc", st.spearmanr)):
        r1, r2, r12 = corr(a, q)[0], corr(b, q)[0], corr(a, b)[0]
        default = I.compare_correlations(a, b, q, metric=metric, alternative=alternative)
        assert default.test == "williams1959" and default.pvalue == default.williams_pvalue
        t_w = _williams_by_hand(r1, r2, r12, n)[0]
        assert default.williams_pvalue == pytest.approx(
            {"two-sided": 2 * st.t.sf(abs(t_w), n - 3), "greater": st.t.sf(t_w, n - 3),
             "less": st.t.cdf(t_w, n - 3)}[alternative], rel=1e-9)
        # Hotelling (1940): t = (r1 - r2) sqrt((n-3)(1+r12) / (2|R|)), df n-3
        det = 1 - r1 ** 2 - r2 ** 2 - r12 ** 2 + 2 * r1 * r2 * r12
        t_h = (r1 - r2) * math.sqrt((n - 3) * (1 + r12) / (2 * det))
        hot = I.compare_correlations(a, b, q, metric=metric, test="hotelling1940", alternative=alternative)
        assert hot.pvalue == pytest.approx(
            {"two-sided": 2 * st.t.sf(abs(t_h), n - 3), "greater": st.t.sf(t_h, n - 3),
             "less": st.t.cdf(t_h, n - 3)}[alternative], rel=1e-9)
        # Steiger (1980) eq. 14-15: Z = (z1 - z2) sqrt(n-3) / sqrt(2 - 2c), rbar = (r1 + r2)/2;
        # Spearman: Fisher-z variance times 1 + rbar^2/2 (Bonett & Wright 2000)
        rbar = (r1 + r2) / 2
        c = (r12 * (1 - 2 * rbar ** 2) - 0.5 * rbar ** 2 * (1 - 2 * rbar ** 2 - r12 ** 2)) / (1 - rbar ** 2) ** 2
        factor = 1 + rbar ** 2 / 2 if metric == "srocc" else 1.0
        z = (math.atanh(r1) - math.atanh(r2)) / math.sqrt(factor * (2 - 2 * c) / (n - 3))
        ste = I.compare_correlations(a, b, q, metric=metric, test="steiger1980", alternative=alternative)
        assert ste.pvalue == pytest.approx(_fisher_z_p(z, alternative), rel=1e-9)
        assert (metric == "srocc") == any("Bonett & Wright" in note for note in ste.notes)
        for test in DEPENDENT_CORRELATION_TESTS:
            res = I.compare_correlations(a, b, q, metric=metric, test=test, alternative=alternative)
            ref = compare_dependent(a, b, q, metric="plcc_raw" if metric == "plcc" else metric, test=test,
                                    alternative=alternative)
            assert res.test == test and res.alternative == alternative
            if test == "zou2007":
                assert math.isnan(res.pvalue) and any("interval" in note for note in res.notes)
            else:
                assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
            # the interval and Williams' p do not depend on the test chosen
            assert (res.ci_low, res.ci_high, res.williams_pvalue) == (default.ci_low, default.ci_high,
                                                                       default.williams_pvalue)
    with pytest.raises(InputError, match="KRCC has the U-statistic test"):
        I.compare_correlations(a, b, q, metric="krcc", ci="percentile", test="steiger1980")
    with pytest.raises(InputError, match="test must be one of"):
        I.compare_correlations(a, b, q, test="fisher")


@pytest.mark.parametrize("kind, stat", [("srocc", st.spearmanr), ("krcc", st.kendalltau)])
def test_paired_bootstrap_one_sided_p_values_are_the_plain_tails(kind, stat):
    rng = np.random.default_rng(13)
    q = rng.normal(size=60)
    a, b = q + 1.2 * rng.normal(size=60), q + 1.4 * rng.normal(size=60)
    idx = np.concatenate(list(I._resample_chunks(q.size, 300, 5)))
    diffs = np.array([stat(a[i], q[i])[0] - stat(b[i], q[i])[0] for i in idx])
    ref = {"greater": (np.sum(diffs <= 0) + 1) / 301, "less": (np.sum(diffs >= 0) + 1) / 301,
           "two-sided": min(1, 2 * (min(np.sum(diffs <= 0), np.sum(diffs >= 0)) + 1) / 301)}
    for alternative, p_ref in ref.items():
        res = I.paired_bootstrap_difference(kind, a, b, q, n_resamples=300, seed=5, alternative=alternative)
        assert res.pvalue == pytest.approx(p_ref, rel=1e-12)
        cmp = I.compare_correlations(a, b, q, metric=kind, ci="percentile", n_resamples=300, seed=5,
                                     alternative=alternative)
        assert cmp.bootstrap_pvalue == res.pvalue and cmp.alternative == alternative
    assert 0 < ref["greater"] < 1 and 0 < ref["less"] < 1
