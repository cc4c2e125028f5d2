"""The standard IQA metrics, one function each.

=================  ===========================================================
``srocc``          Spearman rank-order correlation (average ranks for ties)
``krcc``           Kendall rank correlation, tau-b, O(n log n) (Knight 1966)
``plcc_raw``       Pearson correlation of the raw predictions
``plcc``           Pearson correlation after a fitted monotonic mapping
``rmse``, ``mae``  errors after the mapping (RMSE with optional P.1401 dof)
``outlier_ratio``  share of images whose error exceeds the MOS's 95% interval
``rmse_star``      epsilon-insensitive RMSE (ITU-T P.1401)
=================  ===========================================================

Every function validates its inputs once through
:func:`iqa_eval._runtime.validation.check_paired`, takes options as keyword-only arguments
and returns a result object (:class:`~iqa_eval.stats.inference.CorrelationResult` or
:class:`~iqa_eval.stats.inference.ErrorResult`) with ``statistic``, ``n``, ``notes`` and
``confidence_interval()``. Constant predictions (or MOS) make coefficients NaN and
emit an :class:`~iqa_eval.errors.IQAEvalWarning`; they never produce a number.

The mapping for ``plcc``/``rmse``/... is either a kind name (fitted here with
:func:`iqa_eval.stats.mapping.fit_mapping`) or an already fitted
:class:`~iqa_eval.stats.mapping.MappingFit`, so one fit can serve several metrics.
"""
from __future__ import annotations

import hashlib
import math
from collections import OrderedDict

import numpy as np
from scipy import special

from . import _metric_kernels as K
from .._runtime.validation import check_paired
from ..errors import InputError, warn
from ..options import (ALTERNATIVES, CORRELATION_P_METHODS, MAPPINGS, NAN_POLICIES, SEED, Either, Interval,
                       validate_params)
from .inference import CorrelationResult, ErrorResult

__all__ = ["srocc", "krcc", "plcc_raw", "plcc", "rmse", "mae", "outlier_ratio", "rmse_star"]


# ---- shared steps ------------------------------------------------------------------------
# ``check_constant``, ``t_pvalue``, ``srocc_pvalue``, ``pearson``, ``ranked``, ``kendall_from_ranks``,
# ``error_dof`` and ``root_mean_square`` are the steps of the metrics below; they are not in
# ``__all__`` but are this module's interface to :mod:`iqa_eval.studies.evaluation`, which scores many
# models at once from the same steps (so each number is computed by one piece of code).
def _prepare(pred, mos, *extra, nan_policy, names=("pred", "mos")):
    """Validate; return (arrays, notes, propagated_nan)."""
    *arrays, dropped = check_paired(pred, mos, *extra, nan_policy=nan_policy, names=names)
    notes = []
    if dropped:
        notes.append(f"dropped {dropped} row(s) with NaN/inf values (nan_policy='omit')")
    propagated = nan_policy == "propagate" and not all(np.isfinite(a).all() for a in arrays)
    if propagated:
        notes.append("input contains NaN/inf values; result is NaN (nan_policy='propagate')")
    return arrays, notes, propagated


def check_constant(x, y, what, notes) -> bool:
    """True (with a warning and a note) when predictions or MOS are constant."""
    for values, name in ((x, "predictions"), (y, "MOS")):
        if values.size and np.all(values == values[0]):
            msg = f"{name} are constant; {what} is undefined (NaN)"
            warn(msg, stacklevel=4)
            notes.append(msg)
            return True
    return False


def t_pvalue(r, n):
    """Two-sided p-value of r under H0: rho = 0 (t with n-2 dof, as scipy)."""
    if not np.isfinite(r) or n <= 2:
        return np.nan
    if abs(r) >= 1.0:
        return 0.0
    t = r * math.sqrt((n - 2) / ((1.0 + r) * (1.0 - r)))
    return float(2.0 * special.stdtr(n - 2, -abs(t)))


def _nan_result(method, n, notes, mapping=None, alternative="two-sided"):
    return CorrelationResult(np.nan, np.nan, n, method, tuple(notes), mapping, alternative=alternative)


def _writable(a):
    # read-only input (e.g. a pandas buffer) would make numba load a second
    # specialisation of the kernel; a copy is cheaper
    return a if a.flags.writeable else a.copy()


def _power_of_two_scaled(v):
    """``v / 2**k`` when its values reach ~1e150 (their squares would overflow); exact, and
    Pearson's r does not depend on the scale."""
    big = float(np.max(np.abs(v))) if v.size else 0.0
    if big > 2.0 ** 500 and np.isfinite(big):
        return v / 2.0 ** (int(np.floor(np.log2(big))) - 1)
    return v


def pearson(x, y):
    x, y = _power_of_two_scaled(np.asarray(x, dtype=np.float64)), _power_of_two_scaled(np.asarray(y, dtype=np.float64))
    return float(K.weighted_pearson(_writable(x), _writable(y), np.ones(x.size)))


_RANK_MEMO: "OrderedDict[tuple, tuple]" = OrderedDict()
_RANK_MEMO_MIN = 50_000  # below this, ranking is cheaper than hashing and bookkeeping
_RANK_MEMO_MAX = 8_000_000  # elements kept in total (int32 sort orders: about 32 MB)


def ranked(values):
    """(sort order, average ranks, dense ranks) of a finite vector.

    Ranking (an O(n log n) argsort) dominates the cost of SROCC and KRCC on large
    sets, and the same vectors are ranked several times on the way through a score
    run (orientation, then the metrics, then the paired tests). Rankings of large
    vectors are therefore remembered, keyed by a BLAKE2 digest of the values' bytes
    (so a changed vector is a different key), a few at a time. The returned arrays
    are shared: callers must not modify them. (They are not flagged read-only because
    numba would then compile and load a second specialisation of every kernel.)
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    key = None
    if values.size >= _RANK_MEMO_MIN:
        key = (values.size, hashlib.blake2b(memoryview(values).cast("B"), digest_size=16).digest())
        stored = _RANK_MEMO.get(key)
        if stored is not None:
            _RANK_MEMO.move_to_end(key)
            # only the sort order (the O(n log n) part) is remembered, as int32 (4 bytes per
            # value instead of 24 for order and ranks), which keeps `score`'s peak memory near
            # the input's size; the kernels get it back as the platform's index type
            order = stored.astype(np.intp)
            avg, dense = K.rank_data(values, order)
            return order, avg, dense
    order = np.argsort(values)
    avg, dense = K.rank_data(values, order)
    if key is not None and values.size <= _RANK_MEMO_MAX:
        _RANK_MEMO[key] = order.astype(np.int32)
        while sum(k[0] for k in _RANK_MEMO) > _RANK_MEMO_MAX:
            _RANK_MEMO.popitem(last=False)
    return order, avg, dense


def kendall_from_ranks(x, order_x, dense_y):
    """tau-b and its p-value (scipy's method='auto') from x's sort order and y's dense ranks."""
    n = x.size
    s, n0, n1, n2, x0, x1, y0, y1 = K.kendall_from_order(x, order_x, dense_y)
    if n0 == n1 or n0 == n2:
        return np.nan, np.nan
    tau = max(-1.0, min(1.0, s / math.sqrt(n0 - n1) / math.sqrt(n0 - n2)))
    dis = (n0 - s) // 2 if (n1 == 0 and n2 == 0) else None
    if dis is not None and (n <= 33 or min(dis, n0 - dis) <= 1):
        return tau, _kendall_exact_p(n, int(min(dis, n0 - dis)))
    m = n * (n - 1.0)
    var = ((m * (2 * n + 5) - x1 - y1) / 18.0 + 2.0 * n1 * n2 / m + x0 * y0 / (9.0 * m * (n - 2)))
    return tau, (float(2.0 * special.ndtr(-abs(s) / math.sqrt(var))) if var > 0 else np.nan)


# ---- correlations ------------------------------------------------------------------------
def _is_fit(value) -> bool:
    from .mapping import MappingFit   # only when the value is not a mapping name

    return isinstance(value, MappingFit)


_RULES = {"nan_policy": NAN_POLICIES, "alternative": ALTERNATIVES}
_MAPPED_RULES = {"mapping": Either(MAPPINGS, _is_fit, "a MappingFit"), "nan_policy": NAN_POLICIES, "seed": SEED}


@validate_params({**_RULES, "method": CORRELATION_P_METHODS, "n_resamples": Interval(1, None, integral=True),
                  "seed": SEED})
def srocc(pred, mos, *, nan_policy: str = "propagate", alternative: str = "two-sided", method: str = "auto",
          n_resamples: int = 9999, seed: int = 0) -> CorrelationResult:
    """Spearman rank-order correlation coefficient (SROCC).

    Pearson correlation of the average ranks (tied values share the mean of their
    positions), identical to :func:`scipy.stats.spearmanr`. The p-value is exact (every
    pairing of the ranks) for n <= 9 and uses the t distribution with n-2 degrees of freedom
    (scipy's ``spearmanr``) above; ``pvalue_method`` says which.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
        Model predictions and mean opinion scores of the same images.
    nan_policy : {'propagate', 'omit', 'raise'}
        Pairs with NaN/inf: make the result NaN, drop them (noted), or raise.
    alternative : {'two-sided', 'greater', 'less'}
        'greater': positive association (scipy's ``alternative``).
    method : {'auto', 'asymptotic', 'exact', 'permutation'}
        p-value: 'auto' (default) exact for n <= 9 (:data:`~iqa_eval.stats.exact_tests.SPEARMAN_EXACT_MAX_N`),
        else t; 'asymptotic' t with n-2 df (scipy's ``spearmanr``); 'exact' over all n! pairings
        (n <= 9, equal to scipy's ``permutation_test(permutation_type='pairings')``);
        'permutation' with ``n_resamples`` seeded random pairings. A permutation p is noted.
    n_resamples, seed : int
        Of ``method='permutation'``.

    Returns
    -------
    CorrelationResult
        ``statistic``, ``pvalue``, ``n``, ``notes``; ``confidence_interval()`` uses
        Fisher z with the Bonett–Wright variance ``(1 + r²/2)/(n-3)`` by default.

    Examples
    --------
    >>> res = srocc([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    >>> round(res.statistic, 3)
    0.8
    """
    (x, y), notes, nan = _prepare(pred, mos, nan_policy=nan_policy)
    if nan or check_constant(x, y, "SROCC", notes):
        return _nan_result("srocc", x.size, notes, alternative=alternative)
    r = pearson(ranked(x)[1], ranked(y)[1])
    p, used = srocc_pvalue(x, y, r, alternative, method, n_resamples, seed, notes)
    return CorrelationResult(r, p, x.size, "srocc", tuple(notes), None, x, y, used, alternative)


def srocc_pvalue(x, y, r, alternative="two-sided", method="auto", n_resamples=9999, seed=0, notes=None):
    """(p-value, the method used) of SROCC ``r`` of ``x`` and ``y``; 'auto': exact for n <= 9, else t."""
    from . import exact_tests as E

    notes = [] if notes is None else notes
    n = x.size
    if method == "auto":
        method = "exact" if n <= E.SPEARMAN_EXACT_MAX_N else "asymptotic"
    if method == "exact":
        if n > E.SPEARMAN_EXACT_MAX_N:
            raise InputError(f"method='exact' enumerates n! pairings; n = {n} > {E.SPEARMAN_EXACT_MAX_N} "
                             f"(use method='permutation')")
        notes.append(f"SROCC p-value exact over all {math.factorial(n)} pairings of the ranks")
        return E.spearman_exact_pvalue(x, y, alternative), "exact"
    if method == "permutation":
        notes.append(f"SROCC p-value from {n_resamples} random pairings (seed {seed}), "
                     f"resolution {1 / (1 + n_resamples):.2g}")
        return E.spearman_permutation_pvalue(x, y, alternative, n_resamples=n_resamples, seed=seed), "permutation"
    p = t_pvalue(r, n) if alternative == "two-sided" else E.t_pvalue_alternative(r, n, alternative)
    return p, "asymptotic"


def _kendall_exact_p(n, c):
    """Exact two-sided p-value for c = min(discordant, concordant) pairs, no ties.

    Counts permutations of n items with at most c inversions (Mahonian numbers).
    """
    if n <= 2:
        return 1.0
    if 4 * c == n * (n - 1):
        return 1.0
    counts = np.zeros(c + 1)
    counts[0] = 1.0
    for j in range(2, n + 1):  # add item j: it creates 0..j-1 new inversions
        cum = np.cumsum(counts)
        shifted = np.zeros(c + 1)
        if j <= c:
            shifted[j:] = cum[:c + 1 - j]
        counts = cum - shifted
        counts /= j  # keep probabilities, not counts (no overflow for large n)
    return float(min(1.0, 2.0 * counts.sum()))


@validate_params({**_RULES, "method": ("auto", "asymptotic", "exact")})
def krcc(pred, mos, *, nan_policy: str = "propagate", alternative: str = "two-sided",
         method: str = "auto") -> CorrelationResult:
    """Kendall rank correlation coefficient, tau-b (KRCC).

    ``tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2))`` with C/D concordant/discordant
    pairs, n0 = n(n-1)/2 and n1/n2 pairs tied in predictions/MOS, computed in
    O(n log n) by Knight's merge-sort algorithm (numba). Equal to
    :func:`scipy.stats.kendalltau`; the p-value follows scipy's ``method='auto'``
    (exact without ties for n <= 33, else the tie-corrected normal approximation).

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    nan_policy : {'propagate', 'omit', 'raise'}
    alternative : {'two-sided', 'greater', 'less'}
    method : {'auto', 'asymptotic', 'exact'}
        scipy's ``kendalltau`` methods: 'auto' exact without ties for n <= 33 (or one of
        concordant/discordant <= 1), else the tie-corrected normal; 'exact' refuses ties.

    Returns
    -------
    CorrelationResult
        ``confidence_interval()`` uses Fisher z with variance ``0.437/(n-4)``.

    Examples
    --------
    >>> round(krcc([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).statistic, 3)
    0.6
    """
    (x, y), notes, nan = _prepare(pred, mos, nan_policy=nan_policy)
    if nan or check_constant(x, y, "KRCC", notes):
        return _nan_result("krcc", x.size, notes, alternative=alternative)
    tau, p, used = _kendall_alternative(x, ranked(x)[0], ranked(y)[2], alternative, method)
    return CorrelationResult(tau, p, x.size, "krcc", tuple(notes), None, x, y, used, alternative)


def _kendall_alternative(x, order_x, dense_y, alternative, method):
    """tau-b, the p of scipy's ``kendalltau(alternative=, method=)`` and the method used."""
    from .exact_tests import kendall_exact_pvalue, sided

    n = x.size
    s, n0, n1, n2, x0, x1, y0, y1 = K.kendall_from_order(x, order_x, dense_y)
    if n0 == n1 or n0 == n2:
        return np.nan, np.nan, "asymptotic"
    tau = max(-1.0, min(1.0, s / math.sqrt(n0 - n1) / math.sqrt(n0 - n2)))
    no_ties = n1 == 0 and n2 == 0
    dis = (n0 - s) // 2 if no_ties else None
    if method == "exact" and not no_ties:
        raise InputError("method='exact' for KRCC needs data without ties (use 'asymptotic')")
    if method == "exact" or (method == "auto" and no_ties and (n <= 33 or min(dis, n0 - dis) <= 1)):
        return tau, kendall_exact_pvalue(n, int(dis), alternative), "exact"
    m = n * (n - 1.0)
    var = ((m * (2 * n + 5) - x1 - y1) / 18.0 + 2.0 * n1 * n2 / m + x0 * y0 / (9.0 * m * (n - 2)))
    if var <= 0:
        return tau, np.nan, "asymptotic"
    z = s / math.sqrt(var)
    return tau, sided(float(special.ndtr(z)), float(special.ndtr(-z)), alternative), "asymptotic"


@validate_params(_RULES)
def plcc_raw(pred, mos, *, nan_policy: str = "propagate", alternative: str = "two-sided") -> CorrelationResult:
    """Pearson linear correlation of the raw (unmapped) predictions with MOS.

    Equal to :func:`scipy.stats.pearsonr`, p-value from the t distribution.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    nan_policy : {'propagate', 'omit', 'raise'}

    Returns
    -------
    CorrelationResult

    Examples
    --------
    >>> round(plcc_raw([1, 2, 3, 4], [1, 3, 2, 4]).statistic, 3)
    0.8
    """
    (x, y), notes, nan = _prepare(pred, mos, nan_policy=nan_policy)
    if nan or check_constant(x, y, "PLCC", notes):
        return _nan_result("plcc_raw", x.size, notes, alternative=alternative)
    _check_near_constant(x, y, notes)
    r = pearson(x, y)
    return CorrelationResult(r, _t_p(r, x.size, alternative), x.size, "plcc_raw", tuple(notes), None, x, y,
                             alternative=alternative)


def _t_p(r, n, alternative):
    if alternative == "two-sided":
        return t_pvalue(r, n)
    from .exact_tests import t_pvalue_alternative
    return t_pvalue_alternative(r, n, alternative)


def _check_near_constant(x, y, notes):
    """scipy's NearConstantInputWarning: the correlation may be inaccurate (warned and noted)."""
    from .exact_tests import near_constant

    for values, name in ((x, "predictions"), (y, "MOS")):
        if near_constant(values):
            msg = (f"{name} are nearly constant (spread < 1.8e-12 of their mean, scipy's rule); the correlation may be "
                   f"inaccurate")
            warn(msg, stacklevel=4)
            notes.append(msg)


# ---- metrics after a mapping ---------------------------------------------------------------
def _resolve_mapping(x, y, mapping, seed):
    from .mapping import MappingFit, fit_mapping  # scipy.optimize only when a fit is needed

    if isinstance(mapping, MappingFit):
        return mapping
    return fit_mapping(x, y, kind=mapping, seed=seed)


def _mapped(pred, mos, *extra, mapping, nan_policy, seed, what, names=("pred", "mos")):
    """Shared front half of the mapped metrics: (arrays, fitted values, fit, notes, ok)."""
    arrays, notes, nan = _prepare(pred, mos, *extra, nan_policy=nan_policy, names=names)
    x, y = arrays[0], arrays[1]
    if nan or check_constant(x, y, what, notes):
        return arrays, None, None, notes, False
    fit = _resolve_mapping(x, y, mapping, seed)
    notes.extend(fit.notes)
    return arrays, fit.predict(x), fit, notes, True


@validate_params({**_MAPPED_RULES, "alternative": ALTERNATIVES})
def plcc(pred, mos, *, mapping="logistic4", nan_policy: str = "propagate", seed: int = 0,
         alternative: str = "two-sided") -> CorrelationResult:
    """Pearson correlation between MOS and predictions after a fitted monotonic mapping.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    mapping : str or MappingFit
        ``'logistic4'`` (default, VQEG form with |β4|), ``'logistic5'``, ``'poly3'``,
        ``'linear'``, ``'none'``, ``'vmaf'``, ``'vqeg5'``, or a fit from :func:`iqa_eval.stats.mapping.fit_mapping`.
    nan_policy : {'propagate', 'omit', 'raise'}
    seed : int
        Passed to the mapping fit (sub-sampling of very large sets).
    alternative : {'two-sided', 'greater', 'less'}
        Of the t test of the mapped PLCC (the fit's own degrees of freedom are not deducted).

    Returns
    -------
    CorrelationResult
        ``mapping`` holds the fit; the Fisher interval treats the mapped
        predictions as given (the fit's own uncertainty is not included).

    Examples
    --------
    >>> x = np.linspace(0, 1, 30); y = 1 / (1 + np.exp(-8 * (x - 0.5)))
    >>> round(plcc(x, y).statistic, 6)
    1.0
    """
    (x, y), fx, fit, notes, ok = _mapped(pred, mos, mapping=mapping, nan_policy=nan_policy,
                                         seed=seed, what="PLCC")
    if not ok:
        return _nan_result("plcc", x.size, notes)
    if np.all(fx == fx[0]):
        notes.append("mapped predictions are constant; PLCC is undefined (NaN)")
        warn(notes[-1])
        return _nan_result("plcc", x.size, notes, fit)
    _check_near_constant(x, y, notes)
    r = pearson(fx, y)
    return CorrelationResult(r, _t_p(r, x.size, alternative), x.size, "plcc", tuple(notes), fit, fx, y,
                             alternative=alternative)


def error_dof(n, fit, rmse_dof: bool):
    """Denominator of RMSE and RMSE*: ``n - d`` (ITU-T P.1401, ``d`` mapping parameters) or ``n``."""
    return n - fit.n_params if rmse_dof else n


def root_mean_square(errors, dof) -> float:
    """``sqrt(sum(e²) / dof)``; NaN when ``dof <= 0``."""
    return float(np.sqrt(np.dot(errors, errors) / dof)) if dof > 0 else np.nan


def _error_result(method, value, n, dof, notes, fit):
    return ErrorResult(float(value), int(n), float(dof), method, tuple(notes), fit)


@validate_params(_MAPPED_RULES)
def rmse(pred, mos, *, mapping="logistic4", rmse_dof: bool = False, nan_policy: str = "propagate",
         seed: int = 0) -> ErrorResult:
    """Root-mean-square error between MOS and mapped predictions.

    ``sqrt(sum(e²) / (n - d))`` with the ITU-T P.1401 degrees-of-freedom correction
    (``d`` = number of mapping parameters: 4 for logistic4 and poly3, 5 for
    logistic5, 2 for linear, 0 for none), else ``sqrt(mean(e²))``.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    mapping : str or MappingFit, default 'logistic4'
        As in :func:`plcc`.
    rmse_dof : bool, default False
        Divide by ``n - d`` (ITU-T P.1401) instead of ``n``.
    nan_policy : {'propagate', 'omit', 'raise'}
    seed : int
        Passed to the mapping fit.

    Returns
    -------
    ErrorResult
        ``confidence_interval()`` is the chi-square interval of P.1401.

    Examples
    --------
    >>> round(rmse([1, 2, 3, 4], [1, 2, 3, 5], mapping="none").statistic, 4)
    0.5
    """
    (x, y), fx, fit, notes, ok = _mapped(pred, mos, mapping=mapping, nan_policy=nan_policy,
                                         seed=seed, what="RMSE")
    n = x.size
    dof = error_dof(n, fit, rmse_dof) if ok else n
    if not ok:
        return _error_result("rmse", np.nan, n, dof, notes, fit)
    if dof <= 0:
        notes.append(f"RMSE undefined: n - d = {n} - {fit.n_params} <= 0")
        return _error_result("rmse", np.nan, n, dof, notes, fit)
    return _error_result("rmse", root_mean_square(y - fx, dof), n, dof, notes, fit)


@validate_params(_MAPPED_RULES)
def mae(pred, mos, *, mapping="logistic4", nan_policy: str = "propagate", seed: int = 0) -> ErrorResult:
    """Mean absolute error between MOS and mapped predictions.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    mapping : str or MappingFit, default 'logistic4'
    nan_policy : {'propagate', 'omit', 'raise'}
    seed : int

    Returns
    -------
    ErrorResult

    Examples
    --------
    >>> mae([1, 2, 3, 4], [1, 2, 3, 5], mapping="none").statistic
    0.25
    """
    (x, y), fx, fit, notes, ok = _mapped(pred, mos, mapping=mapping, nan_policy=nan_policy,
                                         seed=seed, what="MAE")
    value = np.mean(np.abs(y - fx)) if ok else np.nan
    return _error_result("mae", value, x.size, x.size, notes, fit)


def _ci95_halfwidth(std, n_ratings, notes):
    """Half-width of each MOS's 95% interval (the P.1401 'epsilon').

    With ``n_ratings``: ``t_{0.975, n_ratings-1} * std / sqrt(n_ratings)`` (std of the
    individual ratings). Without: ``2 * std``, i.e. ``std`` is read as the standard
    error of the MOS (VQEG convention) — recorded in the notes.
    """
    if np.any(std < 0):
        raise InputError("std must be non-negative", column="std")
    if n_ratings is None:
        notes.append("no number of ratings: std taken as the MOS standard error, threshold 2*std")
        return 2.0 * std
    if np.any(n_ratings < 2):
        raise InputError("n_ratings must be at least 2 for a t-based MOS interval", column="n_ratings")
    return special.stdtrit(n_ratings - 1, 0.975) * std / np.sqrt(n_ratings)


@validate_params(_MAPPED_RULES)
def outlier_ratio(pred, mos, std, *, n_ratings=None, mapping="logistic4", nan_policy: str = "propagate",
                  seed: int = 0) -> ErrorResult:
    """Share of images whose prediction error falls outside the MOS's 95% interval (P.1401).

    An image is an outlier when ``|MOS - f(pred)| > eps`` where, by our convention,
    ``eps = t_{0.975, N-1} * std / sqrt(N)`` when the number of ratings ``N`` is known
    (``std`` is the std of the individual ratings), and ``eps = 2 * std`` when it is
    not (``std`` is then read as the MOS's standard error; a note says so).

    Parameters
    ----------
    pred, mos, std : array-like of shape (n,)
    n_ratings : array-like of shape (n,), optional
        Number of ratings behind each MOS.
    mapping : str or MappingFit, default 'logistic4'
    nan_policy : {'propagate', 'omit', 'raise'}
    seed : int

    Returns
    -------
    ErrorResult
        ``confidence_interval()`` is the Wilson score interval.

    Examples
    --------
    >>> outlier_ratio([1, 2, 3, 4], [1, 2, 3, 5], [0.2, 0.2, 0.2, 0.2], mapping="none").statistic
    0.25
    """
    extra = (std,) if n_ratings is None else (std, n_ratings)
    arrays, fx, fit, notes, ok = _mapped(pred, mos, *extra, mapping=mapping, nan_policy=nan_policy, seed=seed,
                                         what="the outlier ratio", names=("pred", "mos", "std", "n_ratings"))
    x, y = arrays[0], arrays[1]
    if not ok:
        return _error_result("outlier_ratio", np.nan, x.size, x.size, notes, fit)
    eps = _ci95_halfwidth(arrays[2], arrays[3] if n_ratings is not None else None, notes)
    return _error_result("outlier_ratio", np.mean(np.abs(y - fx) > eps), x.size, x.size, notes, fit)


@validate_params(_MAPPED_RULES)
def rmse_star(pred, mos, std, *, n_ratings=None, mapping="logistic4", rmse_dof: bool = False,
              nan_policy: str = "propagate", seed: int = 0) -> ErrorResult:
    """Epsilon-insensitive RMSE (RMSE*, ITU-T P.1401).

    Errors inside the MOS's 95% interval count as zero:
    ``e*_i = max(0, |MOS_i - f(pred_i)| - eps_i)`` with ``eps`` as in
    :func:`outlier_ratio`; then ``sqrt(sum(e*²) / (n - d))`` with
    ``rmse_dof=True`` (P.1401's form) or ``/ n`` otherwise.

    Parameters
    ----------
    pred, mos, std : array-like of shape (n,)
    n_ratings : array-like of shape (n,), optional
    mapping : str or MappingFit, default 'logistic4'
    rmse_dof : bool, default False
    nan_policy : {'propagate', 'omit', 'raise'}
    seed : int

    Returns
    -------
    ErrorResult

    Examples
    --------
    >>> rmse_star([1, 2, 3, 4], [1, 2, 3, 5], [0.25] * 4, mapping="none").statistic
    0.25
    """
    extra = (std,) if n_ratings is None else (std, n_ratings)
    arrays, fx, fit, notes, ok = _mapped(pred, mos, *extra, mapping=mapping, nan_policy=nan_policy, seed=seed,
                                         what="RMSE*", names=("pred", "mos", "std", "n_ratings"))
    x, y = arrays[0], arrays[1]
    n = x.size
    dof = error_dof(n, fit, rmse_dof) if ok else n
    if not ok or dof <= 0:
        return _error_result("rmse_star", np.nan, n, dof, notes, fit)
    eps = _ci95_halfwidth(arrays[2], arrays[3] if n_ratings is not None else None, notes)
    e = np.maximum(0.0, np.abs(y - fx) - eps)
    return _error_result("rmse_star", root_mean_square(e, dof), n, dof, notes, fit)
