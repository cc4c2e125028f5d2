"""One-sided and small-sample p-values of the correlations, as scipy defines them.

- :func:`t_pvalue_alternative`: the t test of a Pearson or Spearman r (n - 2 df), for
  ``alternative`` 'two-sided', 'greater' (positive association) or 'less' — scipy's
  ``pearsonr`` / ``spearmanr`` with ``alternative=``.
- :func:`kendall_exact_pvalue`: the exact null distribution of Kendall's tau without ties
  (the number of discordant pairs is the number of inversions of a random permutation,
  Mahonian numbers), scipy's ``kendalltau(method='exact', alternative=...)``.
- :func:`spearman_exact_pvalue`: every one of the n! pairings of the ranks (n <= ``SPEARMAN_EXACT_MAX_N``),
  scipy's ``permutation_test(..., permutation_type='pairings', n_resamples=np.inf)``;
  :func:`spearman_permutation_pvalue`: ``n_resamples`` seeded random pairings,
  ``p = (1 + #as extreme) / (1 + n_resamples)`` per side as scipy's Monte Carlo permutation test.
- :func:`near_constant`: scipy's ``NearConstantInputWarning`` rule (``||x - mean|| < eps**0.75 |mean|``).

Arrays in, floats out; no pandas.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from scipy import special

__all__ = ["SPEARMAN_EXACT_MAX_N", "t_pvalue_alternative", "kendall_exact_pvalue", "spearman_exact_pvalue",
           "spearman_permutation_pvalue", "near_constant", "sided"]

#: Largest n whose n! pairings the exact SROCC p enumerates (9! = 362,880; 'auto' uses it up to here).
SPEARMAN_EXACT_MAX_N = 9


def sided(less: float, greater: float, alternative: str) -> float:
    """scipy's combination of the two tails: two-sided = min(1, 2 min(less, greater))."""
    if alternative == "greater":
        return float(greater)
    if alternative == "less":
        return float(less)
    return float(min(1.0, 2.0 * min(less, greater)))


def t_pvalue_alternative(r: float, n: int, alternative: str = "two-sided") -> float:
    """p of ``t = r sqrt((n-2) / (1-r^2))`` with n - 2 df; 'greater' tests rho > 0."""
    if not np.isfinite(r) or n <= 2:
        return math.nan
    if abs(r) >= 1.0:
        t_less, t_greater = (1.0, 0.0) if r > 0 else (0.0, 1.0)
        return sided(t_less, t_greater, alternative)
    t = r * math.sqrt((n - 2) / ((1.0 + r) * (1.0 - r)))
    return sided(float(special.stdtr(n - 2, t)), float(special.stdtr(n - 2, -t)), alternative)


def _inversions_cdf(n: int, c: int) -> float:
    """P(a uniformly random permutation of n items has <= c inversions)."""
    if c < 0:
        return 0.0
    top = n * (n - 1) // 2
    if c >= top:
        return 1.0
    counts = np.zeros(c + 1)
    counts[0] = 1.0
    for j in range(2, n + 1):  # item j adds 0..j-1 inversions
        cum = np.cumsum(counts)
        shifted = np.zeros(c + 1)
        if j <= c:
            shifted[j:] = cum[:c + 1 - j]
        counts = (cum - shifted) / j  # probabilities, not counts: no overflow
    return float(min(1.0, counts.sum()))


def kendall_exact_pvalue(n: int, discordant: int, alternative: str = "two-sided") -> float:
    """Exact p of Kendall's tau (no ties) from the number of discordant pairs.

    'greater' (positive association): ``P(D <= d)``; 'less': ``P(D >= d) = P(D <= n0 - d)``
    (the distribution is symmetric); two-sided: twice the smaller, at most 1.
    """
    n0 = n * (n - 1) // 2
    return sided(_inversions_cdf(n, n0 - discordant), _inversions_cdf(n, discordant), alternative)


def _rank(v):
    from scipy.stats import rankdata
    return rankdata(v)


def _centred_ranks(x, y):
    rx, ry = _rank(x), _rank(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return rx, ry, math.sqrt(float(rx @ rx) * float(ry @ ry))


@functools.lru_cache(maxsize=2)
def _permutations(n: int) -> np.ndarray:
    """Every permutation of range(n), one per row (int8: 3.3 MB for n = 9), built once per n: SROCC's
    default p of every model of a small set enumerates the same n! orders."""
    out = np.array(list(itertools.permutations(range(n))), dtype=np.int8)
    out.flags.writeable = False
    return out


def spearman_exact_pvalue(x, y, alternative: str = "two-sided") -> float:
    """p of SROCC over all n! pairings of y's ranks with x's (ties kept as average ranks)."""
    rx, ry, scale = _centred_ranks(np.asarray(x, float), np.asarray(y, float))
    n = rx.size
    if n > SPEARMAN_EXACT_MAX_N:
        raise ValueError(f"exact SROCC p enumerates n! pairings; n = {n} > {SPEARMAN_EXACT_MAX_N}")
    obs = float(rx @ ry) / scale
    null = (ry[_permutations(n)] @ rx) / scale
    gamma = 1e-14 * max(1.0, abs(obs))  # scipy's tolerance for ties in the null distribution
    return sided(float(np.mean(null <= obs + gamma)), float(np.mean(null >= obs - gamma)), alternative)


def spearman_permutation_pvalue(x, y, alternative: str = "two-sided", *, n_resamples: int = 9999,
                                seed: int = 0) -> float:
    """Monte Carlo p of SROCC: ``n_resamples`` seeded random pairings, (1 + k) / (1 + n_resamples) per side."""
    rx, ry, scale = _centred_ranks(np.asarray(x, float), np.asarray(y, float))
    obs = float(rx @ ry) / scale
    rng = np.random.default_rng(seed)
    less = greater = 0
    gamma = 1e-14 * max(1.0, abs(obs))
    for lo in range(0, n_resamples, 10000):
        b = min(10000, n_resamples - lo)
        null = (rng.permuted(np.broadcast_to(ry, (b, ry.size)), axis=1) @ rx) / scale
        less += int(np.count_nonzero(null <= obs + gamma))
        greater += int(np.count_nonzero(null >= obs - gamma))
    return sided((1 + less) / (1 + n_resamples), (1 + greater) / (1 + n_resamples), alternative)


def near_constant(values) -> bool:
    """scipy's rule for 'nearly constant' input to a Pearson correlation (not exactly constant).

    As ``scipy.stats.pearsonr`` computes it (checked against scipy 1.17; its docstring still says 1e-13):
    ``||x - mean|| < eps**0.75 |mean|`` (eps**0.75 = 1.8e-12 in float64), the norm taken on
    ``(x - mean) / max|x - mean|`` so it cannot overflow; the rule is scale-free, so it is applied
    to ``x / max|x|`` (the mean of values near 1e308 would overflow).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.all(v == v[0]):
        return False
    v = v / np.max(np.abs(v))   # exact for a power of two; any scale leaves the rule's verdict
    mean = v.mean()
    dev = v - mean
    top = np.max(np.abs(dev))
    return bool(top * np.linalg.norm(dev / top) < np.finfo(np.float64).eps ** 0.75 * abs(mean))
