"""Shared input validation for the metric and GMC functions (one place, used by all)."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..options import NAN_POLICIES, check_choice


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


def finite_vector(values, *, name: str, n: int | None = None, nonnegative: bool = False,
                  noun: str = "values", hint: str = "") -> np.ndarray:
    """The one check of a per-image vector: numeric, 1-D, ``n`` long, finite (and ``>= 0``).

    Every GMC entry point (the API's predictions, std and weights, the engine's arrays)
    validates through this, so a bad value reads the same wherever it is caught: the name,
    the count and the first bad index, and ``hint`` (what to do) when given.

    Examples
    --------
    >>> finite_vector([1.0, 2.0], name="std", n=2).tolist()
    [1.0, 2.0]
    >>> finite_vector([1.0, float("nan")], name="std")
    Traceback (most recent call last):
    ...
    iqa_eval.errors.InputError: std has 1 non-finite values, first at index 1
    """
    arr = as_float_vector(values, name=name)
    tail = f"; {hint}" if hint else ""
    if n is not None and arr.size != n:
        raise InputError(f"{name} has {arr.size} {noun} for {n} images")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum())} non-finite {noun}, first at index "
                         f"{int(np.flatnonzero(bad)[0])}{tail}")
    if nonnegative and (arr < 0).any():
        first = int(np.flatnonzero(arr < 0)[0])
        raise InputError(f"{name} must be >= 0; index {first} is {arr[first]!r}")
    return arr


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
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
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
