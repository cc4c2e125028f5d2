"""Per-image concordance counts of Kendall's tau-b in O(n log n) (a Fenwick tree over y ranks).

For images i = 0..n-1 with values (x_i, y_i)::

    C_i  = sum_{j != i} sign(x_i - x_j) sign(y_i - y_j)     (concordant minus discordant partners)
    Tx_i = #{j : x_j != x_i},   Ty_i = #{j : y_j != y_i}     (partners not tied in x, in y)

``sum C / 2`` is Kendall's S, ``sum Tx / 2`` and ``sum Ty / 2`` are tau-b's ``n0 - n1`` and
``n0 - n2``. These are the U-statistic row sums whose Hoeffding projections give the influence
values of tau-b (:func:`iqa_eval.stats.inference.kendall_influence`).

Images are visited in x order, one run of equal x at a time: a run is queried against the images
already inserted (strictly smaller x) before it is inserted, so ties in x count 0; ties in y count 0
because the tree is queried with strict inequalities. A second pass in reverse order counts the
partners with larger x.
"""
from __future__ import annotations

import numpy as np

from .._runtime.numba_cache import njit   # cache=True: the user's cache folder (see there)
from ._metric_kernels import rank_data

__all__ = ["concordance_counts"]


@njit(cache=True)
def _pass(x, ry, m, order, step, C):
    """Add sign(x_i - x_j) sign(y_i - y_j) over partners j earlier in ``order`` (x strictly
    smaller when step = +1, larger when step = -1; the sign of the x difference is ``step``)."""
    n = x.size
    tree = np.zeros(m + 1, dtype=np.int64)
    inserted = 0
    k = 0
    while k < n:
        e = k + 1
        while e < n and x[order[e]] == x[order[k]]:
            e += 1
        for q in range(k, e):
            i = order[q]
            # below: inserted partners with y < y_i; at_or_below: with y <= y_i
            below = 0
            p = ry[i] - 1
            while p > 0:
                below += tree[p]
                p -= p & (-p)
            at_or_below = 0
            p = ry[i]
            while p > 0:
                at_or_below += tree[p]
                p -= p & (-p)
            above = inserted - at_or_below
            C[i] += step * (below - above)
        for q in range(k, e):
            p = ry[order[q]]
            while p <= m:
                tree[p] += 1
                p += p & (-p)
        inserted += e - k
        k = e


@njit(cache=True)
def concordance_counts(x, y):
    """``(C, Tx, Ty)`` as int64 arrays (see the module docstring), in O(n log n)."""
    n = x.size
    ox = np.argsort(x, kind="mergesort")
    oy = np.argsort(y, kind="mergesort")
    _, dense_x = rank_data(x, ox)
    _, dense_y = rank_data(y, oy)
    run_x = np.bincount(dense_x)[dense_x]          # the size of each image's tie run
    run_y = np.bincount(dense_y)[dense_y]
    ry, m = dense_y + 1, dense_y.max() + 1 if n else 0   # 1-based for the Fenwick tree
    C = np.zeros(n, dtype=np.int64)
    _pass(x, ry, m, ox, 1, C)
    _pass(x, ry, m, ox[::-1].copy(), -1, C)
    return C, n - run_x, n - run_y
