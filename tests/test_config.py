"""The public settings (the memory limit) and the one home of every exception."""
from __future__ import annotations

import numpy as np
import pytest

import iqa_eval
from iqa_eval import errors


def test_every_exception_lives_in_errors_and_is_exported():
    for name in ("IQAEvalError", "InputError", "OutputError", "ResourceError", "MissingDependencyError"):
        cls = getattr(iqa_eval, name)
        assert cls is getattr(errors, name) and cls.__module__ == "iqa_eval.errors"
        assert issubclass(cls, errors.IQAEvalError)
    assert issubclass(iqa_eval.OutputError, iqa_eval.InputError)
    assert issubclass(iqa_eval.ResourceError, iqa_eval.InputError)


def test_memory_limit_is_settable_from_python():
    from iqa_eval.stats.inference import bootstrap_distribution

    x = np.arange(2000.0)
    with iqa_eval.config_context(max_memory="1M"):
        assert iqa_eval.get_config() == {"max_memory": 2**20}
        with pytest.raises(iqa_eval.ResourceError, match=r"raise the limit with max_memory \(iqa_eval.set_config\)"):
            bootstrap_distribution("srocc", x, x[::-1].copy(), n_resamples=100_000)
    assert iqa_eval.get_config() == {"max_memory": None}   # restored after the block
    iqa_eval.set_config(max_memory=3 * 2**30)
    try:
        assert iqa_eval.get_config()["max_memory"] == 3 * 2**30
    finally:
        iqa_eval.set_config(max_memory=None)
    with pytest.raises(iqa_eval.InputError, match="max_memory must be a size"):
        iqa_eval.set_config(max_memory="lots")
