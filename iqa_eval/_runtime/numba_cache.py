"""Where numba keeps this package's compiled kernels: a user cache folder, never the package's own.

numba's ``cache=True`` writes ``__pycache__/*.nbi`` and ``*.nbc`` beside the source. In
site-packages those files are unknown to pip, so ``pip uninstall`` leaves an ``iqa_eval/__pycache__``
folder behind, and that folder then shadows a later editable install (Python imports it as an empty
namespace package: ``from iqa_eval import evaluate`` fails). The kernels of this package -- and only
those: numba's settings for other code are left alone -- are therefore cached in

1. ``$IQA_EVAL_CACHE_DIR``, else
2. ``$NUMBA_CACHE_DIR`` (numba's own setting, when the user chose one), else
3. ``$XDG_CACHE_HOME/iqa-eval/numba``, else
4. ``~/.cache/iqa-eval/numba``,

in one sub-folder per source folder (numba's naming: folder name + hash of its path), so two
installs or checkouts never share entries; entries are keyed on the source file's content, the
numba and Python versions and the CPU. A folder that cannot be created or written means no
caching (the kernels compile in every process), never an error. Clearing the cache: delete the
folder (:func:`cache_dir` names it).
"""
from __future__ import annotations

import os
from pathlib import Path

import numba
from numba.core.caching import (CompileResultCacheImpl, FunctionCache, _CacheLocator,
                                _SourceFileBackedLocatorMixin)

__all__ = ["cache_dir", "njit"]


def cache_dir() -> Path:
    """The folder the compiled kernels are cached in (see the module docstring for the order)."""
    for var in ("IQA_EVAL_CACHE_DIR", "NUMBA_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec: a relative XDG_CACHE_HOME is invalid and ignored
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "iqa-eval" / "numba"


class _UserCacheLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """numba's locator interface, pointing at :func:`cache_dir` (source stamp: numba's own)."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(cache_dir(), self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path


class _CacheImpl(CompileResultCacheImpl):
    # only our locator: when it cannot write, numba must not fall back to the in-tree __pycache__
    _locator_classes = [_UserCacheLocator]


class _FunctionCache(FunctionCache):
    _impl_class = _CacheImpl

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except OSError:
            # folder removed or made read-only during the run: keep the compiled code, stop caching
            self.disable()


def _enable_cache(dispatcher) -> None:
    try:
        cache = _FunctionCache(dispatcher.py_func)
    except (OSError, RuntimeError):
        # no writable folder (RuntimeError: numba found no locator; OSError/RuntimeError from
        # Path.home() without a home): numba's NullCache stays, the kernel compiles every run
        return
    dispatcher._cache = cache       # what numba's Dispatcher.enable_caching does, with our cache


def njit(*args, **options):
    """:func:`numba.njit`, with ``cache=True`` caching in :func:`cache_dir` instead of ``__pycache__``."""
    cache = options.pop("cache", False)

    def decorate(func):
        dispatcher = numba.njit(**options)(func)
        if cache:
            _enable_cache(dispatcher)
        return dispatcher

    if args:        # bare @njit
        (func,) = args
        return decorate(func)
    return decorate
