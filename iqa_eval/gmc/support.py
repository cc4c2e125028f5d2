"""Where a GMC value is supported by image pairs: Kish's effective number of pairs per point.

A GMC value at ``(Q, Qd)`` is a weighted correlation over image pairs with the weights
``w_ij = a_i a_j b_ij c_i c_j`` of ``../shared/docs/gmc-reference.md`` ("Granularity modulator").
Where no image has a MOS near ``Q``, or no pair a MOS difference near ``Qd``, the value is
decided by a handful of pairs far out in the Gaussian tails, however many images the set has.
Kish's effective sample size of the pair weights says how many pairs the value rests on::

    n_eff = (sum_{i<j} w_ij)^2 / sum_{i<j} w_ij^2

(``n_eff`` equals the number of pairs when every pair has the same weight, and 1 when one pair
carries all of it.)

``sum w^2`` needs no new pair kernel: squared, every factor of ``w`` is again such a factor,
``a_i^2 = exp(-(Q - l_i)^2 / (2 (k s_i / sqrt 2)^2))`` and ``b_ij^2 = exp(-(Qd - |l_i - l_j|)^2 /
(2 ((k s_i / sqrt 2)^2 + (k s_j / sqrt 2)^2)))``, so ``sum w^2`` is the engine's ``sum w`` with the
scaled std divided by ``sqrt 2`` and the regulator weights squared. ``n_eff`` does not change when
every ``c_i`` is multiplied by one constant, so the weights are divided by their largest value
first: every pair weight is then at most 1 and ``sum w^2`` cannot overflow. Where every pair
weight is below about 1e-162 of a perfectly placed pair's (every pair more than ~27 std away from
the point), ``w^2`` underflows to 0: such a point has no supporting pair and gets ``n_eff = 0``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..options import BACKENDS, validate_params

__all__ = ["effective_pairs", "surface_support"]


@validate_params({"backend": BACKENDS})
def effective_pairs(mos, scaled_std, c, Q, Qd, *, sw=None, backend: str = "auto", client=None) -> np.ndarray:
    """Kish's effective number of image pairs ``(sum w)^2 / sum w^2`` at every sample point.

    Parameters
    ----------
    mos, scaled_std, c : array-like of shape (N,)
        MOS, ``k * s`` and the regulator weights, as :func:`iqa_eval.gmc.engine.pair_sums` takes them.
    Q, Qd : array-like of shape (S,)
        Sample points.
    sw : array-like of shape (S,), optional
        ``sum w`` at the points, when a pass of the engine with these ``c`` already gave it
        (``PairSums.sw``); computed otherwise.
    backend, client
        As in :func:`iqa_eval.gmc.engine.pair_sums`.

    Returns
    -------
    ndarray of shape (S,)
        ``n_eff``; 0 where no pair carries weight.

    Examples
    --------
    >>> mos = np.array([1.0, 2.0, 3.0, 4.0])
    >>> n = effective_pairs(mos, np.full(4, 1e6), np.ones(4), [2.5], [1.5])
    >>> round(float(n[0]), 6)                    # std >> range: six pairs of equal weight
    6.0
    """
    from .engine import pair_sums

    l = np.asarray(mos, dtype=np.float64)
    s = np.asarray(scaled_std, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64).reshape(-1)
    Qd = np.asarray(Qd, dtype=np.float64).reshape(-1)
    top = float(c.max()) if c.size else 0.0
    if not top > 0:
        return np.zeros(Q.size)
    cn = c / top
    dummy = np.zeros((1, l.size))             # the KRCC pass is the cheapest that returns sum w
    if sw is None:
        sw = pair_sums(dummy, l, s, cn, Q, Qd, methods=("krcc",), backend=backend, client=client).sw
    else:
        sw = np.asarray(sw, dtype=np.float64) / (top * top)
    sw2 = pair_sums(dummy, l, s / np.sqrt(2.0), cn * cn, Q, Qd, methods=("krcc",), backend=backend,
                    client=client).sw
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = sw * sw / sw2
    return np.where((sw2 > 0) & (sw > 0) & np.isfinite(n), n, 0.0)


def surface_support(surface: pd.DataFrame, points: pd.DataFrame, mos_range) -> pd.DataFrame:
    """``n_eff`` (and ``supported``, when ``points`` have it) of every row of a grid ``surface``,
    from those of the sample ``points``.

    A node takes the values of the sample point nearest to it, distances measured with both
    axes scaled by the MOS range (Q over ``[min, max]``, Qd over ``[0, max - min]``). On an exact
    grid the points are the nodes and the values are the nodes' own; a regressed surface's node
    is judged by the sample that weighs most in its local fit (computing ``n_eff`` at every node
    of a 100 x 100 grid would cost 100 times the GMC pass itself).

    Returns
    -------
    DataFrame
        One row per row of ``surface``, columns ``n_eff`` (and ``supported``).
    """
    lo, hi = (float(v) for v in mos_range)
    span = hi - lo if hi > lo else 1.0
    cols = [c for c in ("n_eff", "supported") if c in points.columns]
    pts = points.drop_duplicates(["Q", "Qd"])
    pq = (pts["Q"].to_numpy(np.float64) - lo) / span
    pd_ = pts["Qd"].to_numpy(np.float64) / span
    nodes = surface[["Q", "Qd"]].drop_duplicates()
    nq = (nodes["Q"].to_numpy(np.float64) - lo) / span
    nd = nodes["Qd"].to_numpy(np.float64) / span
    near = np.empty(nq.size, dtype=np.int64)
    for start in range(0, nq.size, 2048):           # (chunk x points) distances at a time
        d = (nq[start:start + 2048, None] - pq[None]) ** 2 + (nd[start:start + 2048, None] - pd_[None]) ** 2
        near[start:start + 2048] = np.argmin(d, axis=1)
    table = pts[cols].iloc[near].reset_index(drop=True)
    table["Q"], table["Qd"] = nodes["Q"].to_numpy(), nodes["Qd"].to_numpy()
    return surface[["Q", "Qd"]].merge(table, on=["Q", "Qd"], how="left")[cols].reset_index(drop=True)
