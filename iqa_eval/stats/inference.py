"""Uncertainty for the correlation metrics: confidence intervals and paired tests.

Defaults are analytic and fast; the bootstrap is there on request.

* Confidence intervals (:func:`fisher_ci`): Fisher z with the Bonett & Wright (2000)
  variances — PLCC ``1/(n-3)``, SROCC ``(1 + r^2/2)/(n-3)``, KRCC ``0.437/(n-4)``.
  :func:`bootstrap_ci` gives percentile or BCa intervals from seeded resamples of the
  (prediction, MOS) pairs.
* Two models scored on the same images (:func:`compare_correlations`): Williams' t for
  two dependent correlations that share the MOS variable (Steiger 1980, eq. 3), a
  confidence interval for the difference (Zou 2007, built from the two single-model
  intervals), and on request a paired bootstrap that resamples the *same* images for
  both models.
* :func:`tied_with_best`: which models are not significantly worse than the best.

Every bootstrap takes ``seed`` (default 0) and draws from ``numpy.random.default_rng``.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from . import _metric_kernels as K
from ..errors import InputError
from ..options import (ALPHA, ALTERNATIVES, BOOTSTRAP_CI_METHODS, CONFIDENCE_LEVEL, CORRELATIONS,
                       DEPENDENT_CORRELATION_TESTS, N_RESAMPLES, PAIRED_CORRELATIONS, SEED, CIMethod, check_param,
                       validate_params)

__all__ = [
    "ConfidenceInterval", "CorrelationResult", "ErrorResult", "BootstrapInterval", "PairedBootstrap",
    "PairedComparison",
    "fisher_variance", "fisher_ci", "bootstrap_distribution", "bootstrap_ci",
    "williams_test", "zou_difference_ci", "compare_correlations", "paired_bootstrap_difference",
    "tied_with_best",
]

ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])
_NAN_CI = ConfidenceInterval(np.nan, np.nan)


_BOOTSTRAP_RULES = {"n_resamples": N_RESAMPLES, "seed": SEED}


# ---- result objects -------------------------------------------------------------------
class _Unpacks:
    """Unpacks like scipy's test results: ``statistic, pvalue = result`` (the names in ``_unpacked``)."""

    _unpacked = ("statistic", "pvalue")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._unpacked)

    def __iter__(self):
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._unpacked)

    def __getitem__(self, index):
        return self._values()[index]


class _StoredInterval:
    """An interval computed with the result, kept as ``ci_low``/``ci_high`` at ``confidence_level``."""

    def confidence_interval(self) -> ConfidenceInterval:
        """The interval at ``confidence_level``, as ``(low, high)`` (scipy's ``ConfidenceInterval`` form)."""
        return ConfidenceInterval(self.ci_low, self.ci_high)


@dataclass(frozen=True, eq=False)
class CorrelationResult(_Unpacks):
    """A correlation between predictions and MOS, scipy style: ``statistic, pvalue = result``.

    Attributes
    ----------
    statistic : float
        The coefficient (NaN when it is undefined, e.g. constant predictions).
    pvalue : float
        p-value of ``alternative`` for "no association" (NaN when undefined).
    n : int
        Number of (prediction, MOS) pairs used.
    method : str
        ``'srocc'``, ``'krcc'``, ``'plcc_raw'`` or ``'plcc'``.
    notes : tuple of str
        What was done to get here (rows dropped, mapping fallbacks, ...).
    mapping : MappingFit or None
        The fitted mapping for ``plcc``.
    pvalue_method : str
        How ``pvalue`` was computed: ``'exact'`` (every permutation), ``'permutation'`` (seeded
        Monte Carlo) or ``'asymptotic'`` (t with n-2 df; KRCC: the tie-corrected normal); with
        ``method='auto'`` the one the rule chose (``docs/metrics.md``).
    alternative : str
        ``'two-sided'``, ``'greater'`` (positive association) or ``'less'``.
    """

    statistic: float
    pvalue: float
    n: int
    method: str
    notes: tuple = ()
    mapping: object = None
    _x: np.ndarray = field(default=None, repr=False)
    _y: np.ndarray = field(default=None, repr=False)
    pvalue_method: str = "asymptotic"
    alternative: str = "two-sided"

    def confidence_interval(self, confidence_level: float = 0.95, *, method: str = "analytic",
                            n_resamples: int = 1000, seed: int = 0) -> ConfidenceInterval:
        """Confidence interval for the coefficient.

        Parameters
        ----------
        confidence_level : float
            Two-sided coverage, default 0.95.
        method : {'analytic', 'percentile', 'bca'}
            Fisher z with Bonett–Wright variances (``'analytic'``, default), or a seeded bootstrap
            of the pairs. For ``plcc`` the fitted mapping is held fixed.
        n_resamples, seed : int
            Bootstrap size and seed (ignored by ``'analytic'``).
        """
        method = check_param("method", method, CIMethod)
        check_param("confidence_level", confidence_level, CONFIDENCE_LEVEL)
        check_param("n_resamples", n_resamples, N_RESAMPLES)
        check_param("seed", seed, SEED)
        kind = "plcc" if self.method == "plcc_raw" else self.method
        if method == "analytic":
            return fisher_ci(self.statistic, self.n, kind=kind, confidence_level=confidence_level)
        if self._x is None or not np.isfinite(self.statistic):
            return _NAN_CI
        return bootstrap_ci(kind, self._x, self._y, method=method, confidence_level=confidence_level,
                            n_resamples=n_resamples, seed=seed).confidence_interval()


@dataclass(frozen=True, eq=False)
class ErrorResult:
    """An error measure (RMSE, MAE, outlier ratio, RMSE*) after a mapping.

    Attributes
    ----------
    statistic : float
    n : int
        Pairs used.
    dof : float
        Denominator used (``n`` or ``n - d``).
    method : str
    notes : tuple of str
    mapping : MappingFit
    """

    statistic: float
    n: int
    dof: float
    method: str
    notes: tuple = ()
    mapping: object = None

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Analytic interval where one is standard, else (nan, nan).

        RMSE: chi-square interval of P.1401 (``rmse * sqrt(dof / chi2_q(dof))``).
        Outlier ratio: Wilson score interval for a proportion of ``n`` images.
        MAE and RMSE*: none (returns NaNs).
        """
        level = float(check_param("confidence_level", confidence_level, CONFIDENCE_LEVEL))
        a = 1.0 - level
        s = self.statistic
        if not np.isfinite(s):
            return _NAN_CI
        if self.method == "rmse" and self.dof > 0:
            lo = s * np.sqrt(self.dof / special.chdtri(self.dof, a / 2))
            hi = s * np.sqrt(self.dof / special.chdtri(self.dof, 1 - a / 2))
            return ConfidenceInterval(float(lo), float(hi))
        if self.method == "outlier_ratio" and self.n > 0:
            z = special.ndtri(1 - a / 2)
            n = self.n
            centre = (s + z * z / (2 * n)) / (1 + z * z / n)
            half = z / (1 + z * z / n) * np.sqrt(s * (1 - s) / n + z * z / (4 * n * n))
            return ConfidenceInterval(float(max(0.0, centre - half)), float(min(1.0, centre + half)))
        return _NAN_CI


@dataclass(frozen=True, eq=False)
class BootstrapInterval(_StoredInterval):
    """A bootstrap confidence interval of one correlation (:func:`bootstrap_ci`).

    Attributes
    ----------
    statistic : float
        The coefficient on the full sample.
    ci_low, ci_high : float
        The interval (NaN when too few resamples were defined).
    confidence_level : float
    method : {'percentile', 'bca'}
    n_resamples : int
        Resamples drawn (undefined ones are left out, as the notes say).
    notes : tuple of str
    """

    statistic: float
    ci_low: float
    ci_high: float
    confidence_level: float
    method: str
    n_resamples: int
    notes: tuple = ()


@dataclass(frozen=True, eq=False)
class PairedBootstrap(_Unpacks, _StoredInterval):
    """Paired bootstrap of ``stat(A) - stat(B)`` on the same images (:func:`paired_bootstrap_difference`).

    Unpacks like scipy's tests: ``diff, pvalue = result``.

    Attributes
    ----------
    diff : float
        ``stat(A) - stat(B)`` on the full sample.
    pvalue : float
        Bootstrap p-value of ``alternative`` with the +1 correction (NaN when no resample was defined).
    ci_low, ci_high : float
        Percentile interval of the difference.
    confidence_level : float
    method : str
        The correlation, ``'srocc'``, ``'plcc'`` or ``'krcc'``.
    n_resamples : int
        Resamples drawn (undefined ones are left out, as the notes say).
    notes : tuple of str
    """

    diff: float
    pvalue: float
    ci_low: float
    ci_high: float
    confidence_level: float
    method: str
    n_resamples: int
    notes: tuple = ()
    _unpacked = ("diff", "pvalue")


# ---- Fisher z ---------------------------------------------------------------------------
@validate_params({"kind": CORRELATIONS})
def fisher_variance(r, n, *, kind: str):
    """Variance of ``atanh(r)``: PLCC 1/(n-3); SROCC (1+r²/2)/(n-3); KRCC 0.437/(n-4).

    NaN when ``n`` is too small for the formula (n <= 3, or n <= 4 for KRCC).
    """
    r = np.asarray(r, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if kind == "krcc":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 4, 0.437 / (n - 4), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.where(n > 3, 1.0 / (n - 3), np.nan)
    return base * (1.0 + r * r / 2.0) if kind == "srocc" else base


@validate_params({"kind": CORRELATIONS, "confidence_level": CONFIDENCE_LEVEL})
def fisher_ci(r, n, *, kind: str, confidence_level: float = 0.95) -> ConfidenceInterval:
    """Fisher-z confidence interval ``tanh(atanh(r) ± z_{1-a/2} * sqrt(var))``.

    Parameters
    ----------
    r : float
        The coefficient.
    n : int
        Number of pairs.
    kind : {'srocc', 'krcc', 'plcc', 'plcc_raw'}
        Chooses the Bonett–Wright variance (:func:`fisher_variance`).
    confidence_level : float, default 0.95

    Returns
    -------
    ConfidenceInterval
        ``(low, high)``; NaNs when ``n`` is too small or ``r`` undefined.

    Examples
    --------
    >>> ci = fisher_ci(0.8, 50, kind="plcc")
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.6711, 0.882)
    """
    level = float(confidence_level)
    var = float(fisher_variance(r, n, kind=kind))
    if not (np.isfinite(r) and np.isfinite(var)):
        return _NAN_CI
    z = np.arctanh(np.clip(r, -1.0 + 1e-15, 1.0 - 1e-15))
    half = special.ndtri(0.5 + level / 2) * np.sqrt(var)
    return ConfidenceInterval(float(np.tanh(z - half)), float(np.tanh(z + half)))


# ---- bootstrap -------------------------------------------------------------------------
def _resample_chunks(n: int, n_resamples: int, seed: int, max_cells: int = 4_000_000):
    """Yield (B_chunk, n) index arrays; the same seed always gives the same resamples."""
    rng = np.random.default_rng(seed)
    rows = max(1, min(n_resamples, max_cells // max(n, 1)))
    done = 0
    while done < n_resamples:
        b = min(rows, n_resamples - done)
        yield rng.integers(0, n, size=(b, n))
        done += b


def _rank_tables(columns):
    orders = np.empty((len(columns), columns[0].size), dtype=np.int64)
    ties = np.empty(orders.shape, dtype=np.bool_)
    for k, c in enumerate(columns):
        orders[k] = K.sort_order(c)
        ties[k] = K.tie_flags(c, orders[k])
    return orders, ties


@validate_params({"kind": PAIRED_CORRELATIONS, **_BOOTSTRAP_RULES})
def bootstrap_distribution(kind: str, preds, mos, *, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Coefficient of every prediction column with MOS on ``n_resamples`` paired resamples.

    Parameters
    ----------
    kind : {'srocc', 'plcc', 'krcc'}
    preds : array of shape (m, n) or (n,)
        Prediction vectors of one or more models on the same images. Every model sees
        the *same* resampled images, so differences between models are paired.
    mos : array of shape (n,)
    n_resamples, seed : int

    Returns
    -------
    ndarray of shape (n_resamples, m)
    """
    p = np.atleast_2d(np.asarray(preds, dtype=np.float64))
    y = np.ascontiguousarray(mos, dtype=np.float64)
    n = y.size
    from .._runtime.resources import check_memory

    check_memory(8.0 * int(n_resamples) * (p.shape[0] + 1) + 8.0 * 4_000_000,
                 f"{int(n_resamples):,} bootstrap resamples of {p.shape[0]} model(s)",
                 hint="use fewer resamples (n_resamples)")
    out = np.empty((int(n_resamples), p.shape[0]))
    start = 0
    if kind == "srocc":
        orders, ties = _rank_tables([y] + list(p))
    elif kind == "plcc":
        values = np.ascontiguousarray(np.vstack([y[None, :], p]))
    for idx in _resample_chunks(n, int(n_resamples), seed):
        part = out[start:start + idx.shape[0]]
        if kind == "srocc":
            K.bootstrap_rank_pearson(orders, ties, idx, part)
        elif kind == "plcc":
            K.bootstrap_pearson(values, idx, part)
        else:
            col = np.empty(idx.shape[0])
            for m in range(p.shape[0]):
                K.bootstrap_kendall(np.ascontiguousarray(p[m]), y, idx, col)
                part[:, m] = col
        start += idx.shape[0]
    return out


def _statistic(kind, x, y):
    if kind == "krcc":
        return float(K.kendall_tau_b(x, y))
    if kind == "srocc":
        x, y = K.average_ranks(x), K.average_ranks(y)
    return float(K.weighted_pearson(x, y, np.ones(x.size)))


def _jackknife(kind, x, y, *, seed, max_exact=1000, groups=200):
    """Leave-one-out values (n <= max_exact) or leave-one-group-out values (seeded groups)."""
    n = x.size
    if n <= max_exact:
        labels, g = np.arange(n), n
    else:
        labels = np.random.default_rng(seed).permutation(n) % groups
        g = groups
    vals = np.empty(g)
    if kind == "krcc":
        for j in range(g):
            keep = labels != j
            vals[j] = K.kendall_tau_b(x[keep], y[keep])
        return vals
    if kind == "srocc":
        orders, ties = _rank_tables([x, y])
        rx, ry = np.empty(n), np.empty(n)
    for j in range(g):
        w = (labels != j).astype(np.float64)
        if kind == "srocc":
            K.weighted_average_ranks(orders[0], ties[0], w, rx)
            K.weighted_average_ranks(orders[1], ties[1], w, ry)
            vals[j] = K.weighted_pearson(rx, ry, w)
        else:
            vals[j] = K.weighted_pearson(x, y, w)
    return vals


def _interval_from_distribution(theta_hat, dist, *, method, level, jack=None):
    a = 1.0 - level
    if method == "percentile":
        q = [a / 2, 1 - a / 2]
    else:  # BCa, as in Efron & Tibshirani (1993) ch. 14 and scipy.stats.bootstrap
        z0 = special.ndtri(np.mean(dist < theta_hat))
        d = jack.mean() - jack
        denom = 6.0 * np.sum(d * d) ** 1.5
        acc = np.sum(d ** 3) / denom if denom > 0 else 0.0
        za = special.ndtri(np.array([a / 2, 1 - a / 2]))
        q = special.ndtr(z0 + (z0 + za) / (1 - acc * (z0 + za)))
        if not np.all(np.isfinite(q)):
            return _NAN_CI
    lo, hi = np.percentile(dist, 100 * np.asarray(q))
    return ConfidenceInterval(float(lo), float(hi))


@validate_params({"kind": PAIRED_CORRELATIONS, "method": BOOTSTRAP_CI_METHODS,
                  "confidence_level": CONFIDENCE_LEVEL, **_BOOTSTRAP_RULES})
def bootstrap_ci(kind: str, pred, mos, *, method: str = "percentile", confidence_level: float = 0.95,
                 n_resamples: int = 1000, seed: int = 0):
    """Percentile or BCa bootstrap interval of one correlation.

    BCa's acceleration comes from the jackknife: leave-one-out for n <= 1000, else
    200 leave-a-group-out values over a seeded random split (stated in the notes).

    Parameters
    ----------
    kind : {'srocc', 'plcc', 'krcc'}
    pred, mos : array-like of shape (n,)
        Finite values.
    method : {'percentile', 'bca'}
    confidence_level : float, default 0.95
    n_resamples, seed : int

    Returns
    -------
    BootstrapInterval
        ``confidence_interval()``, ``statistic``, ``method``, ``n_resamples`` and ``notes``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=100)
    >>> res = bootstrap_ci("srocc", q + rng.normal(size=100), q, n_resamples=200)
    >>> ci = res.confidence_interval()
    >>> bool(ci.low < res.statistic < ci.high), res.notes
    (True, ())
    """
    level = float(confidence_level)
    x = np.ascontiguousarray(pred, dtype=np.float64)
    y = np.ascontiguousarray(mos, dtype=np.float64)
    theta = _statistic(kind, x, y)
    dist = bootstrap_distribution(kind, x, y, n_resamples=n_resamples, seed=seed)[:, 0]
    notes = []
    bad = ~np.isfinite(dist)
    if bad.any():
        notes.append(f"{int(bad.sum())} of {dist.size} bootstrap resamples of {kind.upper()} were undefined "
                     f"(constant resample) and were left out")
        dist = dist[~bad]
    if dist.size < 2 or not np.isfinite(theta):
        interval = _NAN_CI
    else:
        jack = None
        if method == "bca":
            jack = _jackknife(kind, x, y, seed=seed)
            jack = jack[np.isfinite(jack)]
            if x.size > 1000:
                notes.append("BCa acceleration from a 200-group jackknife (n > 1000)")
        interval = _interval_from_distribution(theta, dist, method=method, level=level, jack=jack)
    return BootstrapInterval(theta, interval.low, interval.high, level, method, int(n_resamples), tuple(notes))


# ---- dependent correlations ------------------------------------------------------------
def williams_test(r_a, r_b, r_ab, n, *, alternative="two-sided"):
    """Williams' t for H0: corr(A, MOS) == corr(B, MOS), A and B measured on the same images.

    Steiger (1980), eq. 3: with ``|R| = 1 - r_a² - r_b² - r_ab² + 2 r_a r_b r_ab`` and
    ``rbar = (r_a + r_b)/2``,

        t = (r_a - r_b) * sqrt((n-1)(1+r_ab) / (2 (n-1)/(n-3) |R| + rbar² (1-r_ab)³))

    with ``n - 3`` degrees of freedom.

    Returns
    -------
    t, pvalue : float
        p-value of ``alternative`` ('greater': ``r_a > r_b``, i.e. ``P(T >= t)``; 'less':
        ``P(T <= t)``); NaNs when ``n <= 3`` or a correlation is undefined.
    """
    alternative = check_param("alternative", alternative, ALTERNATIVES)
    r_a, r_b, r_ab = float(r_a), float(r_b), float(r_ab)
    if n <= 3 or not np.isfinite([r_a, r_b, r_ab]).all():
        return np.nan, np.nan
    det = 1.0 - r_a ** 2 - r_b ** 2 - r_ab ** 2 + 2.0 * r_a * r_b * r_ab
    rbar = (r_a + r_b) / 2.0
    denom = 2.0 * (n - 1) / (n - 3) * det + rbar ** 2 * (1.0 - r_ab) ** 3
    if r_a == r_b:
        t = 0.0
    elif denom <= 0.0:
        # identical rankings (r_ab = 1) and perfect fits: no sampling variance left
        t = float(np.copysign(np.inf, r_a - r_b))
    else:
        t = float((r_a - r_b) * np.sqrt((n - 1) * (1.0 + r_ab) / denom))
    if alternative == "greater":
        return t, float(special.stdtr(n - 3, -t))
    if alternative == "less":
        return t, float(special.stdtr(n - 3, t))
    return t, float(min(1.0, 2.0 * special.stdtr(n - 3, -abs(t))))


def zou_difference_ci(r_a, r_b, r_ab, ci_a, ci_b):
    """Zou (2007) interval for r_a - r_b of two overlapping dependent correlations.

    Built from the single-model intervals ``ci_a``, ``ci_b`` and the correlation
    between the two estimates (Zou 2007, eq. for overlapping correlations).
    """
    if not np.isfinite([r_a, r_b, r_ab, *ci_a, *ci_b]).all():
        return _NAN_CI
    (l1, u1), (l2, u2) = ci_a, ci_b
    denom = (1 - r_a ** 2) * (1 - r_b ** 2)
    if denom <= 0:
        c = 1.0
    else:
        c = ((r_ab - 0.5 * r_a * r_b) * (1 - r_a ** 2 - r_b ** 2 - r_ab ** 2) + r_ab ** 3) / denom
    d = r_a - r_b
    lo = d - np.sqrt(max(0.0, (r_a - l1) ** 2 + (u2 - r_b) ** 2 - 2 * c * (r_a - l1) * (u2 - r_b)))
    hi = d + np.sqrt(max(0.0, (u1 - r_a) ** 2 + (r_b - l2) ** 2 - 2 * c * (u1 - r_a) * (r_b - l2)))
    return ConfidenceInterval(float(lo), float(hi))


@dataclass(frozen=True)
class PairedComparison(_StoredInterval):
    """Model A vs model B on the same images for one metric (``diff = A - B``).

    Attributes
    ----------
    metric : str
    n : int
    statistic_a, statistic_b, diff : float
    ci_low, ci_high : float
        Interval of ``diff`` (Zou's, or the paired bootstrap's percentile interval).
    williams_pvalue, bootstrap_pvalue : float
        NaN where the test was not run (both of ``alternative``).
    confidence_level : float
    notes : tuple of str
    test : str
        The closed-form test of ``pvalue`` (one of ``DEPENDENT_CORRELATION_TESTS``).
    pvalue : float
        That test's p-value (equal to ``williams_pvalue`` for the default ``'williams1959'``;
        NaN for ``'zou2007'``, an interval only, and for KRCC with a bootstrap ``ci``; KRCC with
        ``ci='analytic'``: the normal test with the influence-value variance).
    alternative : str
    """

    metric: str
    n: int
    statistic_a: float
    statistic_b: float
    diff: float
    ci_low: float
    ci_high: float
    williams_pvalue: float
    bootstrap_pvalue: float
    confidence_level: float = 0.95
    notes: tuple = ()
    test: str = "williams1959"
    pvalue: float = np.nan
    alternative: str = "two-sided"


@validate_params({"metric": PAIRED_CORRELATIONS, "ci": CIMethod, "confidence_level": CONFIDENCE_LEVEL,
                  "test": DEPENDENT_CORRELATION_TESTS, "alternative": ALTERNATIVES, **_BOOTSTRAP_RULES})
def compare_correlations(pred_a, pred_b, mos, *, metric: str = "srocc", ci: str = "analytic",
                         confidence_level: float = 0.95, n_resamples: int = 1000, seed: int = 0,
                         test: str = "williams1959", alternative: str = "two-sided",
                         _ranks=None) -> PairedComparison:
    """Is model A's correlation with MOS different from model B's on the same images?

    Parameters
    ----------
    pred_a, pred_b, mos : array-like of shape (n,)
        Finite values on the same images (for ``'plcc'`` pass *mapped* predictions).
    metric : {'srocc', 'plcc', 'krcc'}
        SROCC applies Williams' test to the rank correlations. KRCC with ``ci='analytic'``:
        a normal interval and test of the difference whose variance comes from the two
        tau-b's U-statistic influence values (per-image concordance counts, O(n log n); the
        p-value is ``pvalue``); with a bootstrap ``ci`` the paired bootstrap. Its
        ``williams_pvalue`` is NaN either way.
    ci : {'analytic', 'percentile', 'bca'}
        ``'analytic'``: Zou's interval from Fisher/Bonett–Wright intervals, no bootstrap
        (``bootstrap_pvalue`` is NaN). Otherwise a paired bootstrap of the difference
        (same resampled images for both models) gives the interval (percentile;
        'bca' also uses percentile for the difference) and ``bootstrap_pvalue``
        = ``min(1, 2 * min(P*(diff <= 0), P*(diff >= 0)))`` with the +1 correction.
    confidence_level : float, default 0.95
    n_resamples, seed : int
        Bootstrap size and seed (bootstrap ``ci`` only).
    test : str, default 'williams1959'
        One of cocor's tests of two overlapping dependent correlations
        (:data:`iqa_eval.options.DEPENDENT_CORRELATION_TESTS`, formulas and papers in
        :mod:`iqa_eval.stats.dependent_correlations`); its p-value is ``pvalue``. For SROCC the
        Fisher-z tests' variance is multiplied by ``1 + rbar²/2`` (Bonett & Wright 2000), noted.
        KRCC: only the default (no closed-form test).
    alternative : {'two-sided', 'greater', 'less'}
        'greater': A's correlation is larger. Applies to ``williams_pvalue``, ``pvalue`` and
        ``bootstrap_pvalue`` (one-sided: ``(#{diff <= 0} + 1) / (B + 1)`` for 'greater').

    Returns
    -------
    PairedComparison
        ``diff = A - B``, its ``confidence_interval()``, ``williams_pvalue`` and ``bootstrap_pvalue``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=200)
    >>> res = compare_correlations(q + rng.normal(size=200), q + 2 * rng.normal(size=200), q)
    >>> res.diff > 0, res.williams_pvalue < 0.05
    (True, True)
    """
    a = np.ascontiguousarray(pred_a, dtype=np.float64)
    b = np.ascontiguousarray(pred_b, dtype=np.float64)
    y = np.ascontiguousarray(mos, dtype=np.float64)
    n = y.size
    if metric == "krcc":
        if test != "williams1959":
            raise InputError(f"test={test!r} compares Pearson or Spearman correlations; KRCC has the "
                             "U-statistic test (ci='analytic') or the paired bootstrap")
        if ci == "analytic":
            return _kendall_difference(a, b, y, confidence_level, test, alternative)
        k_a, k_b = _statistic("krcc", a, y), _statistic("krcc", b, y)
        boot = paired_bootstrap_difference("krcc", a, b, y, n_resamples=n_resamples, seed=seed,
                                           confidence_level=confidence_level, alternative=alternative)
        return PairedComparison("krcc", n, float(k_a), float(k_b), float(k_a - k_b), boot.ci_low, boot.ci_high,
                                np.nan, boot.pvalue, float(confidence_level), boot.notes, test, np.nan,
                                alternative)
    if _ranks is not None:
        a_, b_, y_ = _ranks
    elif metric == "srocc":
        a_, b_, y_ = K.average_ranks(a), K.average_ranks(b), K.average_ranks(y)
    else:
        a_, b_, y_ = a, b, y
    # writable C arrays: one numba specialisation whatever the caller passed
    a_, b_, y_ = (np.require(v, np.float64, ["C", "W"]) for v in (a_, b_, y_))
    ones = np.ones(n)
    r_a = K.weighted_pearson(a_, y_, ones)
    r_b = K.weighted_pearson(b_, y_, ones)
    r_ab = K.weighted_pearson(a_, b_, ones)
    _, p_w = williams_test(r_a, r_b, r_ab, n, alternative=alternative)
    notes = []
    p_test = _dependent_test_pvalue(metric, test, alternative, r_a, r_b, r_ab, n, confidence_level, p_w, notes)
    if ci == "analytic":
        interval = zou_difference_ci(r_a, r_b, r_ab,
                                     fisher_ci(r_a, n, kind=metric, confidence_level=confidence_level),
                                     fisher_ci(r_b, n, kind=metric, confidence_level=confidence_level))
        p_b = np.nan
    else:
        boot = paired_bootstrap_difference(metric, a, b, y, n_resamples=n_resamples, seed=seed,
                                           confidence_level=confidence_level, alternative=alternative)
        interval, p_b = boot.confidence_interval(), boot.pvalue
        notes += boot.notes
    return PairedComparison(metric, n, float(r_a), float(r_b), float(r_a - r_b), interval.low, interval.high,
                            float(p_w), p_b, float(confidence_level), tuple(notes), test, float(p_test),
                            alternative)


def _kendall_influence(x, y):
    """Kendall's tau-b and its influence values ``psi`` (n,), ``tau - E[tau] ~ mean_i psi_i``.

    tau-b is ``U_s / sqrt(U_x U_y)`` of three U-statistics over the pairs (kernels
    ``sign(dx) sign(dy)``, ``|sign(dx)|``, ``|sign(dy)|``) whose per-image row sums are the
    concordance counts ``C_i``, ``Tx_i``, ``Ty_i`` of :mod:`._kendall_influence` (O(n log n)).
    The Hoeffding projection of a U-statistic of order 2 on image i is ``2 (row_i / (n-1) - U)``
    and the delta method gives::

        psi_i = 2 [ (C_i/(n-1) - U_s) / sqrt(U_x U_y)
                    - tau/2 ((Tx_i/(n-1) - U_x) / U_x + (Ty_i/(n-1) - U_y) / U_y) ]

    (the same form as the GMC KRCC influence of :mod:`iqa_eval.studies.compare` with unit
    weights). Ties are those of tau-b: a pair tied in x or y adds 0 to ``C`` and is left out of
    ``Tx`` or ``Ty``. NaN values when x or y is constant.
    """
    from ._kendall_influence import concordance_counts

    n = x.size
    C, tx, ty = concordance_counts(x, y)
    npairs = n * (n - 1.0)
    us, ux, uy = C.sum() / npairs, tx.sum() / npairs, ty.sum() / npairs
    if n < 2 or ux <= 0.0 or uy <= 0.0:
        return np.nan, np.full(n, np.nan)
    den = np.sqrt(ux * uy)
    tau = us / den
    h = n - 1.0
    psi = 2.0 * ((C / h - us) / den - 0.5 * tau * ((tx / h - ux) / ux + (ty / h - uy) / uy))
    return float(max(-1.0, min(1.0, tau))), psi


def _kendall_difference(a, b, y, confidence_level, test, alternative):
    """KRCC A - B with the variance of the difference from the two tau-b's influence values.

    ``se = sqrt(sum_i (psi_a,i - psi_b,i)^2 / (n (n - 1)))`` (Sen's estimator for U-statistics,
    the one of :func:`iqa_eval.studies.compare.influence_se`); interval ``diff +- z se`` and a
    normal test of ``diff = 0``, whose p-value is ``pvalue`` (``williams_pvalue`` stays NaN).
    """
    level = float(confidence_level)
    n = y.size
    k_a, psi_a = _kendall_influence(a, y)
    k_b, psi_b = _kendall_influence(b, y)
    diff = k_a - k_b
    d = psi_a - psi_b
    se = float(np.sqrt(np.dot(d, d) / (n * (n - 1.0)))) if n > 1 else np.nan
    notes = ("KRCC difference: normal interval and test with the variance of the two tau-b's "
             "U-statistic influence values (per-image concordance counts)",)
    if not (np.isfinite(diff) and np.isfinite(se)):
        lo = hi = p = np.nan
    elif se == 0.0:
        lo = hi = diff
        p = 1.0 if diff == 0.0 else 0.0
    else:
        half = float(special.ndtri(0.5 + level / 2)) * se
        lo, hi = diff - half, diff + half
        z = diff / se
        if alternative == "greater":
            p = float(special.ndtr(-z))
        elif alternative == "less":
            p = float(special.ndtr(z))
        else:
            p = float(min(1.0, 2.0 * special.ndtr(-abs(z))))
    return PairedComparison("krcc", n, float(k_a), float(k_b), float(diff), float(lo), float(hi), np.nan,
                            np.nan, level, notes, test, float(p), alternative)


def _dependent_test_pvalue(metric, test, alternative, r_a, r_b, r_ab, n, confidence_level, p_williams, notes):
    """p-value of cocor's ``test`` on the three correlations (Williams' is already computed)."""
    if test == "williams1959":
        return p_williams
    from .dependent_correlations import compare_overlapping, spearman_z_factor

    if test == "zou2007":
        notes.append("zou2007 is an interval, not a test: pvalue is NaN (see ci_low, ci_high)")
        return np.nan
    if n <= 3 or not all(np.isfinite(v) and -1.0 < v < 1.0 for v in (r_a, r_b, r_ab)):
        notes.append(f"{test} needs n > 3 and correlations strictly inside (-1, 1): pvalue is NaN")
        return np.nan
    factor = 1.0
    if metric == "srocc":
        factor, note = spearman_z_factor(r_a, r_b)
        notes.append(note)
    return compare_overlapping(r_a, r_b, r_ab, n, test=test, alternative=alternative,
                               confidence_level=confidence_level, z_variance_factor=factor).pvalue


@validate_params({"kind": PAIRED_CORRELATIONS, "confidence_level": CONFIDENCE_LEVEL, "alternative": ALTERNATIVES,
                  **_BOOTSTRAP_RULES})
def paired_bootstrap_difference(kind: str, pred_a, pred_b, mos, *, n_resamples: int = 1000, seed: int = 0,
                                confidence_level: float = 0.95, alternative: str = "two-sided"):
    """Percentile interval and p-value of ``stat(A) - stat(B)`` on the same images.

    Both models are scored on the same resampled images (:func:`bootstrap_distribution`);
    two-sided ``p = min(1, 2 (min(#{d <= 0}, #{d >= 0}) + 1) / (B + 1))``; 'greater' (A's is
    larger) ``(#{d <= 0} + 1) / (B + 1)``, 'less' ``(#{d >= 0} + 1) / (B + 1)``. The interval
    stays two-sided. Undefined resamples (e.g. constant) are left out with a note.

    Returns
    -------
    PairedBootstrap
        ``diff, pvalue = result``; ``confidence_interval()``, ``n_resamples`` and ``notes``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=300)
    >>> res = paired_bootstrap_difference("krcc", q + rng.normal(size=300),
    ...                                   q + 2 * rng.normal(size=300), q, n_resamples=200)
    >>> bool(res.confidence_interval().low > 0), res.pvalue < 0.05
    (True, True)
    """
    level = float(confidence_level)
    x = np.vstack([np.asarray(pred_a, dtype=np.float64), np.asarray(pred_b, dtype=np.float64)])
    y = np.ascontiguousarray(mos, dtype=np.float64)
    observed = _statistic(kind, np.ascontiguousarray(x[0]), y) - _statistic(kind, np.ascontiguousarray(x[1]), y)
    dist = bootstrap_distribution(kind, x, y, n_resamples=n_resamples, seed=seed)
    diff = dist[:, 0] - dist[:, 1]
    ok = np.isfinite(diff)
    notes = (f"{int((~ok).sum())} undefined bootstrap resamples left out",) if not ok.all() else ()
    diff = diff[ok]
    if not diff.size:
        return PairedBootstrap(observed, np.nan, np.nan, np.nan, level, kind, int(n_resamples), notes)
    lo, hi = np.percentile(diff, [50 * (1 - level), 50 * (1 + level)])
    below, above = int(np.sum(diff <= 0)), int(np.sum(diff >= 0))
    if alternative == "greater":
        pvalue = (below + 1) / (diff.size + 1)
    elif alternative == "less":
        pvalue = (above + 1) / (diff.size + 1)
    else:
        pvalue = min(1.0, 2.0 * (min(below, above) + 1) / (diff.size + 1))
    pvalue = float(pvalue)
    return PairedBootstrap(observed, pvalue, float(lo), float(hi), level, kind, int(n_resamples), notes)


@validate_params({"alpha": ALPHA})
def tied_with_best(statistics, pvalues, *, alpha: float = 0.05):
    """Mark every model not significantly worse than the best.

    Rule: the best model is the one with the highest finite statistic (SROCC); a
    model is *tied with the best* when it is the best, or when the paired test of
    it against the best gives ``p >= alpha``. A model whose statistic or p-value is
    NaN is not marked.

    Parameters
    ----------
    statistics : dict of str -> float
    pvalues : dict of (str, str) -> float
        p-value of each pair; looked up in either order.
    alpha : float

    Returns
    -------
    best : str or None
    tied : dict of str -> bool
    """
    finite = {m: s for m, s in statistics.items() if np.isfinite(s)}
    if not finite:
        return None, {m: False for m in statistics}
    best = max(finite, key=lambda m: finite[m])
    tied = {}
    for m in statistics:
        if m == best:
            tied[m] = True
            continue
        p = pvalues.get((best, m), pvalues.get((m, best), np.nan))
        tied[m] = bool(np.isfinite(p) and p >= alpha and np.isfinite(statistics[m]))
    return best, tied
