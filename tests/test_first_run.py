"""A fresh clone, the README's two commands in sequence in one venv, then the package from elsewhere.

Issue 14: the first command's run left numba's cache in ``site-packages/iqa_eval/__pycache__``;
``pip install -e`` (the second command) uninstalled the package but not those files, and the
left-over folder shadowed the editable install (``from iqa_eval import evaluate`` failed outside
the checkout, ``iqa-eval report`` was an internal error). Minutes of pip: marker ``install``
(.ci/run runs it). pip uses its usual configuration and cache (PyPI only).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_readme import _code_blocks

pytestmark = pytest.mark.install

# the README's test command runs the whole fast suite; here its pytest part runs only the
# README's own tests (the suite itself is what .ci/run runs): the installs are the point
_PYTEST = "python -m pytest -q"


def _fresh_clone(dest: Path) -> None:
    """The tracked files of the checkout (what `git clone` gives), symlinks kept as links."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True,
                           timeout=60).stdout.decode().split("\0")
    for name in filter(None, files):
        src, dst = REPO / name, dest / name
        if not src.exists() and not src.is_symlink():
            continue            # deleted in the working tree, not yet committed
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


def _bash(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", "-c", f"set -e\n{command}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=3600)
    assert proc.returncode == 0, (command, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def _numba_files(folder: Path) -> list:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc"))


def test_readme_commands_in_sequence_then_use_from_elsewhere(tmp_path):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout (git ls-files) to make a fresh clone")
    install_and_run, install_and_test = _code_blocks("bash")[:2]
    assert install_and_test.endswith(_PYTEST)
    clone = tmp_path / "clone"
    _fresh_clone(clone)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "IQA_EVAL_CACHE_DIR", "NUMBA_CACHE_DIR",
                        "PYTHONHOME", "PIP_CONSTRAINT")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")      # numba's cache lands here, not in ~/.cache
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(sys.prefix))   # not the running test's venv

    first = _bash(install_and_run, clone, env)
    assert "SROCC" in first.stdout
    site = Path(_bash(".venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])'",
                      clone, env).stdout.strip())
    assert (site / "iqa_eval" / "__init__.py").is_file()        # a regular install
    assert _numba_files(site) == []                            # the kernels ran, their cache is ...
    assert _numba_files(tmp_path / "xdg" / "iqa-eval" / "numba")   # ... in the user cache folder

    _bash(install_and_test[: -len(_PYTEST)] + f"{_PYTEST} tests/test_readme.py", clone, env)
    assert not (site / "iqa_eval").exists(), sorted((site / "iqa_eval").rglob("*"))  # uninstalled whole

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    python, cli = clone / ".venv" / "bin" / "python", clone / ".venv" / "bin" / "iqa-eval"
    imported = _bash(f"'{python}' -c 'import iqa_eval; from iqa_eval import evaluate; print(iqa_eval.__file__)'",
                     elsewhere, env)
    assert Path(imported.stdout.strip()) == clone / "iqa_eval" / "__init__.py"   # the editable one
    page = tmp_path / "x.html"
    _bash(f"'{cli}' report '{clone / 'examples' / 'simulated_study.csv'}' -o '{page}'", elsewhere, env)
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
