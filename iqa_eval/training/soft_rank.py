"""Soft ranks as a metric: how far the GCC training proxy is from the real SROCC on a whole set.

:class:`iqa_eval.training.losses.GCCLoss` replaces ranks by the soft ranks of GMC-IQA,
``R_i = sum_j Phi((z_i - z_j) / bandwidth)`` over z-scored values (``bandwidth = 1`` in the
loss). :func:`soft_srocc` computes the resulting SROCC proxy on a whole set with numpy (no
torch), in blocks of rows: O(N^2) time, O(N * block) memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import rankdata

from .._runtime.validation import check_paired, finite_vector
from ..errors import warn
from ..options import NAN_POLICIES, Interval, validate_params

__all__ = ["SoftSROCCResult", "soft_srocc", "soft_ranks"]

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


@dataclass(frozen=True, eq=False)
class SoftSROCCResult:
    """The soft-rank SROCC proxy beside the real SROCC; ``float(result)`` is the proxy.

    Attributes
    ----------
    statistic : float
        Pearson correlation of the soft ranks (NaN when undefined).
    srocc : float
        The real SROCC (Pearson correlation of the average ranks) of the same pairs.
    bandwidth : float
        Width of the normal CDF used, in z-score units.
    n : int
        Pairs used (after ``nan_policy='omit'``).
    """

    statistic: float
    srocc: float
    bandwidth: float
    n: int

    @property
    def gap(self) -> float:
        """``statistic - srocc``: how far the proxy is from the real SROCC."""
        return self.statistic - self.srocc

    def __float__(self) -> float:
        return float(self.statistic)


def _pearson(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@validate_params({"bandwidth": Interval(0, None, closed="neither"), "nan_policy": NAN_POLICIES})
def soft_srocc(pred, mos, *, bandwidth: float = 1.0, nan_policy: str = "propagate") -> SoftSROCCResult:
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
    SoftSROCCResult
        ``statistic`` (also ``float(result)``), the real ``srocc``, their ``gap``, ``bandwidth``
        and ``n``. NaN (with a warning) for constant predictions or MOS.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mos = rng.normal(size=500)
    >>> pred = mos + rng.normal(size=500)
    >>> res = soft_srocc(pred, mos)
    >>> round(res.statistic, 3), round(res.srocc, 3), round(float(res), 3)
    (0.73, 0.721, 0.73)
    """
    x, y, _ = check_paired(pred, mos, nan_policy=nan_policy, min_size=2)
    nan = SoftSROCCResult(float("nan"), float("nan"), float(bandwidth), int(x.size))
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return nan
    for values, name in ((x, "predictions"), (y, "MOS")):
        if np.all(values == values[0]):
            warn(f"{name} are constant; soft SROCC is undefined (NaN)")
            return nan
    soft = _pearson(soft_ranks(x, bandwidth=bandwidth), soft_ranks(y, bandwidth=bandwidth))
    hard = _pearson(rankdata(x), rankdata(y))   # average ranks: the real SROCC
    return SoftSROCCResult(soft, hard, float(bandwidth), int(x.size))
