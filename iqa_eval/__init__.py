"""iqa-eval: trusted evaluation of image quality assessment models.

The public API, by layer (see ``docs/architecture.md``):

* data: :func:`load_dataset`, :func:`read_table`, :class:`Dataset`, :func:`simulate_study`;
* metrics: :func:`srocc`, :func:`krcc`, :func:`plcc`, :func:`plcc_raw`, :func:`rmse`,
  :func:`mae`, :func:`outlier_ratio`, :func:`rmse_star` (scipy-style results that unpack as
  ``statistic, pvalue`` and offer ``confidence_interval()``), :func:`fit_mapping`;
* inference: :func:`fisher_ci`, :func:`bootstrap_ci`, :func:`compare_correlations`;
* the score table: :func:`evaluate`; GMC: :func:`correlation_surfaces` and
  :mod:`iqa_eval.gmc`; two models: :func:`compare_models`;
* many datasets: :func:`benchmark` (a :class:`Benchmark`; datasets from :func:`read_manifest` or
  :class:`DatasetSpec`), :func:`krasula` (a :class:`KrasulaResult`);
* training: :class:`GCCLoss`, :class:`DCQLoss` (``torch.nn.Module``; the ``[torch]`` extra;
  more in :mod:`iqa_eval.training.losses`) and :func:`soft_srocc`, GCC's SROCC proxy on a whole set;
* presentation: :func:`format_evaluation`, :func:`format_comparison`, :func:`build_report`;
* vocabulary: :class:`CIMethod`, :class:`GMCOptions`; errors: :class:`InputError`,
  :class:`IQAEvalWarning`.

Submodules are imported on first use of a name, so ``import iqa_eval`` stays cheap.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    # data
    "load_dataset": "io", "read_table": "io", "Dataset": "dataset", "simulate_study": "simulation",
    # metrics and their results
    "srocc": "metrics", "krcc": "metrics", "plcc": "metrics", "plcc_raw": "metrics",
    "rmse": "metrics", "mae": "metrics", "outlier_ratio": "metrics", "rmse_star": "metrics",
    "CorrelationResult": "inference", "ErrorResult": "inference", "ConfidenceInterval": "inference",
    "fit_mapping": "mapping", "MappingFit": "mapping",
    # inference
    "fisher_ci": "inference", "bootstrap_ci": "inference", "compare_correlations": "inference",
    "PairedComparison": "inference",
    # whole evaluations
    "evaluate": "evaluation", "Evaluation": "evaluation",
    "correlation_surfaces": "gmc.api", "GMCResult": "gmc.api", "GMCOptions": "gmc.options",
    "compare_models": "compare", "Comparison": "compare",
    # presentation
    "format_evaluation": "formatting", "format_comparison": "formatting",
    "summarize_comparison": "formatting", "build_report": "report", "Report": "report",
    # vocabulary and errors
    "CIMethod": "options", "InputError": "errors", "IQAEvalWarning": "errors",
    # training losses (torch, the [torch] extra) and their whole-set proxy
    "GCCLoss": "losses", "DCQLoss": "losses", "soft_srocc": "soft_rank",
    # many datasets: the paper table; pairwise classification (Krasula et al. 2016)
    "benchmark": "bench", "Benchmark": "bench", "DatasetSpec": "bench", "read_manifest": "bench",
    "FriedmanResult": "bench", "krasula": "krasula_auc", "KrasulaResult": "krasula_auc",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iqa_eval' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
