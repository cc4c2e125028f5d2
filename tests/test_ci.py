"""The test install is CPU-only and .ci/run still runs every marked test (issue 14)."""
from __future__ import annotations

import pytest
import re
import subprocess
import sys
import tomllib

from conftest import REPO

MARKERS = ("slow", "browser", "cluster", "study", "torch", "install")


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_test_extra_installs_no_gpu_package():
    extras = _pyproject()["project"]["optional-dependencies"]
    assert any(req.startswith("torch") for req in extras["torch"])

    def expand(name, seen=()):
        for req in extras[name]:
            inner = re.fullmatch(r"iqa-eval\[(.+)\]", req)
            if inner:
                for sub in inner.group(1).split(","):
                    if sub not in seen:
                        yield from expand(sub, (*seen, sub))
            else:
                yield req
    reqs = list(expand("test"))
    assert reqs and not [r for r in reqs if re.match(r"(torch|torchvision|cupy|nvidia-|jax)", r, re.I)]


def test_markers_registered_and_deselected_by_default():
    ini = _pyproject()["tool"]["pytest"]["ini_options"]
    registered = {m.split(":")[0] for m in ini["markers"]}
    assert set(MARKERS) <= registered
    expr = re.search(r"-m '([^']+)'", ini["addopts"]).group(1)
    # torch tests run by default where torch is installed (skipped, saying so, where not)
    for marker in set(MARKERS) - {"torch"}:
        assert f"not {marker}" in expr


def test_ci_runs_the_readme_command_then_cpu_torch_then_every_marked_test():
    ci = (REPO / ".ci" / "run").read_text()
    lines = ci.splitlines()
    readme = next(i for i, ln in enumerate(lines) if "pip install -q -e \".[test]\"" in ln)
    torch = next(i for i, ln in enumerate(lines) if ln.startswith("pip install") and "torch==" in ln)
    marked = next(i for i, ln in enumerate(lines) if "python -m pytest" in ln and ' -m "' in ln)
    assert readme < torch < marked
    assert "PIP_CONSTRAINT" not in "\n".join(lines[:readme + 1])   # the README command as a user runs it
    assert "-c .ci/constraints.txt" in lines[torch]
    assert "--fail-on-skip" in lines[marked]
    expr = re.search(r'-m "([^"]+)"', lines[marked]).group(1)
    assert set(expr.split(" or ")) == set(MARKERS)
    pins = (REPO / ".ci" / "constraints.txt").read_text().split()
    assert lines[torch].split("pip install -q ")[1].split()[0] in pins
    proc = subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_fail_on_skip_fails_a_run_with_a_skip_but_not_a_gpu_one(tmp_path):
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: needs CUDA\n")
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.gpu\ndef test_gpu():\n    pytest.skip('no CUDA')\n\n"
        "def test_ok():\n    pass\n")
    (tmp_path / "test_y.py").write_text("import pytest\n\ndef test_skipped():\n    pytest.skip('missing')\n")
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fail-on-skip"]
    proc = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    listed = proc.stdout.split("--fail-on-skip: ")[-1]
    assert proc.returncode == 1 and listed.startswith("1 skipped:"), proc.stdout     # the gpu one is allowed
    assert "test_y.py::test_skipped: Skipped: missing" in listed and "test_gpu" not in listed
    # without the flag a skip is a skip
    assert subprocess.run(run[:-1], cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
