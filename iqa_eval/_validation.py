"""Shared input validation for the metric and GMC functions (one place, used by all)."""
from __future__ import annotations

import numpy as np

from .errors import InputError

NAN_POLICIES = ("propagate", "omit", "raise")


def as_float_vector(values, *, name: str = "values") -> np.ndarray:
    """Return ``values`` as a contiguous 1-D float64 array or raise :class:`InputError`."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric ({exc})") from None
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def check_paired(pred, mos, *extra, nan_policy: str = "propagate", min_size: int = 3,
                 names=("pred", "mos")):
    """Validate two paired score vectors once, as every metric needs.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    *extra : array-like of shape (n,)
        Further per-image vectors that travel with the pairs (e.g. MOS std, number
        of ratings): validated the same way, and a row is non-finite if any is.
    nan_policy : {'propagate', 'omit', 'raise'}
        What to do with pairs where either value is NaN or infinite: keep them (the
        statistic becomes NaN), drop them, or raise :class:`InputError`.
    min_size : int
        Fewest pairs left after the policy; fewer raise :class:`InputError`.
    names : sequence of str
        Names used in messages, one per vector (``extra`` ones default to
        ``extra1``, ``extra2``, ...).

    Returns
    -------
    pred, mos, *extra : float64 arrays
    n_dropped : int
        Number of pairs removed by ``nan_policy='omit'``.
    """
    if nan_policy not in NAN_POLICIES:
        raise InputError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
    names = list(names) + [f"extra{k + 1}" for k in range(len(names) - 2, len(extra))]
    arrays = [as_float_vector(v, name=names[k]) for k, v in enumerate((pred, mos) + extra)]
    x = arrays[0]
    for k, a in enumerate(arrays[1:], start=1):
        if a.shape != x.shape:
            raise InputError(f"{names[0]} and {names[k]} differ in length ({x.size} vs {a.size})")
    good = np.isfinite(arrays[0])
    for a in arrays[1:]:
        good &= np.isfinite(a)
    bad = ~good
    n_bad = int(bad.sum())
    if n_bad:
        if nan_policy == "raise":
            first = int(np.flatnonzero(bad)[0])
            col = next(names[k] for k, a in enumerate(arrays) if not np.isfinite(a[first]))
            raise InputError(f"{n_bad} non-finite value(s); first in {col} at index {first}")
        if nan_policy == "omit":
            arrays = [a[good] for a in arrays]
    if arrays[0].size < min_size:
        raise InputError(f"needs at least {min_size} valid pairs, got {arrays[0].size}")
    return (*arrays, (n_bad if nan_policy == "omit" else 0))
