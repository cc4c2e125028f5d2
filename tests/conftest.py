"""Shared fixtures. Real-data tests read ../shared where it is (never copied into the repo)."""
from __future__ import annotations

import os
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
