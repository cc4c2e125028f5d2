"""Values as text, shared by every renderer: p-values, JSON-safe values (and LaTeX escaping,
which lives with the other escapes in :mod:`iqa_eval._runtime.escape`).

Kept apart from the renderers (formatting, bench_tables, krasula) so that none of them imports
another for these.
"""
from __future__ import annotations

import math

import numpy as np

from .._runtime.escape import latex_escape

__all__ = ["format_p", "plain", "latex_escape"]


def format_p(p, *, n_resamples=None) -> str:
    """A p-value for people: 4 decimals, ``<1e-4`` below that, ``nan`` when undefined.

    A resampling p-value is shown with its resolution: as many decimals as ``n_resamples``
    supports (3 for 1,000), and at its floor ``2 (0 + 1) / (B + 1)`` — no resample on the
    other side of zero — as ``<=`` that floor rounded up (``<=0.002`` for 1,000 resamples).
    """
    if p is None or not math.isfinite(p):
        return "nan"
    if n_resamples:
        b = int(n_resamples)
        digits = max(1, math.ceil(math.log10(b)))
        floor = 2.0 / (b + 1)
        if p <= floor * (1 + 1e-9):
            return f"<={math.ceil(floor * 10 ** digits) / 10 ** digits:.{digits}f}"
        return f"{p:.{digits}f}"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


def plain(value):
    """JSON-safe Python value: numpy scalars unwrapped, NaN/inf -> None."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value



