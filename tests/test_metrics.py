"""Scalar metrics against scipy.stats (real data, hypothesis, hand formulas) and bad input."""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from scipy import stats
from hypothesis import given, settings, strategies as hs

from iqa_eval.stats import metrics as M
from iqa_eval.errors import InputError, IQAEvalWarning
from iqa_eval.stats.mapping import fit_mapping


def _model_csvs(shared_dir):
    files = sorted(p for p in shared_dir.glob("*/*.csv")
                   if "Results Scores for CC" in pd.read_csv(p, nrows=0).columns)
    assert len(files) >= 19  # 7 LIVEC + 6 kadid10k + 6 tid2013 models
    return files


def test_real_data_equals_scipy(shared_dir):
    for path in _model_csvs(shared_dir):
        df = pd.read_csv(path)
        x = df["Results Scores for CC"].to_numpy(float)
        y = df["Ground Truth Labels"].to_numpy(float)
        for ours, ref in ((M.srocc, st.spearmanr), (M.krcc, st.kendalltau), (M.plcc_raw, st.pearsonr)):
            a, b = ours(x, y), ref(x, y)
            assert abs(a.statistic - b.statistic) <= 1e-9, (path, ours.__name__)
            assert a.n == x.size
            # p-values are often ~1e-300 here; compare on a log scale where they are tiny
            assert a.pvalue == pytest.approx(b.pvalue, rel=1e-6, abs=1e-300), (path, ours.__name__)


# values with many ties and duplicates: small integer grids
_tied = hs.lists(hs.tuples(hs.integers(-3, 3), hs.integers(0, 4)), min_size=3, max_size=40)
_cont = hs.lists(hs.tuples(hs.floats(-1e6, 1e6, allow_nan=False), hs.floats(-1e3, 1e3, allow_nan=False)),
                 min_size=3, max_size=60)


def _check_against_scipy(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    constant = np.all(x == x[0]) or np.all(y == y[0])
    # SROCC's default p is exact for n <= 9 (tested against permutation_test below); scipy's t here
    asymptotic_srocc = functools.partial(M.srocc, method="asymptotic")
    for ours, ref in ((asymptotic_srocc, st.spearmanr), (M.krcc, st.kendalltau), (M.plcc_raw, st.pearsonr)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = ours(x, y)
            b = ref(x, y)
        if constant:
            assert math.isnan(a.statistic)
            continue
        assert a.statistic == pytest.approx(b.statistic, abs=1e-9), ref.__name__
        if np.isfinite(b.pvalue):
            # near |r| = 1 with n = 3 the p-value moves by ~1e-8 per 1e-16 change of r
            # (last-bit differences in r), hence the absolute tolerance
            assert a.pvalue == pytest.approx(b.pvalue, rel=1e-6, abs=1e-6), ref.__name__


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(_tied)
def test_property_ties_agree_with_scipy(pairs):
    _check_against_scipy(pairs)


@settings(max_examples=200, deadline=None)
@given(_cont)
def test_property_continuous_agree_with_scipy(pairs):
    _check_against_scipy(pairs)


@pytest.mark.parametrize("n", [3, 4])
def test_tiny_sets(n):
    rng = np.random.default_rng(n)
    for _ in range(50):
        x, y = rng.integers(0, 3, n).astype(float), rng.integers(0, 3, n).astype(float)
        _check_against_scipy(list(zip(x, y)))


def test_krcc_large_against_naive_pairs():
    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=700), 1)
    y = np.round(x + rng.normal(size=700), 1)
    # naive O(n^2) tau-b
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    s = np.sum(np.triu(dx * dy, 1))
    n0 = x.size * (x.size - 1) / 2
    n1 = np.sum(np.triu(dx == 0, 1))
    n2 = np.sum(np.triu(dy == 0, 1))
    assert M.krcc(x, y).statistic == pytest.approx(s / math.sqrt((n0 - n1) * (n0 - n2)), abs=1e-12)


def test_constant_predictions_nan_with_warning():
    x = np.ones(10)
    y = np.arange(10.0)
    for f in (M.srocc, M.krcc, M.plcc_raw, M.plcc):
        with pytest.warns(IQAEvalWarning, match="constant"):
            res = f(x, y)
        assert math.isnan(res.statistic) and math.isnan(res.pvalue)
        assert any("constant" in note for note in res.notes)
    with pytest.warns(IQAEvalWarning):
        assert math.isnan(M.rmse(x, y).statistic)


def test_nan_policies():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    y = np.array([1.0, 3.0, 2.0, 4.0, 6.0])
    assert math.isnan(M.srocc(x, y).statistic)
    res = M.srocc(x, y, nan_policy="omit")
    assert res.n == 4 and res.statistic == pytest.approx(st.spearmanr(np.delete(x, 2), np.delete(y, 2))[0])
    assert any("dropped 1 row" in n for n in res.notes)
    with pytest.raises(InputError, match="non-finite.*index 2"):
        M.krcc(x, y, nan_policy="raise")


@pytest.mark.parametrize("args, match", [
    ((["a", "b", "c"], [1, 2, 3]), "must be numeric"),
    (([1, 2, 3], [1, 2]), "differ in length"),
    (([1, 2], [1, 2]), "at least 3"),
    ((np.ones((3, 3)), np.ones(9)), "one-dimensional"),
])
def test_bad_input_raises_input_error(args, match):
    for f in (M.srocc, M.krcc, M.plcc_raw, M.plcc, M.rmse, M.mae):
        with pytest.raises(InputError, match=match):
            f(*args)


def test_bad_options():
    with pytest.raises(InputError, match="nan_policy"):
        M.srocc([1, 2, 3], [1, 2, 3], nan_policy="drop")
    with pytest.raises(InputError, match="mapping must be one of"):
        M.plcc([1, 2, 3, 4], [1, 2, 3, 5], mapping="sigmoid")


def test_mapped_metrics_by_hand():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, 200)
    y = 20 + 60 / (1 + np.exp(-(x - 5) / 1.5)) + rng.normal(0, 3, 200)
    fit = fit_mapping(x, y)
    f = fit.predict(x)
    e = y - f
    assert M.plcc(x, y, mapping=fit).statistic == pytest.approx(st.pearsonr(f, y)[0], abs=1e-12)
    assert M.plcc(x, y).statistic == pytest.approx(st.pearsonr(f, y)[0], abs=1e-12)
    assert M.rmse(x, y).statistic == pytest.approx(np.sqrt(np.mean(e ** 2)), rel=1e-12)
    assert M.rmse(x, y, rmse_dof=True).statistic == pytest.approx(np.sqrt(np.sum(e ** 2) / (200 - 4)))
    assert M.rmse(x, y, mapping="logistic5", rmse_dof=True).dof == 195
    assert M.mae(x, y).statistic == pytest.approx(np.mean(np.abs(e)))
    # none mapping: raw errors, plcc == plcc_raw
    assert M.plcc(x, y, mapping="none").statistic == pytest.approx(M.plcc_raw(x, y).statistic)
    assert M.rmse(x, y, mapping="none").statistic == pytest.approx(np.sqrt(np.mean((y - x) ** 2)))


def test_outlier_ratio_and_rmse_star_by_hand():
    rng = np.random.default_rng(3)
    n = 120
    x = rng.uniform(0, 1, n)
    y = 1 + 4 * x + rng.normal(0, 0.3, n)
    std = rng.uniform(0.5, 1.0, n)
    k = rng.integers(15, 30, n).astype(float)
    f = fit_mapping(x, y, kind="linear").predict(x)
    err = np.abs(y - f)
    eps = st.t.ppf(0.975, k - 1) * std / np.sqrt(k)
    res = M.outlier_ratio(x, y, std, n_ratings=k, mapping="linear")
    assert res.statistic == pytest.approx(np.mean(err > eps))
    assert 0 < res.statistic < 1
    star = M.rmse_star(x, y, std, n_ratings=k, mapping="linear", rmse_dof=True)
    assert star.statistic == pytest.approx(np.sqrt(np.sum(np.maximum(0, err - eps) ** 2) / (n - 2)))
    no_k = M.outlier_ratio(x, y, std, mapping="linear")
    assert no_k.statistic == pytest.approx(np.mean(err > 2 * std))
    assert any("2*std" in note for note in no_k.notes)
    lo, hi = res.confidence_interval()
    assert lo <= res.statistic <= hi
    with pytest.raises(InputError, match="non-negative"):
        M.outlier_ratio(x, y, -std)


def test_rmse_chi2_interval_by_hand():
    rng = np.random.default_rng(4)
    x = rng.normal(size=80)
    y = x + rng.normal(size=80)
    res = M.rmse(x, y, mapping="linear", rmse_dof=True)
    df = 78
    lo, hi = res.confidence_interval(0.95)
    assert lo == pytest.approx(res.statistic * np.sqrt(df / st.chi2.ppf(0.975, df)))
    assert hi == pytest.approx(res.statistic * np.sqrt(df / st.chi2.ppf(0.025, df)))


def test_rank_memo_follows_the_values(monkeypatch):
    M._RANK_MEMO.clear()
    rng = np.random.default_rng(9)
    x = np.round(rng.normal(size=60_000), 2)
    y = x + rng.normal(size=x.size)
    first = M.srocc(x, y).statistic
    assert M.srocc(x, y).statistic == first  # served from the memo
    order = M.ranked(x)[0]
    with monkeypatch.context() as m:  # keyed by content, not identity: a copy is served without sorting
        m.setattr(M.np, "argsort", lambda *a, **k: pytest.fail("ranked() sorted a remembered vector"))
        assert np.array_equal(M.ranked(x.copy())[0], order)
    assert M._RANK_MEMO[next(reversed(M._RANK_MEMO))].dtype == np.int32  # 4 bytes per remembered value
    x[:100] = -x[:100]  # same array object, new values: a new ranking
    assert M.srocc(x, y).statistic == pytest.approx(st.spearmanr(x, y)[0], abs=1e-12)
    assert M.krcc(x, y).statistic == pytest.approx(st.kendalltau(x, y)[0], abs=1e-12)
    assert sum(k[0] for k in M._RANK_MEMO) <= M._RANK_MEMO_MAX


# ---- issue 17: one-sided alternatives, exact / permutation p, near-constant input ----------------
def _livec_head(shared_dir, model="qalign", n=8):
    df = pd.read_csv(shared_dir / "LIVEC" / f"{model}.csv").head(n)
    return df["Results Scores for CC"].to_numpy(), df["Ground Truth Labels"].to_numpy()


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_alternatives_equal_scipy_synthetic_with_ties(alternative):
    from iqa_eval.stats.metrics import krcc, plcc, plcc_raw, srocc

    rng = np.random.default_rng(17)
    for n in (7, 40, 300):
        x = np.round(rng.normal(size=n), 1)          # ties
        y = np.round(0.3 * x + rng.normal(size=n), 1)
        assert srocc(x, y, alternative=alternative, method="asymptotic").pvalue == pytest.approx(
            stats.spearmanr(x, y, alternative=alternative).pvalue, rel=1e-10)
        assert krcc(x, y, alternative=alternative).pvalue == pytest.approx(
            stats.kendalltau(x, y, alternative=alternative).pvalue, rel=1e-10)
        assert plcc_raw(x, y, alternative=alternative).pvalue == pytest.approx(
            stats.pearsonr(x, y, alternative=alternative).pvalue, rel=1e-9)
        oriented = np.sign(stats.pearsonr(x, y).statistic) * x  # the fitted line is increasing
        assert plcc(x, y, mapping="linear", alternative=alternative).pvalue == pytest.approx(
            stats.pearsonr(oriented, y, alternative=alternative).pvalue, rel=1e-9)
        # without ties: scipy's exact Kendall (method='auto' picks it for n <= 33)
        u, v = rng.normal(size=n), rng.normal(size=n) + 0.2 * np.arange(n) / n
        for method in ("auto", "asymptotic") + (("exact",) if n <= 40 else ()):
            assert krcc(u, v, alternative=alternative, method=method).pvalue == pytest.approx(
                stats.kendalltau(u, v, alternative=alternative, method=method).pvalue, rel=1e-9)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_srocc_equals_scipy_permutation_test_on_real_data(shared_dir, alternative):
    """LIVEC (qalign), the first 8 images: all 8! pairings, as scipy.stats.permutation_test enumerates them."""
    from iqa_eval.stats.metrics import krcc, srocc

    x, y = _livec_head(shared_dir)
    ry = stats.rankdata(y) - stats.rankdata(y).mean()

    def rho(u, axis=-1):  # Spearman's rho, vectorised for scipy
        ru = stats.rankdata(u, axis=axis)
        ru = ru - ru.mean(axis=axis, keepdims=True)
        return (ru * ry).sum(axis=axis) / np.sqrt((ru * ru).sum(axis=axis) * (ry @ ry))

    assert rho(x) == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)
    ref = stats.permutation_test((x,), rho, permutation_type="pairings", n_resamples=np.inf,
                                 alternative=alternative, vectorized=True)
    res = srocc(x, y, alternative=alternative, method="exact")
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert any("40320 pairings" in note for note in res.notes)
    assert srocc(x, y, alternative=alternative, method="auto").pvalue == res.pvalue
    mc = srocc(x, y, alternative=alternative, method="permutation", n_resamples=20000, seed=3)
    assert abs(mc.pvalue - ref.pvalue) < 4 * math.sqrt(max(ref.pvalue * (1 - ref.pvalue), 1e-4) / 20000) + 2e-4
    if len(np.unique(y)) == len(y) and len(np.unique(x)) == len(x):
        assert krcc(x, y, alternative=alternative, method="exact").pvalue == pytest.approx(
            stats.kendalltau(x, y, alternative=alternative, method="exact").pvalue, rel=1e-12)


def test_exact_methods_refuse_what_they_cannot_do():
    from iqa_eval.stats.metrics import krcc, srocc

    with pytest.raises(InputError, match="n = 10"):
        srocc(np.arange(10.0), np.arange(10.0)[::-1], method="exact")
    with pytest.raises(InputError, match="ties"):
        krcc([1, 1, 2, 3], [1, 2, 3, 4], method="exact")
    with pytest.raises(InputError, match="alternative"):
        srocc([1, 2, 3], [1, 2, 3], alternative="bigger")


def test_near_constant_input_warns_like_scipy():
    from iqa_eval.stats.metrics import plcc_raw

    x = np.array([1.0, 1.0 + 1e-15, 1.0 + 2e-15, 1.0 + 4e-15, 1.0])  # noqa: spread << 1e-13 x mean
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    with pytest.warns(stats.NearConstantInputWarning):
        stats.pearsonr(x, y)
    with pytest.warns(UserWarning, match="nearly constant"):
        res = plcc_raw(x, y)
    assert any("nearly constant" in note for note in res.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plcc_raw(np.arange(5.0), y)   # ordinary input: silent


def test_near_constant_rule_is_scipys_at_the_threshold():
    """Spreads straddling 1e-13 (scipy's docstring) and eps**0.75 (its code): our decision is
    scipy's NearConstantInputWarning, checked by running scipy."""
    from iqa_eval.stats.exact_tests import near_constant

    y = np.arange(6.0)
    base = np.array([0.0, 1.0, -1.0, 2.0, -2.0, 0.5])
    decided = set()
    for mean in (1.0, 1e3, 1e-3):
        for rel in (1e-14, 5e-14, 2e-13, 1e-12, 1.5e-12, 2.5e-12, 1e-11, 1e-9):
            x = mean + base / np.linalg.norm(base - base.mean()) * rel * mean
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stats.pearsonr(x, y)
            scipy_says = any(issubclass(w.category, stats.NearConstantInputWarning) for w in caught)
            assert near_constant(x) == scipy_says, (mean, rel)
            decided.add(scipy_says)
    assert decided == {True, False}


def test_evaluate_notes_near_constant_predictions_once_per_model():
    from iqa_eval.data.dataset import Dataset
    from iqa_eval.studies.evaluation import evaluate

    rng = np.random.default_rng(2)
    q = rng.normal(size=40)
    near = 1e3 + q * 1e-10           # spread 1e-13 of the mean: scipy warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats.pearsonr(near, q)
    assert any(issubclass(w.category, stats.NearConstantInputWarning) for w in caught)
    ev = evaluate(Dataset(mos=q, predictions={"near": near, "fine": q + rng.normal(size=40)}))
    hits = [note for note in ev.notes if "nearly constant" in note]
    assert hits == ["model 'near': predictions nearly constant (scipy's rule); its correlations may be inaccurate"]


def _spearman_permutation_reference(x, y, alternative):
    """scipy's exact permutation test of Spearman's rho: every one of the n! pairings."""
    ry = stats.rankdata(y) - stats.rankdata(y).mean()

    def rho(u, axis=-1):
        ru = stats.rankdata(u, axis=axis)
        ru = ru - ru.mean(axis=axis, keepdims=True)
        return (ru * ry).sum(axis=axis) / np.sqrt((ru * ru).sum(axis=axis) * (ry @ ry))

    return stats.permutation_test((x,), rho, permutation_type="pairings", n_resamples=np.inf,
                                  alternative=alternative, vectorized=True).pvalue


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_automatic_p_method_is_exact_below_the_stated_n_and_asymptotic_above(alternative):
    """The default p method: SROCC exact for n <= 9 (scipy's permutation_test over every pairing), t
    above (scipy's spearmanr); KRCC scipy's kendalltau(method='auto'): exact without ties for n <= 33,
    else normal. The result names the method it used."""
    from iqa_eval.stats.exact_tests import SPEARMAN_EXACT_MAX_N
    from iqa_eval.stats.metrics import krcc, srocc

    assert SPEARMAN_EXACT_MAX_N == 9
    rng = np.random.default_rng(5)
    for n in (5, 9, 10, 33, 34, 60):
        x = rng.normal(size=n)
        y = 0.4 * x + rng.normal(size=n)
        s, k = srocc(x, y, alternative=alternative), krcc(x, y, alternative=alternative)
        assert s.alternative == k.alternative == alternative
        if n <= 9:
            assert s.pvalue_method == "exact"
            assert s.pvalue == pytest.approx(_spearman_permutation_reference(x, y, alternative), rel=1e-12)
            assert s.pvalue != pytest.approx(stats.spearmanr(x, y, alternative=alternative).pvalue, rel=1e-3)
        else:
            assert s.pvalue_method == "asymptotic"
            assert s.pvalue == pytest.approx(stats.spearmanr(x, y, alternative=alternative).pvalue, rel=1e-10)
        assert k.pvalue_method == ("exact" if n <= 33 else "asymptotic")
        scipy_method = "exact" if n <= 33 else "asymptotic"
        assert k.pvalue == pytest.approx(stats.kendalltau(x, y, alternative=alternative, method=scipy_method).pvalue,
                                         rel=1e-10)
        assert k.pvalue == pytest.approx(stats.kendalltau(x, y, alternative=alternative).pvalue, rel=1e-10)
    # ties: SROCC stays exact (average ranks, every pairing); KRCC falls back to the normal, as scipy
    x, y = np.array([1.0, 1, 2, 3, 4, 4, 5]), np.array([2.0, 1, 3, 3, 5, 4, 6])
    s, k = srocc(x, y, alternative=alternative), krcc(x, y, alternative=alternative)
    assert (s.pvalue_method, k.pvalue_method) == ("exact", "asymptotic")
    assert s.pvalue == pytest.approx(_spearman_permutation_reference(x, y, alternative), rel=1e-12)
    assert k.pvalue == pytest.approx(stats.kendalltau(x, y, alternative=alternative).pvalue, rel=1e-10)


def test_evaluate_reports_the_automatic_srocc_p():
    """evaluate's srocc_pvalue column follows srocc's default: exact for n <= 9."""
    from iqa_eval.data.dataset import Dataset
    from iqa_eval.stats.metrics import srocc
    from iqa_eval.studies.evaluation import evaluate

    rng = np.random.default_rng(1)
    for n in (8, 40):
        q = rng.normal(size=n)
        pred = q + rng.normal(size=n)
        ev = evaluate(Dataset(mos=q, predictions={"a": pred, "b": q + 2 * rng.normal(size=n)}), pairwise=False)
        row = ev.table.set_index("model").loc["a"]
        assert row["srocc_pvalue"] == srocc(pred, q).pvalue
        exact_note = any(note.startswith("model 'a': SROCC p-value exact over all 40320 pairings") for note in ev.notes)
        assert exact_note == (n <= 9)
    assert ev.settings["pvalue_methods"].startswith("SROCC: exact over every pairing of the ranks for n <= 9")
