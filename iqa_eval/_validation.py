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


def check_paired(pred, mos, *, nan_policy: str = "propagate", min_size: int = 3,
                 names=("pred", "mos")):
    """Validate two paired score vectors once, as every metric needs.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
    nan_policy : {'propagate', 'omit', 'raise'}
        What to do with pairs where either value is NaN or infinite: keep them (the
        statistic becomes NaN), drop them, or raise :class:`InputError`.
    min_size : int
        Fewest pairs left after the policy; fewer raise :class:`InputError`.

    Returns
    -------
    pred, mos : float64 arrays
    n_dropped : int
        Number of pairs removed by ``nan_policy='omit'``.
    """
    if nan_policy not in NAN_POLICIES:
        raise InputError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
    x = as_float_vector(pred, name=names[0])
    y = as_float_vector(mos, name=names[1])
    if x.shape != y.shape:
        raise InputError(f"{names[0]} and {names[1]} differ in length ({x.size} vs {y.size})")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    n_bad = int(bad.sum())
    if n_bad:
        if nan_policy == "raise":
            first = int(np.flatnonzero(bad)[0])
            raise InputError(f"{n_bad} non-finite value(s); first at index {first}")
        if nan_policy == "omit":
            x, y = x[~bad], y[~bad]
    if x.size < min_size:
        raise InputError(f"needs at least {min_size} valid pairs, got {x.size}")
    return x, y, (n_bad if nan_policy == "omit" else 0)
