"""Mapping fits: same answer as a plain scipy curve_fit where that converges, and a
fit or a stated fallback where curve_fit raises or silently stalls."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

from iqa_eval.errors import InputError
from iqa_eval.options import MAPPINGS
from iqa_eval.stats.mapping import fit_mapping


def logistic4(x, b1, b2, b3, b4):  # VQEG / VIDEVAL form, written plainly
    return (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4))) + b2


def logistic5(x, b1, b2, b3, b4, b5):  # Sheikh et al. 2006
    return b1 * (0.5 - 1 / (1 + np.exp(b2 * (x - b3)))) + b4 * x + b5


def plain_curve_fit(func, x, y, p0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, _ = curve_fit(func, x, y, p0=p0, maxfev=20000)
        return func(x, *p)


def _sse(f, y):
    return float(np.sum((f - y) ** 2))


def _check_matches(x, y, kind, func, p0, *, five_pl_constraints=False):
    """Our fit is at least as good as curve_fit's; where curve_fit's optimum is an
    interior, well-determined one our fitted values equal its fitted values."""
    fit = fit_mapping(x, y, kind=kind)
    assert fit.kind == kind and not fit.notes
    ours = fit.predict(x)
    assert fit.sse == pytest.approx(_sse(ours, y), rel=1e-9)
    try:
        ref = plain_curve_fit(func, x, y, p0)
    except RuntimeError:
        return None
    if five_pl_constraints:
        # our 5PL is monotone by construction: logistic part and linear term rise (or
        # fall) together, i.e. sign(b1*b2) == sign(b4) or b4 == 0. Compare only where
        # curve_fit's optimum lies in that class.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b1, b2, _, b4, _ = curve_fit(func, x, y, p0=p0, maxfev=20000)[0]
        if b1 * b2 * b4 < 0:
            return None
    assert fit.sse <= _sse(ref, y) * (1 + 1e-7)
    assert np.max(np.abs(ours - ref)) <= 2e-3 * np.std(y)
    return fit


def _reference_predictions(shared_dir, folders=("*",)):
    """(predictions, MOS) of every model file of the GMC reference data (in ``folders``)."""
    for path in (p for folder in folders for p in sorted(shared_dir.glob(f"{folder}/*.csv"))):
        df = pd.read_csv(path)
        if "Results Scores for CC" in df:
            yield df["Results Scores for CC"].to_numpy(float), df["Ground Truth Labels"].to_numpy(float)


@pytest.mark.slow
def test_logistic4_matches_curve_fit_on_real_data(shared_dir):
    checked = 0
    for x, y in _reference_predictions(shared_dir):
        p0 = [y.max(), y.min(), x.mean(), 0.5]  # VIDEVAL's start
        checked += _check_matches(x, y, "logistic4", logistic4, p0) is not None
    assert checked >= 15


@pytest.mark.slow
def test_logistic5_matches_curve_fit_on_real_data(shared_dir):
    checked = 0
    for x, y in _reference_predictions(shared_dir, ("tid2013", "LIVEC")):
        p0 = [np.ptp(y), 1 / x.std(), x.mean(), 0.0, y.mean()]
        checked += _check_matches(x, y, "logistic5", logistic5, p0, five_pl_constraints=True) is not None
    assert checked >= 3


@pytest.mark.parametrize("seed", range(5))
def test_matches_curve_fit_on_synthetic(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, 400) * 10 ** rng.uniform(-3, 3)
    s = np.std(x)
    y = 1 + 4 / (1 + np.exp(-(x - 0.2 * s) / (0.5 * s))) + rng.normal(0, 0.3, 400)
    fit = _check_matches(x, y, "logistic4", logistic4, [y.max(), y.min(), x.mean(), s])
    assert fit is not None and fit.converged
    b = fit.params
    assert b["beta1"] == pytest.approx(5, abs=0.3) and b["beta2"] == pytest.approx(1, abs=0.3)
    assert logistic4(x, *b.values()) == pytest.approx(fit.predict(x), rel=1e-9, abs=1e-9)


def test_poly3_and_linear_match_least_squares():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 10, 300)
    y = 0.02 * x ** 3 - 0.1 * x ** 2 + x + rng.normal(0, 0.5, 300)  # monotone on [0, 10]
    fit = fit_mapping(x, y, kind="poly3")
    ref = np.polyval(np.polyfit(x, y, 3), x)
    assert fit.predict(x) == pytest.approx(ref, abs=1e-8)
    a = fit.params
    assert a["a0"] + a["a1"] * x + a["a2"] * x ** 2 + a["a3"] * x ** 3 == pytest.approx(ref, abs=1e-8)
    lin = fit_mapping(x, y, kind="linear")
    assert lin.predict(x) == pytest.approx(np.polyval(np.polyfit(x, y, 1), x), abs=1e-9)
    assert fit_mapping(x, y, kind="none").predict(x) == pytest.approx(x)


@pytest.mark.slow
def test_poly3_is_monotone_when_least_squares_cubic_is_not():
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 1, 300)
    y = np.where(x < 0.5, 10 * x, 5 + 0.2 * (x - 0.5)) + rng.normal(0, 0.3, 300)
    y[x > 0.9] -= 1.5  # makes the free cubic turn down at the top
    free = np.polyfit(x, y, 3)
    grid = np.linspace(x.min(), x.max(), 2001)
    assert np.diff(np.polyval(free, grid)).min() < 0
    fit = fit_mapping(x, y, kind="poly3")
    assert fit.kind == "poly3"
    assert np.diff(fit.predict(grid)).min() >= -1e-9
    # reference: the same least squares with derivative >= 0 on a dense grid, by a
    # general constrained optimiser (trust-constr) from the free fit
    from scipy.optimize import LinearConstraint, minimize

    V = np.vander(x, 4, increasing=True)
    t = np.linspace(x.min(), x.max(), 501)
    D = np.column_stack([np.zeros_like(t), np.ones_like(t), 2 * t, 3 * t * t])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = minimize(lambda c: np.sum((V @ c - y) ** 2), free[::-1], jac=lambda c: 2 * V.T @ (V @ c - y),
                       method="trust-constr", constraints=[LinearConstraint(D, 0, np.inf)],
                       options={"maxiter": 5000, "gtol": 1e-12, "xtol": 1e-14})
    # (the grid lets the reference dip a hair below zero between grid points)
    assert _sse(np.polyval(free, x), y) <= fit.sse <= ref.fun * (1 + 1e-5)
    assert fit.sse == pytest.approx(ref.fun, rel=1e-4)


def _raises(func, x, y, p0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            curve_fit(func, x, y, p0=p0)
        except (RuntimeError, TypeError, ValueError):
            return True
    return False


def test_fits_where_plain_curve_fit_raises():
    # pyiqa-style fit (curve_fit, p0 = [max, min, mean, 0.5]) raises RuntimeError on these
    rng = np.random.default_rng(4)
    q, e = rng.uniform(0, 1, 200), rng.normal(0, 2, 200)
    cases = {
        "large offset 1e8": (1e8 + 1e3 * q, 20 + 60 * q + e),
        "large offset 1e6, unit spread": (1e6 + q, 20 + 60 * q + e),
        "exponential-like": (q, np.exp(6 * q) + e / 2),
    }
    for name, (x, y) in cases.items():
        assert _raises(logistic4, x, y, [y.max(), y.min(), x.mean(), 0.5]), name
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RuntimeWarnings (overflow) either
            fit = fit_mapping(x, y)
        assert fit.kind == "logistic4", name
        # better than the best straight line (a 4PL contains near-linear shapes)
        assert fit.sse < _sse(np.polyval(np.polyfit(x, y, 1), x), y), name


def test_beats_silently_stalled_curve_fit():
    # pyiqa's start (beta4 = 0.5) on scores of scale 1e5: curve_fit "succeeds" far from the optimum
    rng = np.random.default_rng(1)
    q = rng.uniform(0, 1, 200)
    x, y = -1e5 * q, 20 + 60 * q
    stalled = plain_curve_fit(logistic4, x, y, [y.max(), y.min(), x.mean(), 0.5])
    fit = fit_mapping(x, y)
    assert fit.sse < 1e-6 * _sse(stalled, y)


def test_step_and_tied_predictions():
    x = np.repeat([0.0, 1.0, 2.0], 20)
    y = np.r_[np.full(20, 10.0), np.full(20, 10.5), np.full(20, 90.0)]
    fit = fit_mapping(x, y)
    assert fit.kind == "logistic4" and fit.sse < 1e-6


@pytest.mark.parametrize("n, expected", [(3, "linear"), (4, "linear"), (5, "logistic4")])
def test_few_points_fall_back_with_a_note(n, expected):
    x = np.arange(n, dtype=float)
    y = np.array([1.0, 3.0, 2.0, 4.0, 5.0])[:n]
    if n == 3:
        assert _raises(logistic4, x, y, [3, 1, 1, 0.5])  # curve_fit: more parameters than points
    fit = fit_mapping(x, y)
    assert fit.kind == expected and fit.requested == "logistic4"
    if expected != "logistic4":
        assert any("fell back to poly3" in note for note in fit.notes)
        assert any("fell back to linear" in note for note in fit.notes)
    five = fit_mapping(x, y, kind="logistic5")
    assert five.kind != "logistic5" and "logistic5 mapping failed" in five.notes[0]


def test_constant_predictions_give_none_with_note():
    fit = fit_mapping(np.ones(10), np.arange(10.0))
    assert fit.kind == "none" and "constant" in fit.notes[0]


def test_subsampled_start_then_full_polish_is_deterministic():
    rng = np.random.default_rng(3)
    x = rng.normal(size=60_000)
    y = 3 / (1 + np.exp(-2 * x)) + rng.normal(0, 0.2, x.size)
    a, b = fit_mapping(x, y), fit_mapping(x, y)
    assert a.params == b.params and a.converged
    ref = plain_curve_fit(logistic4, x, y, [y.max(), y.min(), 0.0, 0.5])
    assert a.sse <= _sse(ref, y) * (1 + 1e-9)


def test_decreasing_data_and_nan():
    x = np.linspace(0, 1, 50)
    y = 5 - 4 / (1 + np.exp(-(x - 0.5) * 10))
    x[3] = np.nan
    for kind in ("logistic4", "logistic5", "poly3", "linear"):
        fit = fit_mapping(x, y, kind=kind)
        assert fit.kind == kind and fit.n == 49
        assert "left out 1 pair" in fit.notes[0]
        assert np.corrcoef(fit.predict(x[~np.isnan(x)]), y[~np.isnan(x)])[0, 1] > 0.97


def test_unknown_kind():
    with pytest.raises(InputError, match="kind must be one of logistic4, logistic5, poly3, linear, none, vmaf, vqeg5; got .cubic."):
        fit_mapping([1, 2, 3], [1, 2, 3], kind="cubic")
    assert set(MAPPINGS) == {"logistic4", "logistic5", "poly3", "linear", "none", "vmaf", "vqeg5"}


def vmaf_sigmoid_adjust(x, y):
    """Netflix vmaf, python/vmaf/core/perf_metric.py, AggrScorePerfMetric.sigmoid_adjust, written
    out: MOS widened by 0.1 each side and scaled to (0, 1), z = -log(1/y - 1); x regressed on
    [1, z] by least squares -> (a, b); mapped = (1 + exp(-(x - a)/b))^-1 (max - min) + min."""
    hi, lo = np.max(y) + 0.1, np.min(y) - 0.1
    z = -np.log(1.0 / ((y - lo) / (hi - lo)) - 1.0)
    b, a = np.polyfit(z, x, 1)
    return 1.0 / (1.0 + np.exp(-(x - a) / b)) * (hi - lo) + lo, a, b


def test_vmaf_mapping_equals_vmafs_sigmoid_adjust():
    rng = np.random.default_rng(5)
    for x, y in [(rng.normal(size=80), None), (rng.uniform(20, 50, 120), None)]:
        y = 1 + 4 / (1 + np.exp(-(x - x.mean()) / x.std())) + rng.normal(0, 0.3, x.size)
        fit = fit_mapping(x, y, kind="vmaf")
        ref, a, b = vmaf_sigmoid_adjust(x, y)
        assert fit.kind == "vmaf" and fit.n_params == 2 and not fit.notes
        assert fit.params["a"] == pytest.approx(a, rel=1e-10) and fit.params["b"] == pytest.approx(b, rel=1e-10)
        np.testing.assert_allclose(fit.predict(x), ref, rtol=1e-10)
        assert fit.sse == pytest.approx(_sse(ref, y), rel=1e-10)
    # too few points: stated fallback
    tiny = fit_mapping([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0], kind="vqeg5")
    assert tiny.kind != "vqeg5" and tiny.requested == "vqeg5" and "vqeg5 mapping failed" in tiny.notes[0]


VQEG5_START = (10.0, 0.0, None, 0.1, 0.1)  # verify_performance.m: beta = [10 0 mean(x) 0.1 0.1], nlinfit


def _vqeg5_reference(x, y):
    p0 = [10.0, 0.0, float(np.mean(x)), 0.1, 0.1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, _ = curve_fit(logistic5, x, y, p0=p0, method="lm", maxfev=600, xtol=1e-8, ftol=1e-8)
    return p


def test_vqeg5_equals_curve_fit_from_the_matlab_start():
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 1, 150)
    y = 1 + 4 / (1 + np.exp(-(x - 0.5) * 8)) + 0.5 * x + rng.normal(0, 0.2, x.size)
    fit = fit_mapping(x, y, kind="vqeg5")
    p = _vqeg5_reference(x, y)
    assert fit.kind == "vqeg5" and fit.converged and fit.n_params == 5
    # both stop at nlinfit's tolerances (relative 1e-8 on SSE and step): parameters agree to
    # ~sqrt(1e-8), fitted values far closer
    np.testing.assert_allclose([fit.params[f"beta{k}"] for k in range(1, 6)], p, rtol=1e-3)
    np.testing.assert_allclose(fit.predict(x), logistic5(x, *p), atol=1e-4 * np.std(y))
    assert fit.sse == pytest.approx(_sse(logistic5(x, *p), y), rel=1e-8)
    assert not any("worse local optimum" in n for n in fit.notes)


@pytest.mark.slow
def test_vqeg5_on_real_data_and_the_worse_optimum_note(shared_dir):
    agreed = noted = 0
    for x, y in _reference_predictions(shared_dir):
        fit = fit_mapping(x, y, kind="vqeg5")
        assert fit.kind == "vqeg5"
        assert fit.sse == pytest.approx(_sse(fit.predict(x), y), rel=1e-9)
        # the note is there exactly when a fit of the nested default forms is better
        best = min(fit_mapping(x, y, kind=k).sse for k in ("logistic4", "logistic5"))
        worse = fit.sse > best * (1 + 1e-6)
        assert worse == any("worse local optimum" in n for n in fit.notes)
        noted += worse
        try:
            p = _vqeg5_reference(x, y)
        except RuntimeError:  # curve_fit gave up; ours says it did not converge
            assert not fit.converged and any("before converging" in n for n in fit.notes)
            continue
        if fit.converged:
            ref = logistic5(x, *p)
            assert fit.sse == pytest.approx(_sse(ref, y), rel=1e-6)
            assert np.max(np.abs(fit.predict(x) - ref)) <= 2e-3 * np.std(y)
            agreed += 1
    assert agreed >= 10 and noted >= 2
