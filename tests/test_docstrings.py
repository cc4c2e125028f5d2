"""Every docstring example in the library runs and prints what it shows."""
from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import numpy as np
import pytest

import iqa_eval

HAVE_TORCH = importlib.util.find_spec("torch") is not None
TORCH_MODULES = {"iqa_eval.training.losses"}   # the [torch] extra; CI runs them with torch installed
MODULES = [pytest.param(m, marks=[pytest.mark.torch, pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")])
           if m in TORCH_MODULES else m
           for m in sorted(m.name for m in pkgutil.walk_packages(iqa_eval.__path__, "iqa_eval."))]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, name


def test_the_metric_and_gmc_functions_show_an_example():
    # sklearn style: each user-facing function of these modules shows a small example.
    import inspect

    missing = []
    for name in ("iqa_eval.stats.metrics", "iqa_eval.gmc.api", "iqa_eval.studies.compare", "iqa_eval.studies.evaluation",
                 "iqa_eval.studies.bench", "iqa_eval.studies.krasula", "iqa_eval.training.soft_rank", "iqa_eval.gmc.presets"):
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj) and ">>> " not in (obj.__doc__ or ""):
                missing.append(f"{name}.{attr}")
    assert not missing, missing


def test_every_public_function_has_parameters_returns_and_an_example():
    # numpydoc sections for every function of the curated API (iqa_eval, iqa_eval.gmc) and of the
    # public modules merged later (bench, krasula_auc, soft_rank, presets, losses)
    import inspect

    import iqa_eval.gmc

    missing = []
    import iqa_eval.studies.bench
    import iqa_eval.gmc.presets
    import iqa_eval.studies.krasula
    import iqa_eval.training.soft_rank

    modules = [iqa_eval, iqa_eval.gmc, iqa_eval.studies.bench, iqa_eval.studies.krasula, iqa_eval.training.soft_rank, iqa_eval.gmc.presets]
    try:
        import iqa_eval.training.losses
        modules.append(iqa_eval.training.losses)
    except ImportError:  # the [torch] extra is not installed
        pass
    for package in modules:
        for attr in package.__all__:
            if package is iqa_eval and iqa_eval._LAZY.get(attr) == "training.losses" and not HAVE_TORCH:
                continue   # a loss class, from the [torch] extra
            obj = getattr(package, attr)
            if not inspect.isfunction(obj):
                continue
            doc = inspect.getdoc(obj) or ""
            lacks = [s for s in ("Parameters\n---", "Returns\n---", "Examples\n---") if s not in doc]
            if lacks:
                missing.append(f"{package.__name__}.{attr}: {', '.join(s.split()[0] for s in lacks)}")
    assert not missing, missing


def test_results_unpack_like_scipy():
    from scipy import stats

    x, y = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 1, 4, 3, 6, 5, 8, 7, 10, 9]   # n > 9: SROCC's p is scipy's t
    for ours, ref in ((iqa_eval.srocc, stats.spearmanr), (iqa_eval.krcc, stats.kendalltau),
                      (iqa_eval.plcc_raw, stats.pearsonr)):
        statistic, pvalue = ours(x, y)
        ref_statistic, ref_pvalue = ref(x, y)
        assert statistic == pytest.approx(ref_statistic, abs=1e-12)
        assert pvalue == pytest.approx(ref_pvalue, abs=1e-12)
        assert ours(x, y).confidence_interval().low < statistic
