"""The image pairs that carry the most GMC weight at one point of the surface.

A cell of a comparison's difference map is a sample point ``(Q, Qd)``; its GMC values are
weighted sums over image pairs with the pair weight of the granularity modulator
(docs/gmc.md):

    a_i  = exp(-(Q - l_i)^2 / (2 (k s_i)^2))
    b_ij = exp(-(Qd - |l_i - l_j|)^2 / (2 ((k s_i)^2 + (k s_j)^2)))
    w_ij = a_i a_j b_ij c_i c_j

:func:`cell_pairs` lists the pairs with the largest ``w_ij`` with their MOS and both
models' predictions: the images that decide a cell ("why is A worse at high quality?").
The std, regulator weights and rows are resolved exactly as :func:`compare_models` does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import DATASET_NAN_POLICIES, Interval, validate_params

__all__ = ["cell_pairs"]

# rows of the (rows x N) weight block computed at once: bounded memory on large sets
_BLOCK_ELEMENTS = 4_000_000


@validate_params({"top": Interval(1, None, integral=True), "nan_policy": DATASET_NAN_POLICIES})
def cell_pairs(dataset, model_a: str, model_b: str, q: float, qd: float, *, top: int = 10,
               options=None, weights=None, nan_policy: str = "omit") -> pd.DataFrame:
    """The ``top`` image pairs with the largest GMC pair weight at the point ``(q, qd)``.

    Parameters
    ----------
    dataset : Dataset
        Oriented data, as given to :func:`~iqa_eval.studies.compare.compare_models`.
    model_a, model_b : str
        The two models whose predictions are listed.
    q, qd : float
        The point: a MOS level and an absolute MOS difference (a comparison cell's ``Q, Qd``).
    top : int, default 10
        Number of pairs returned (fewer when fewer pairs carry weight).
    options : GMCOptions, optional
        std scale, regulator, Beta precision (as in ``compare_models``).
    weights : array-like of shape (N,), optional
        Explicit per-image regulator weights.
    nan_policy : {'omit', 'raise'}
        Rows missing a value in either model, the MOS or the std.

    Returns
    -------
    pandas.DataFrame
        One row per pair, heaviest first: ``image_i, image_j, weight, share`` (of the total
        weight at the point over all pairs), ``mos_i, mos_j``, ``<A>_i, <A>_j, <B>_i, <B>_j``,
        and ``agree_A``, ``agree_B``: +1 when the model orders the pair as the MOS does, -1
        when it reverses it, 0 for a tie. Pairs of zero weight are not listed.
    """
    from ..gmc.api import gmc_inputs
    from ..gmc.options import GMCOptions
    from .compare import _complete, check_model_pair

    check_model_pair(dataset, model_a, model_b)
    q, qd = float(q), float(qd)
    if not (np.isfinite(q) and np.isfinite(qd)):
        raise InputError(f"the point must be finite; got Q={q!r}, Qd={qd!r}")
    data, weights = _complete(dataset, model_a, model_b, nan_policy, weights)
    options = GMCOptions.resolve(options, {"samples": pd.DataFrame({"Q": [q], "Qd": [qd]})})
    gin = gmc_inputs({model_a: data.predictions[model_a], model_b: data.predictions[model_b]},
                     data.mos, std=data.std, weights=weights, options=options)
    mos, s2, c = gin.mos, gin.scaled_std ** 2, gin.c
    n = mos.size
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(s2 > 0, np.exp(-(q - mos) ** 2 / (2 * s2)), 0.0) * c   # a_i c_i
    total = 0.0
    best_w = np.empty(0)
    best_i = np.empty(0, dtype=np.int64)
    best_j = np.empty(0, dtype=np.int64)
    block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n, block):
        i = np.arange(start, min(start + block, n))
        v = s2[i, None] + s2[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(v > 0, np.exp(-(qd - np.abs(mos[i, None] - mos[None, :])) ** 2 / (2 * v)), 0.0)
        w = a[i, None] * a[None, :] * b
        w[np.arange(n)[None, :] <= i[:, None]] = 0.0        # unordered pairs i < j only
        total += float(w.sum())
        flat = w.ravel()
        k = min(top, flat.size)
        idx = np.argpartition(flat, flat.size - k)[flat.size - k:]
        best_w = np.concatenate([best_w, flat[idx]])
        best_i = np.concatenate([best_i, i[idx // n]])
        best_j = np.concatenate([best_j, idx % n])
        keep = np.lexsort((best_j, best_i, -best_w))[:top]   # heaviest; ties by position
        best_w, best_i, best_j = best_w[keep], best_i[keep], best_j[keep]
    positive = best_w > 0
    best_w, best_i, best_j = best_w[positive], best_i[positive], best_j[positive]
    names = (np.asarray(data.keys, dtype=object) if data.keys is not None
             else np.asarray([f"row {r}" for r in data.rows], dtype=object))
    pa, pb = data.predictions[model_a], data.predictions[model_b]
    sign_mos = np.sign(mos[best_i] - mos[best_j])
    out = pd.DataFrame({
        "image_i": names[best_i], "image_j": names[best_j], "weight": best_w,
        "share": best_w / total if total > 0 else np.full(best_w.shape, np.nan),
        "mos_i": mos[best_i], "mos_j": mos[best_j],
        f"{model_a}_i": pa[best_i], f"{model_a}_j": pa[best_j],
        f"{model_b}_i": pb[best_i], f"{model_b}_j": pb[best_j],
        "agree_A": (np.sign(pa[best_i] - pa[best_j]) * sign_mos).astype(int),
        "agree_B": (np.sign(pb[best_i] - pb[best_j]) * sign_mos).astype(int),
    })
    return out
