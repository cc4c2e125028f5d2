"""Shared fixtures. Real-data tests read ../shared where it is (never copied into the repo)."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

def pytest_configure(config):
    # registered here until pyproject declares the markers (another branch of issue 14)
    config.addinivalue_line("markers", "torch: needs PyTorch (the losses)")


REPO = Path(__file__).resolve().parents[1]
# ../shared next to the repository; IQA_EVAL_SHARED points elsewhere (e.g. from a git worktree)
SHARED = Path(os.environ.get("IQA_EVAL_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "data" / "gmc-reference"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ``../shared/data/gmc-reference``; fails in CI and skips elsewhere when missing."""
    if not REFERENCE.is_dir():
        msg = f"reference data not found at {REFERENCE}"
        if _in_ci():
            pytest.fail(msg + " (CI=true: real-data tests must run)")
        pytest.skip(msg)
    return REFERENCE


def pytest_configure(config):
    # registered here too in case pyproject.toml does not list it: -m "not cluster" works either way
    config.addinivalue_line("markers", "cluster: starts or uses a Dask cluster (slow)")


# --- markers (registered in pyproject.toml) ----------------------------------------------------

TORCH_MISSING = ("torch is not installed: the [test] extra leaves it out (its PyPI wheel brings GBs of "
                 "CUDA libraries); pip install torch (CPU build: --index-url "
                 "https://download.pytorch.org/whl/cpu) to run these; .ci/run does")


def pytest_addoption(parser):
    parser.addoption("--fail-on-skip", action="store_true",
                     help="fail the run if any test is skipped (except `gpu` ones): what .ci/run asks of "
                          "the marked tests, which must all run there")


_SKIPPED = []      # "nodeid: reason" of every skipped test or module, for --fail-on-skip


def _count_skip(report):
    if report.skipped and "gpu" not in getattr(report, "keywords", {}):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append(f"{report.nodeid}: {reason}")


def pytest_collectreport(report):
    _count_skip(report)     # a module-level importorskip skips at collection


def pytest_runtest_logreport(report):
    _count_skip(report)


def pytest_sessionfinish(session, exitstatus):
    if session.config.getoption("--fail-on-skip") and _SKIPPED:
        print(f"\nerror: --fail-on-skip: {len(_SKIPPED)} skipped:\n  " + "\n  ".join(_SKIPPED))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def wait_until(condition, timeout: float, what: str, poll: float = 0.02):
    """Wait (bounded) until ``condition()`` is true; fail naming ``what`` after ``timeout`` s.

    For states that offer no event to wait on (another process's files, /proc, a scheduler's
    task table): the loop waits *for the state*, it never stands in for it as a fixed sleep would.
    """
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str):
    """A real tmpfs of ``size`` mounted at ``path`` (created) inside a test's temp dir, unmounted
    afterwards (root only; skipped where mounting is refused)."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
