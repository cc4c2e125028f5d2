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
  :class:`DatasetSpec`), :func:`krasula` (a :class:`KrasulaResult`), :func:`significance_matrix`;
  breakdowns: :func:`evaluate_by_group`, :func:`evaluate_splits`, :func:`cross_dataset`;
* raw ratings: :func:`read_ratings`, :func:`compute_mos`, :func:`screen_subjects`,
  :func:`fit_subject_model`, :func:`noise_ceiling` (more in :mod:`iqa_eval.subjective`);
* training: :class:`GCCLoss`, :class:`DCQLoss` (``torch.nn.Module``; the ``[torch]`` extra;
  more in :mod:`iqa_eval.training.losses`) and :func:`soft_srocc`, GCC's SROCC proxy on a whole set;
* presentation: :func:`format_evaluation`, :func:`format_comparison`, :func:`build_report`;
* vocabulary: :class:`CIMethod`, :class:`GMCOptions`; errors (all in :mod:`iqa_eval.errors`):
  :class:`InputError`, :class:`OutputError`, :class:`ResourceError`,
  :class:`MissingDependencyError`, :class:`IQAEvalWarning`; settings: :func:`set_config`,
  :func:`get_config`, :func:`config_context` (the memory limit).

Submodules are imported on first use of a name, so ``import iqa_eval`` stays cheap.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import sys

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    # data
    "load_dataset": "data.io", "read_table": "data.io", "Dataset": "data.dataset", "simulate_study": "data.simulation",
    # metrics and their results
    "srocc": "stats.metrics", "krcc": "stats.metrics", "plcc": "stats.metrics", "plcc_raw": "stats.metrics",
    "rmse": "stats.metrics", "mae": "stats.metrics", "outlier_ratio": "stats.metrics", "rmse_star": "stats.metrics",
    "CorrelationResult": "stats.inference", "ErrorResult": "stats.inference", "ConfidenceInterval": "stats.inference",
    "fit_mapping": "stats.mapping", "MappingFit": "stats.mapping",
    # inference
    "fisher_ci": "stats.inference", "bootstrap_ci": "stats.inference", "compare_correlations": "stats.inference",
    "PairedComparison": "stats.inference",
    # whole evaluations
    "evaluate": "studies.evaluation", "Evaluation": "studies.evaluation",
    "correlation_surfaces": "gmc.api", "GMCResult": "gmc.api", "GMCOptions": "gmc.options",
    "compare_models": "studies.compare", "Comparison": "studies.compare",
    # presentation
    "format_evaluation": "render.formatting", "format_comparison": "render.formatting",
    "summarize_comparison": "render.formatting", "build_report": "render.report", "Report": "render.report",
    # vocabulary and errors
    "CIMethod": "options", "IQAEvalError": "errors", "InputError": "errors", "OutputError": "errors",
    "ResourceError": "errors", "MissingDependencyError": "errors", "IQAEvalWarning": "errors",
    # settings (the memory limit)
    "set_config": "_runtime.resources", "get_config": "_runtime.resources",
    "config_context": "_runtime.resources",
    # training losses (torch, the [torch] extra) and their whole-set proxy
    "GCCLoss": "training.losses", "DCQLoss": "training.losses", "soft_srocc": "training.soft_rank",
    # many datasets: the paper table; pairwise classification (Krasula et al. 2016)
    "benchmark": "studies.bench", "Benchmark": "studies.bench", "DatasetSpec": "studies.bench", "read_manifest": "studies.bench",
    "significance_matrix": "studies.significance", "SignificanceMatrix": "studies.significance",
    "FriedmanResult": "studies.bench", "krasula": "studies.krasula", "KrasulaResult": "studies.krasula",
    # breakdowns: per group (distortion type, ...), over train/test splits, across datasets
    "evaluate_by_group": "studies.breakdowns", "GroupEvaluation": "studies.breakdowns",
    "evaluate_splits": "studies.breakdowns", "SplitEvaluation": "studies.breakdowns",
    "cross_dataset": "studies.breakdowns", "CrossDataset": "studies.breakdowns",
    # the step before: MOS from raw ratings, observer screening, the subject model, the noise ceiling
    "read_ratings": "subjective", "Ratings": "subjective", "compute_mos": "subjective", "MOSResult": "subjective",
    "screen_subjects": "subjective", "Screening": "subjective", "fit_subject_model": "subjective",
    "SubjectModelResult": "subjective", "noise_ceiling": "subjective", "NoiseCeiling": "subjective",
}

__all__ = ["__version__", *_LAZY]

# Import paths users had before the layer folders (0.1 docs and README), kept as the very same
# module objects: ``import iqa_eval.metrics`` is ``iqa_eval.stats.metrics``.
_MODULE_ALIASES = {"metrics": "stats.metrics", "losses": "training.losses"}


class _AliasFinder:
    """Resolves ``iqa_eval.<old name>`` to the module that now lives in a layer folder (a meta
    path finder and its loader; duck-typed, so importing the package loads no importlib.abc)."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __name__ and name in _MODULE_ALIASES:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{_MODULE_ALIASES[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module):
        pass   # the real module is already executed


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())   # before any path finder: an alias is never a file


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iqa_eval' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
