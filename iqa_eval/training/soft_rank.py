"""Soft ranks as a metric: how far the GCC training proxy is from the real SROCC on a whole set.

:class:`iqa_eval.training.losses.GCCLoss` replaces ranks by the soft ranks of GMC-IQA,
``R_i = sum_j Phi((z_i - z_j) / bandwidth)`` over z-scored values (``bandwidth = 1`` in the
loss). :func:`soft_srocc` computes the resulting SROCC proxy on a whole set with numpy (no
torch), in blocks of rows: O(N^2) time, O(N * block) memory.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from .._runtime.validation import check_paired, finite_vector
from ..errors import warn
from ..options import NAN_POLICIES, Interval, validate_params

__all__ = ["soft_srocc", "soft_ranks"]

_BLOCK_CELLS = 1 << 22  # CDF values held at once (32 MiB of float64)


@validate_params({"bandwidth": Interval(0, None, closed="neither")})
def soft_ranks(values, *, bandwidth: float = 1.0) -> np.ndarray:
    """GMC-IQA soft ranks of one vector: ``R_i = sum_j Phi((z_i - z_j) / bandwidth)``, ``j = i`` included.

    ``z`` are z-scores (N-1 divisor); NaN or infinite values raise :class:`InputError`. As ``bandwidth -> 0`` the soft ranks tend to the
    average ranks minus 1/2 (ties share ``Phi(0) = 1/2``). Constant values give equal ranks.
    The torch form used by the loss is :func:`iqa_eval.training.losses.soft_ranks` (bandwidth 1).

    Parameters
    ----------
    values : array-like of shape (n,)
    bandwidth : float, default 1.0
        Width of the normal CDF in z-score units (> 0).

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> soft_ranks([6, 7, 8, 9, 15]).round(3)
    array([1.378, 1.798, 2.238, 2.672, 4.414])
    """
    # NaN/inf would make every z-score NaN, and every rank Phi(nan) summed to equal values
    x = finite_vector(np.asarray(values, dtype=np.float64).reshape(-1), name="values")
    n = x.size
    centred = x - x.mean()
    std = np.sqrt(centred @ centred / max(n - 1, 1))
    z = centred / (std * bandwidth) if std > 0 else np.zeros(n)
    out = np.empty(n)
    step = max(1, _BLOCK_CELLS // max(n, 1))
    for start in range(0, n, step):  # blocks of rows: memory O(N * step)
        stop = min(n, start + step)
        out[start:stop] = special.ndtr(z[start:stop, None] - z[None, :]).sum(axis=1)
    return out


@validate_params({"bandwidth": Interval(0, None, closed="neither"), "nan_policy": NAN_POLICIES})
def soft_srocc(pred, mos, *, bandwidth: float = 1.0, nan_policy: str = "propagate") -> float:
    """SROCC proxy of the GCC loss on a whole set: Pearson correlation of the soft ranks.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    bandwidth : float, default 1.0
        Width of the normal CDF in z-score units; 1 is GCC's definition. Smaller values
        spread the scores apart relative to the CDF and bring the proxy to the real SROCC.
    nan_policy : {'propagate', 'omit', 'raise'}

    Returns
    -------
    float
        NaN (with a warning) for constant predictions or MOS.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mos = rng.normal(size=500)
    >>> pred = mos + rng.normal(size=500)
    >>> from iqa_eval import srocc
    >>> round(soft_srocc(pred, mos), 3), round(srocc(pred, mos).statistic, 3)
    (0.73, 0.721)
    """
    x, y, _ = check_paired(pred, mos, nan_policy=nan_policy, min_size=2)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return float("nan")
    for values, name in ((x, "predictions"), (y, "MOS")):
        if np.all(values == values[0]):
            warn(f"{name} are constant; soft SROCC is undefined (NaN)")
            return float("nan")
    rx = soft_ranks(x, bandwidth=bandwidth)
    ry = soft_ranks(y, bandwidth=bandwidth)
    rx -= rx.mean()
    ry -= ry.mean()
    return float(rx @ ry / np.sqrt((rx @ rx) * (ry @ ry)))
