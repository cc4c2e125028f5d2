"""Small jitted kernels for the scalar metrics: ranks, Kendall's tau-b, bootstrap loops.

Plain loops over float64 arrays, compiled once with ``cache=True`` (cached in the
user's cache folder: :mod:`iqa_eval._runtime.numba_cache`). No validation here:
the Python layer above (:mod:`iqa_eval.stats.metrics`, :mod:`iqa_eval.stats.inference`) checks
shapes, dtypes and NaNs before calling in.

Ties are found on *sorted* values, so every kernel takes (or builds) a sort order.
Bootstrap resamples are represented by integer counts per original point (how often
each point was drawn): ranks and Pearson sums of a resample are then O(n) weighted
sums over the one sort order of the full data, instead of a new sort per resample.
"""
from __future__ import annotations

import numpy as np

from .._runtime.numba_cache import njit   # cache=True: the user's cache folder, never the package (see there)

__all__ = [
    "sort_order", "tie_flags", "rank_data", "weighted_average_ranks", "average_ranks", "kendall_from_order",
    "weighted_pearson", "kendall_tau_b_counts", "bootstrap_rank_pearson",
    "bootstrap_pearson", "bootstrap_kendall",
]


@njit(cache=True)
def sort_order(x):
    """Argsort; kernels never rely on the order *within* a run of equal values."""
    return np.argsort(x)


@njit(cache=True)
def tie_flags(x, order):
    """``flags[k]`` is True when the k-th smallest value equals the (k-1)-th."""
    n = order.size
    flags = np.zeros(n, dtype=np.bool_)
    for k in range(1, n):
        flags[k] = x[order[k]] == x[order[k - 1]]
    return flags


@njit(cache=True)
def weighted_average_ranks(order, ties, w, out):
    """Average ranks of a sample in which point ``i`` occurs ``w[i]`` times.

    ``out[i]`` is the (average) rank every copy of point ``i`` would get; points with
    weight 0 get a rank too, but it is never used because their weight is 0.
    """
    n = order.size
    i = 0
    cum = 0.0
    while i < n:
        j = i
        total = 0.0
        while True:
            total += w[order[j]]
            j += 1
            if j >= n or not ties[j]:
                break
        r = cum + (total + 1.0) / 2.0
        for k in range(i, j):
            out[order[k]] = r
        cum += total
        i = j


@njit(cache=True)
def average_ranks(x):
    """Average ranks (1-based, ties get the mean of their positions) of ``x``."""
    return rank_data(x, np.argsort(x))[0]


@njit(cache=True)
def weighted_pearson(x, y, w):
    """Pearson correlation with frequency weights ``w`` (two-pass, float64 sums)."""
    n = x.size
    sw = 0.0
    sx = 0.0
    sy = 0.0
    for i in range(n):
        sw += w[i]
        sx += w[i] * x[i]
        sy += w[i] * y[i]
    mx = sx / sw
    my = sy / sw
    # scale deviations by their largest magnitude so tiny (1e-300) or huge values
    # neither underflow nor overflow in the squares
    ax = 0.0
    ay = 0.0
    for i in range(n):
        if w[i] > 0:
            ax = max(ax, abs(x[i] - mx))
            ay = max(ay, abs(y[i] - my))
    if ax == 0.0 or ay == 0.0:
        return np.nan
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(n):
        dx = (x[i] - mx) / ax
        dy = (y[i] - my) / ay
        sxx += w[i] * dx * dx
        syy += w[i] * dy * dy
        sxy += w[i] * dx * dy
    if sxx <= 0.0 or syy <= 0.0:
        return np.nan
    r = sxy / np.sqrt(sxx * syy)
    # rounding can push |r| a hair above 1
    return max(-1.0, min(1.0, r))


@njit(cache=True)
def _tie_sums(values_sorted):
    """Sums over tie groups t: t(t-1)/2, t(t-1)(t-2), t(t-1)(2t+5) (scipy's terms)."""
    n = values_sorted.size
    pairs = 0
    v0 = 0.0
    v1 = 0.0
    i = 0
    while i < n:
        j = i + 1
        while j < n and values_sorted[j] == values_sorted[i]:
            j += 1
        t = j - i
        if t > 1:
            pairs += t * (t - 1) // 2
            ft = float(t)
            v0 += ft * (ft - 1.0) * (ft - 2.0)
            v1 += ft * (ft - 1.0) * (2.0 * ft + 5.0)
        i = j
    return pairs, v0, v1


@njit(cache=True)
def _merge_count_swaps(a, buf):
    """Sort ``a`` in place (bottom-up merge sort); return the number of inversions
    (pairs i < j with a[i] > a[j], equal values are not inversions)."""
    n = a.size
    swaps = 0
    width = 1
    src = a
    dst = buf
    while width < n:
        start = 0
        while start < n:
            mid = min(start + width, n)
            end = min(start + 2 * width, n)
            i = start
            j = mid
            k = start
            while i < mid and j < end:
                if src[j] < src[i]:
                    dst[k] = src[j]
                    swaps += mid - i
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < end:
                dst[k] = src[j]
                j += 1
                k += 1
            start += 2 * width
        src, dst = dst, src
        width *= 2
    if src is not a:
        a[:] = src
    return swaps


@njit(cache=True)
def rank_data(x, order):
    """Average ranks (1-based floats) and dense ranks (0-based ints) from a sort order."""
    n = x.size
    avg = np.empty(n)
    dense = np.empty(n, dtype=np.int64)
    i = 0
    d = 0
    while i < n:
        j = i + 1
        while j < n and x[order[j]] == x[order[i]]:
            j += 1
        r = (i + 1 + j) / 2.0  # mean of positions i+1 .. j
        for k in range(i, j):
            avg[order[k]] = r
            dense[order[k]] = d
        d += 1
        i = j
    return avg, dense


@njit(cache=True)
def kendall_from_order(x, order_x, dense_y):
    """Knight's O(n log n) algorithm for Kendall's tau-b, given x's sort order and y's dense ranks.

    Returns ``(s, n0, n1, n2, x0, x1, y0, y1)`` where ``s`` = concordant - discordant
    pairs, ``n0`` = n(n-1)/2, ``n1``/``n2`` = pairs tied in x / in y, and x0, x1, y0, y1
    the tie sums scipy uses for the variance of S.
    """
    n = x.size
    order = order_x.copy()
    # lexicographic (x, y) order: sort each run of tied x by y; pairs tied in x (n1)
    # and tied in both (n3) are counted on the way
    n1 = 0
    n3 = 0
    x0 = 0.0
    x1 = 0.0
    i = 0
    while i < n:
        j = i + 1
        while j < n and x[order[j]] == x[order[i]]:
            j += 1
        t = j - i
        if t > 1:
            seg = order[i:j].copy()
            keys = dense_y[seg]
            o = np.argsort(keys)
            for k in range(t):
                order[i + k] = seg[o[k]]
            ft = float(t)
            n1 += t * (t - 1) // 2
            x0 += ft * (ft - 1.0) * (ft - 2.0)
            x1 += ft * (ft - 1.0) * (2.0 * ft + 5.0)
            k = 0
            while k < t:
                m = k + 1
                while m < t and keys[o[m]] == keys[o[k]]:
                    m += 1
                n3 += (m - k) * (m - k - 1) // 2
                k = m
        i = j
    ys = dense_y[order]
    # discordant pairs = inversions of y in (x, y) order (ties in x are sorted by y)
    swaps = _merge_count_swaps(ys, np.empty_like(ys))
    n2, y0, y1 = _tie_sums(ys)  # ys is now sorted
    n0 = n * (n - 1) // 2
    s = n0 - n1 - n2 + n3 - 2 * swaps
    return s, n0, n1, n2, x0, x1, y0, y1


@njit(cache=True)
def kendall_tau_b_counts(x, y):
    """:func:`kendall_from_order` for two raw float vectors."""
    oy = np.argsort(y)
    _, dense_y = rank_data(y, oy)
    return kendall_from_order(x, np.argsort(x), dense_y)


@njit(cache=True)
def _tau_b(x, y):
    s, n0, n1, n2, _, _, _, _ = kendall_tau_b_counts(x, y)
    denom = float(n0 - n1) * float(n0 - n2)
    if denom <= 0.0:
        return np.nan
    t = s / np.sqrt(denom)
    return max(-1.0, min(1.0, t))


# ---- bootstrap loops ----------------------------------------------------------------
@njit(cache=True)
def _counts(idx_row, n):
    c = np.zeros(n)
    for k in range(idx_row.size):
        c[idx_row[k]] += 1.0
    return c


@njit(cache=True)
def bootstrap_rank_pearson(orders, ties, idx, out):
    """Spearman correlations of every pair (0, j) of variables on bootstrap resamples.

    ``orders``/``ties`` (k, n): sort order and tie flags of each variable (row 0 is MOS).
    ``idx`` (B, n): indices drawn for each resample. Writes ``out[b, j-1]`` = SROCC of
    variable j with variable 0 on resample b.
    """
    k, n = orders.shape
    ranks = np.empty((k, n))
    for b in range(idx.shape[0]):
        w = _counts(idx[b], n)
        for v in range(k):
            weighted_average_ranks(orders[v], ties[v], w, ranks[v])
        for v in range(1, k):
            out[b, v - 1] = weighted_pearson(ranks[v], ranks[0], w)


@njit(cache=True)
def bootstrap_pearson(values, idx, out):
    """Pearson correlations of every variable j >= 1 with variable 0 on resamples."""
    k, n = values.shape
    for b in range(idx.shape[0]):
        w = _counts(idx[b], n)
        for v in range(1, k):
            out[b, v - 1] = weighted_pearson(values[v], values[0], w)


@njit(cache=True)
def bootstrap_kendall(x, y, idx, out):
    """Kendall tau-b of (x[idx[b]], y[idx[b]]) for every resample b."""
    for b in range(idx.shape[0]):
        out[b] = _tau_b(x[idx[b]], y[idx[b]])


@njit(cache=True)
def kendall_tau_b(x, y):
    """Kendall's tau-b of two float64 vectors (NaN when either is constant)."""
    return _tau_b(x, y)


# ---- 4-parameter logistic (separable least squares) ------------------------------------
@njit(cache=True)
def _expit(z):
    # overflow-free logistic: exp of a non-positive number only
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    ez = np.exp(z)
    return ez / (1.0 + ez)


@njit(cache=True)
def logistic4_normal_equations(u, y, b3, b4):
    """Variable-projection pieces of the 4PL ``y ~ c0 + c1 * expit((u - b3)/b4)``.

    For fixed (b3, b4) the best (c0, c1) is a simple regression on e = expit(.); the
    residual r and Kaufman's Jacobian J = (I - P) d(c0 + c1 e)/d(b3, b4) give the
    Gauss-Newton gradient g = J'r and matrix H = J'J, summed here in three O(n)
    passes without forming J (and without BLAS threads).

    Returns ``(cost, c0, c1, g0, g1, h00, h01, h11)`` with cost = sum r².
    """
    n = u.size
    e = np.empty(n)
    se = 0.0
    sy = 0.0
    for i in range(n):
        e[i] = _expit((u[i] - b3) / b4)
        se += e[i]
        sy += y[i]
    me = se / n
    my = sy / n
    see = 0.0
    sey = 0.0
    for i in range(n):
        de = e[i] - me
        see += de * de
        sey += de * (y[i] - my)
    c1 = sey / see if see > 0.0 else 0.0
    c0 = my - c1 * me
    cost = 0.0
    g0 = 0.0
    g1 = 0.0
    sv0 = 0.0
    sv1 = 0.0
    s00 = 0.0
    s01 = 0.0
    s11 = 0.0
    sd0 = 0.0
    sd1 = 0.0
    for i in range(n):
        de = e[i] - me
        r = c1 * de - (y[i] - my)
        z = (u[i] - b3) / b4
        d = c1 * e[i] * (1.0 - e[i]) / b4
        v0 = -d
        v1 = -d * z
        cost += r * r
        g0 += v0 * r
        g1 += v1 * r
        sv0 += v0
        sv1 += v1
        s00 += v0 * v0
        s01 += v0 * v1
        s11 += v1 * v1
        sd0 += de * v0
        sd1 += de * v1
    h00 = s00 - sv0 * sv0 / n
    h01 = s01 - sv0 * sv1 / n
    h11 = s11 - sv1 * sv1 / n
    if see > 0.0:
        h00 -= sd0 * sd0 / see
        h01 -= sd0 * sd1 / see
        h11 -= sd1 * sd1 / see
    return cost, c0, c1, g0, g1, h00, h01, h11
