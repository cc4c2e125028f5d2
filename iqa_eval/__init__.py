"""iqa-eval: trusted evaluation of image quality assessment models.

Scalar metrics (:mod:`iqa_eval.metrics`), GMC correlation surfaces (:mod:`iqa_eval.gmc`),
model comparison (:mod:`iqa_eval.compare`), figures and reports. Submodules are imported
on first use, so ``import iqa_eval`` stays cheap.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "srocc": "metrics", "krcc": "metrics", "plcc": "metrics", "plcc_raw": "metrics",
    "rmse": "metrics", "mae": "metrics", "fit_mapping": "mapping", "evaluate": "evaluation",
    "load_dataset": "io", "read_table": "io", "Dataset": "dataset", "simulate_study": "datasets",
    "compare_models": "compare", "InputError": "errors", "soft_srocc": "soft_rank",
    "benchmark": "bench",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'iqa_eval' has no attribute {name!r}")
