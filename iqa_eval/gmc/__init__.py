"""Granularity-Modulated Correlation (GMC): where on the quality scale, and for which size of
quality differences, a model ranks images well.

The public API is re-exported here; see ``docs/gmc.md`` and ``../shared/docs/gmc-reference.md``.
Submodules load on first use of a name, so ``import iqa_eval.gmc`` costs nothing (no pandas,
no numba) until something is computed.
"""
from __future__ import annotations

import importlib

# public name -> submodule that defines it
_LAZY = {
    "GMCOptions": "options",
    "GMCResult": "api", "GMCPoints": "api", "GMCSurface": "api", "correlation_surfaces": "api",
    "gmc_inputs": "api", "gmc_points": "api", "gmc_score": "api", "gmc_surface": "api",
    "PRESETS": "presets", "preset": "presets", "apply_preset": "presets",
    "cluster_session": "_dask_backend",
    "latin_hypercube": "sampling", "read_sample_file": "sampling", "regular_grid": "sampling",
    "beta_std": "weights", "distribution_weights": "weights", "read_std_file": "weights",
    "read_weights_file": "weights",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iqa_eval.gmc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
