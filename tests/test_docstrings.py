"""Every docstring example in the library runs and prints what it shows."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import iqa_eval

MODULES = sorted(m.name for m in pkgutil.walk_packages(iqa_eval.__path__, "iqa_eval."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, name


def test_the_metric_and_gmc_functions_show_an_example():
    # sklearn style: each user-facing function of these modules shows a small example.
    import inspect

    missing = []
    for name in ("iqa_eval.metrics", "iqa_eval.gmc.api", "iqa_eval.compare", "iqa_eval.evaluation"):
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj) and ">>> " not in (obj.__doc__ or ""):
                missing.append(f"{name}.{attr}")
    assert not missing, missing
