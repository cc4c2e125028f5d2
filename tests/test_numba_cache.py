"""numba's cache of the package's kernels lives in a user cache folder, never beside the source.

Files left in ``site-packages/iqa_eval/__pycache__`` survive ``pip uninstall`` and shadow a later
editable install (issue 14); the whole two-command sequence is in test_first_run.py (``install``).
Each case runs a real kernel in a fresh interpreter, with the environment it names.
"""
from __future__ import annotations

import pytest
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from conftest import REPO

PACKAGE = REPO / "iqa_eval"
# sort_order is a cache=True kernel; its result is checked against numpy's stable argsort.
_RUN_KERNEL = textwrap.dedent("""
    import json, sys
    import numpy as np
    from iqa_eval.stats import _metric_kernels as _kernels; from iqa_eval._runtime import numba_cache as _numba_cache
    x = np.array([3.0, 1.0, 2.0, 1.0, 5.0])
    order = _kernels.sort_order(x)
    stats = _kernels.sort_order.stats
    print(json.dumps({"order": order.tolist(), "hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values()),
                      "cache": type(_kernels.sort_order._cache).__name__,
                      "dir": str(_numba_cache.cache_dir())}))
""")
_X = np.array([3.0, 1.0, 2.0, 1.0, 5.0])


def _env(**over):
    env = {k: v for k, v in os.environ.items()
           if k not in ("IQA_EVAL_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["PYTHONPATH"] = str(REPO)
    env.update(over)
    return env


def _run(code, env, cwd=None):
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def _kernel(env):
    out = json.loads(_run(_RUN_KERNEL, env).stdout)
    assert out["order"] == np.argsort(_X, kind="stable").tolist()
    return out


def _numba_files(folder: Path) -> set:
    return {p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")}


@pytest.mark.slow
def test_cache_goes_to_iqa_eval_cache_dir_and_is_reused(tmp_path):
    before = _numba_files(PACKAGE)
    env = _env(IQA_EVAL_CACHE_DIR=str(tmp_path / "c"), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    first = _kernel(env)
    assert first["cache"] == "_FunctionCache" and first["dir"] == str(tmp_path / "c")
    assert first["misses"] == 1 and first["hits"] == 0
    index = list((tmp_path / "c").rglob("_metric_kernels.sort_order-*.nbi"))
    assert len(index) == 1 and list(index[0].parent.glob("_metric_kernels.sort_order-*.nbc"))
    # the sub-folder is numba's: source folder name + hash of its path
    assert index[0].parent.name.startswith("stats_")   # numba names it after the source folder
    second = _kernel(env)
    assert second["hits"] == 1 and second["misses"] == 0      # compiled once, loaded after
    assert not _numba_files(PACKAGE) - before                 # nothing new beside the source
    assert not (tmp_path / "xdg").exists()


def test_cache_dir_order(tmp_path, monkeypatch):
    from iqa_eval._runtime.numba_cache import cache_dir

    for var in ("IQA_EVAL_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    assert cache_dir() == home / ".cache" / "iqa-eval" / "numba"
    # a relative XDG_CACHE_HOME is invalid (XDG base directory spec) and ignored
    monkeypatch.setenv("XDG_CACHE_HOME", "rel")
    assert cache_dir() == home / ".cache" / "iqa-eval" / "numba"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "iqa-eval" / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "n"))
    assert cache_dir() == tmp_path / "n"
    monkeypatch.setenv("IQA_EVAL_CACHE_DIR", str(tmp_path / "i"))
    assert cache_dir() == tmp_path / "i"


@pytest.mark.slow
def test_default_location_is_the_home_cache(tmp_path):
    home = tmp_path / "home"
    out = _kernel(_env(HOME=str(home)))
    assert out["cache"] == "_FunctionCache"
    assert list((home / ".cache" / "iqa-eval" / "numba").rglob("_metric_kernels.sort_order-*.nbi"))


@pytest.mark.slow
def test_unwritable_cache_folder_means_no_cache_not_an_error(tmp_path):
    # a regular file where the folder should be: creating it fails even for root
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    before = _numba_files(PACKAGE)
    out = _kernel(_env(IQA_EVAL_CACHE_DIR=str(blocker / "numba")))
    assert out["cache"] == "NullCache"      # compiled, not cached -- and not in __pycache__ either
    assert not _numba_files(PACKAGE) - before
    assert blocker.read_text() == "not a folder"


def test_other_numba_code_keeps_numba_defaults(tmp_path):
    """Only the package's kernels move: a user's own cache=True function stays in its __pycache__."""
    mod = tmp_path / "usermod.py"
    mod.write_text("from numba import njit\n\n@njit(cache=True)\ndef double(x):\n    return 2 * x\n")
    code = "import iqa_eval.stats._metric_kernels, usermod; print(usermod.double(21))"
    env = _env(IQA_EVAL_CACHE_DIR=str(tmp_path / "c"))
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{tmp_path}"
    assert _run(code, env).stdout.strip() == "42"
    assert list((tmp_path / "__pycache__").glob("usermod.double-*.nbi"))
    assert not list((tmp_path / "c").rglob("usermod*"))
