"""Optional dependencies, imported where they are used and checked there, with one clear error.

The default install (``pip install iqa-eval``) scores CSV tables and computes GMC; figures,
spreadsheets, Parquet and the AIC bandwidth need extras. :func:`require` is the one place that
knows which extra brings which module.
"""
from __future__ import annotations

import importlib

from ..errors import MissingDependencyError

__all__ = ["EXTRAS", "require"]

#: top-level module -> the pip extra of iqa-eval that installs it
EXTRAS = {"plotly": "plot", "matplotlib": "plot", "openpyxl": "excel", "pyarrow": "parquet",
          "statsmodels": "aic", "dash": "serve"}


def require(module: str, purpose: str):
    """Import ``module`` (dotted names allowed) or raise :class:`MissingDependencyError`
    naming the extra to install.

    Examples
    --------
    >>> require("numpy", "arrays").__name__
    'numpy'
    >>> require("plotly_not_installed_here", "interactive figures")
    Traceback (most recent call last):
    ...
    iqa_eval.errors.MissingDependencyError: interactive figures need the optional package 'plotly_not_installed_here' (not installed)
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise                       # the package is there but one of its own imports failed
        extra = EXTRAS.get(top)
        how = f": pip install 'iqa-eval[{extra}]'" if extra else " (not installed)"
        raise MissingDependencyError(f"{purpose} need the optional package {top!r}{how}") from None
