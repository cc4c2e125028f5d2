"""cocor's tests of two overlapping dependent correlations (Diedenhofen & Musch 2015).

Two models k and h scored on the same images against the same MOS j: is ``r_jk`` (model k with
MOS) different from ``r_jh``? The answer depends on ``r_kh`` (the models' correlation with each
other). ``|R| = 1 + 2 r_jk r_jh r_kh - r_jk^2 - r_jh^2 - r_kh^2``; ``Z`` is Fisher's
``atanh``. Each test, with the equation it implements:

``pearson1898``  Pearson & Filon (1898): ``z = (r_jk - r_jh) sqrt(n) / sqrt((1-r_jk^2)^2 + (1-r_jh^2)^2 - 2 k)``,
                 ``k = r_kh (1 - r_jk^2 - r_jh^2) - 1/2 r_jk r_jh (1 - r_jk^2 - r_jh^2 - r_kh^2)``.
``hotelling1940`` Hotelling (1940, formula 7): ``t = (r_jk - r_jh) sqrt((n-3)(1+r_kh)) / sqrt(2|R|)``, df n-3.
``williams1959`` Williams (1959; Steiger 1980 formula 7): ``t = (r_jk - r_jh) sqrt((n-1)(1+r_kh) /
                 (2 (n-1)/(n-3) |R| + rbar^2 (1-r_kh)^3))``, ``rbar = (r_jk + r_jh)/2``, df n-3.
``olkin1967``    Olkin (1967) as corrected by Hendrickson & Collins (1970):
                 ``z = (r_jk - r_jh) sqrt(n) / sqrt((1-r_jk^2)^2 + (1-r_jh^2)^2 - 2 r_kh^3
                 - (2 r_kh - r_jk r_jh)(1 - r_kh^2 - r_jk^2 - r_jh^2))`` (algebraically Pearson-Filon's).
``dunn1969``     Dunn & Clark (1969, formulas 15 and 8): ``z = (Z_jk - Z_jh) sqrt(n-3) / sqrt(2 - 2c)``,
                 ``c = (r_kh (1 - r_jk^2 - r_jh^2) - 1/2 r_jk r_jh (1 - r_jk^2 - r_jh^2 - r_kh^2))
                 / ((1 - r_jk^2)(1 - r_jh^2))``.
``hendrickson1970`` Hendrickson, Stanley & Hills (1970, p. 193): ``t = (r_jk - r_jh) sqrt((n-3)(1+r_kh)) /
                 sqrt(2|R| + (r_jk - r_jh)^2 (1-r_kh)^3 / (4 (n-1)))``, df n-3.
``steiger1980``  Steiger (1980, formulas 14 and 10): Dunn & Clark's z with c from ``rbar``:
                 ``c = (r_kh (1 - 2 rbar^2) - 1/2 rbar^2 (1 - 2 rbar^2 - r_kh^2)) / (1 - rbar^2)^2``.
``meng1992``     Meng, Rosenthal & Rubin (1992, formulas 1-4): ``z = (Z_jk - Z_jh) sqrt((n-3) / (2 (1-r_kh) h))``,
                 ``h = (1 - f r2bar) / (1 - r2bar)``, ``f = min(1, (1-r_kh) / (2 (1 - r2bar)))``,
                 ``r2bar = (r_jk^2 + r_jh^2)/2``; interval ``Z_jk - Z_jh +- z_(a/2) sqrt(2 (1-r_kh) h / (n-3))``
                 (on the Fisher-z scale, as in the paper).
``hittner2003``  Hittner, May & Silver (2003): Steiger's z with ``rbar = tanh((Z_jk + Z_jh)/2)``
                 (Silver & Dunlap 1987).
``zou2007``      Zou (2007, p. 409): interval ``L = d - sqrt((r_jk-l1)^2 + (u2-r_jh)^2 - 2c (r_jk-l1)(u2-r_jh))``,
                 ``U = d + sqrt((u1-r_jk)^2 + (r_jh-l2)^2 - 2c (u1-r_jk)(r_jh-l2))``, ``(l, u)`` each
                 correlation's Fisher interval, ``c = ((r_kh - 1/2 r_jk r_jh)(1 - r_jk^2 - r_jh^2 - r_kh^2)
                 + r_kh^3) / ((1 - r_jk^2)(1 - r_jh^2))``; no p-value.

Spearman inputs (:func:`compare_dependent` with ``metric='srocc'``): the tests are applied to the
rank correlations (SROCC is Pearson's r of the ranks) with the Fisher-z tests' variance
``1/(n-3)`` multiplied by Bonett & Wright's (2000) ``1 + rbar^2/2`` — an approximation, stated in
the result's ``notes``; the t tests are used as they are.

Arrays in, result objects out; no pandas.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..options import ALTERNATIVES, DEPENDENT_CORRELATION_TESTS, Interval, validate_params

__all__ = ["TEST_NAMES", "DependentCorrelationTest", "compare_overlapping", "compare_dependent", "spearman_z_factor"]

#: Each test's name in words (what outputs print beside its key).
TEST_NAMES = {"pearson1898": "Pearson-Filon z", "hotelling1940": "Hotelling's t", "williams1959": "Williams' t",
              "olkin1967": "Olkin's z", "dunn1969": "Dunn-Clark z", "hendrickson1970": "Hendrickson-Stanley-Hills t",
              "steiger1980": "Steiger's z", "meng1992": "Meng-Rosenthal-Rubin z", "hittner2003": "Hittner-May-Silver z",
              "zou2007": "Zou's interval"}


@dataclass(frozen=True)
class DependentCorrelationTest:
    """One cocor test of ``r_jk`` vs ``r_jh``: ``statistic, pvalue = result``.

    ``distribution`` is 'z', 't' (``df`` = n - 3) or 'none' (zou2007: interval only);
    ``ci_low``, ``ci_high``: meng1992 (Fisher-z scale) and zou2007 (correlation scale), else NaN.
    """

    test: str
    statistic: float
    pvalue: float
    distribution: str
    df: float
    ci_low: float
    ci_high: float
    r_jk: float
    r_jh: float
    r_kh: float
    n: int
    alternative: str
    notes: tuple = ()

    def __iter__(self):
        return iter((self.statistic, self.pvalue))


def _p(stat, dist, df, alternative):
    from scipy import stats

    law = stats.norm if dist == "z" else stats.t(df)
    if alternative == "greater":
        return float(law.sf(stat))
    if alternative == "less":
        return float(law.cdf(stat))
    return float(min(1.0, 2.0 * law.sf(abs(stat))))


def _steiger_c(rbar, r_kh):
    return (r_kh * (1 - 2 * rbar ** 2) - 0.5 * rbar ** 2 * (1 - 2 * rbar ** 2 - r_kh ** 2)) / (1 - rbar ** 2) ** 2


@validate_params({"test": DEPENDENT_CORRELATION_TESTS, "alternative": ALTERNATIVES,
                  "n": Interval(4, None, integral=True), "confidence_level": Interval(0, 1, closed="neither")})
def compare_overlapping(r_jk: float, r_jh: float, r_kh: float, n: int, *, test: str = "williams1959",
                        alternative: str = "two-sided", confidence_level: float = 0.95,
                        z_variance_factor: float = 1.0) -> DependentCorrelationTest:
    """cocor's ``cocor.dep.groups.overlap`` for one test (formulas in the module docstring).

    Parameters
    ----------
    r_jk, r_jh : float
        The two correlations with the common variable j (MOS).
    r_kh : float
        The correlation of k and h (the two models).
    n : int
    test : str
        One of :data:`iqa_eval.options.DEPENDENT_CORRELATION_TESTS`.
    alternative : {'two-sided', 'greater', 'less'}
        'greater': ``r_jk > r_jh``.
    confidence_level : float
        Of the meng1992 and zou2007 intervals.
    z_variance_factor : float
        Multiplies the Fisher-z variance ``1/(n-3)`` (1 for Pearson; Bonett-Wright for Spearman).

    Examples
    --------
    >>> round(compare_overlapping(.3, .4, .5, 100, test="williams1959").statistic, 4)  # DEPCOR: -1.0767
    -1.0767
    """
    for name, r in (("r_jk", r_jk), ("r_jh", r_jh), ("r_kh", r_kh)):
        if not (-1.0 < r < 1.0):
            raise InputError(f"{name} must be strictly between -1 and 1; got {r!r}")
    a, b, c = float(r_jk), float(r_jh), float(r_kh)
    det = 1 + 2 * a * b * c - a * a - b * b - c * c
    za, zb = math.atanh(a), math.atanh(b)
    vz = z_variance_factor / (n - 3)
    lo = hi = math.nan
    dist, df = "z", math.nan
    if test in ("pearson1898", "olkin1967"):
        if test == "pearson1898":
            k = c * (1 - a * a - b * b) - 0.5 * a * b * (1 - a * a - b * b - c * c)
            var = (1 - a * a) ** 2 + (1 - b * b) ** 2 - 2 * k
        else:
            var = (1 - a * a) ** 2 + (1 - b * b) ** 2 - 2 * c ** 3 - (2 * c - a * b) * (1 - c * c - a * a - b * b)
        stat = (a - b) * math.sqrt(n) / math.sqrt(var)
    elif test == "hotelling1940":
        stat, dist, df = (a - b) * math.sqrt((n - 3) * (1 + c)) / math.sqrt(2 * det), "t", n - 3
    elif test == "williams1959":
        rbar = (a + b) / 2
        stat = (a - b) * math.sqrt((n - 1) * (1 + c) / (2 * (n - 1) / (n - 3) * det + rbar ** 2 * (1 - c) ** 3))
        dist, df = "t", n - 3
    elif test == "hendrickson1970":
        stat = (a - b) * math.sqrt((n - 3) * (1 + c)) / math.sqrt(2 * det + (a - b) ** 2 * (1 - c) ** 3 / (4 * (n - 1)))
        dist, df = "t", n - 3
    elif test == "dunn1969":
        cc = (c * (1 - a * a - b * b) - 0.5 * a * b * (1 - a * a - b * b - c * c)) / ((1 - a * a) * (1 - b * b))
        stat = (za - zb) / math.sqrt(vz * (2 - 2 * cc))
    elif test in ("steiger1980", "hittner2003"):
        rbar = (a + b) / 2 if test == "steiger1980" else math.tanh((za + zb) / 2)
        stat = (za - zb) / math.sqrt(vz * (2 - 2 * _steiger_c(rbar, c)))
    elif test == "meng1992":
        r2bar = (a * a + b * b) / 2
        f = min(1.0, (1 - c) / (2 * (1 - r2bar)))
        h = (1 - f * r2bar) / (1 - r2bar)
        se = math.sqrt(vz * 2 * (1 - c) * h)
        stat = (za - zb) / se
        from scipy.special import ndtri
        q = float(ndtri(0.5 + confidence_level / 2))
        lo, hi = za - zb - q * se, za - zb + q * se
    else:  # zou2007
        from scipy.special import ndtri
        q = float(ndtri(0.5 + confidence_level / 2))
        l1, u1 = math.tanh(za - q * math.sqrt(vz)), math.tanh(za + q * math.sqrt(vz))
        l2, u2 = math.tanh(zb - q * math.sqrt(vz)), math.tanh(zb + q * math.sqrt(vz))
        cc = ((c - 0.5 * a * b) * (1 - a * a - b * b - c * c) + c ** 3) / ((1 - a * a) * (1 - b * b))
        d = a - b
        lo = d - math.sqrt((a - l1) ** 2 + (u2 - b) ** 2 - 2 * cc * (a - l1) * (u2 - b))
        hi = d + math.sqrt((u1 - a) ** 2 + (b - l2) ** 2 - 2 * cc * (u1 - a) * (b - l2))
        return DependentCorrelationTest(test, math.nan, math.nan, "none", math.nan, lo, hi, a, b, c, int(n),
                                        alternative)
    return DependentCorrelationTest(test, float(stat), _p(stat, dist, df, alternative), dist, float(df), lo, hi,
                                    a, b, c, int(n), alternative)


def spearman_z_factor(r_jk, r_jh):
    """Bonett & Wright (2000) factor ``1 + rbar^2 / 2`` on the Fisher-z variance of Spearman
    correlations (``rbar`` their mean), and the note that states it."""
    factor = 1 + ((r_jk + r_jh) / 2) ** 2 / 2
    return float(factor), (f"Spearman inputs: tests applied to rank correlations; Fisher-z variance multiplied "
                           f"by 1 + rbar^2/2 = {factor:.4f} (Bonett & Wright 2000); t tests uncorrected")


@validate_params({"metric": ("srocc", "plcc_raw"), "test": DEPENDENT_CORRELATION_TESTS,
                  "alternative": ALTERNATIVES})
def compare_dependent(pred_a, pred_b, mos, *, metric: str = "srocc", test: str = "williams1959",
                      alternative: str = "two-sided", confidence_level: float = 0.95) -> DependentCorrelationTest:
    """Two models on the same images: :func:`compare_overlapping` on their correlations with MOS.

    ``metric='plcc_raw'``: Pearson correlations. ``metric='srocc'``: Spearman (Pearson of the
    average ranks); the Fisher-z tests' variance is multiplied by ``1 + rbar^2 / 2`` (Bonett &
    Wright 2000, ``rbar`` the mean of the two SROCCs), noted in the result.
    """
    from scipy.stats import rankdata

    x, y, m = (np.asarray(v, dtype=np.float64) for v in (pred_a, pred_b, mos))
    if not (x.shape == y.shape == m.shape and x.ndim == 1):
        raise InputError(f"pred_a, pred_b and mos must be 1-d of one length; got {x.shape}, {y.shape}, {m.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(m).all()):
        raise InputError("pred_a, pred_b and mos must be finite (drop NaN rows first)")
    notes = ()
    factor = 1.0
    if metric == "srocc":
        x, y, m = rankdata(x), rankdata(y), rankdata(m)
    r = np.corrcoef(np.vstack([m, x, y]))
    if metric == "srocc":
        factor, note = spearman_z_factor(r[0, 1], r[0, 2])
        notes = (note,)
    res = compare_overlapping(float(r[0, 1]), float(r[0, 2]), float(r[1, 2]), int(x.size), test=test,
                              alternative=alternative, confidence_level=confidence_level, z_variance_factor=factor)
    return DependentCorrelationTest(**{**res.__dict__, "notes": notes})
