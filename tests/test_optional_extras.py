"""The default install: without the extras' packages, scoring works and a command that needs one
says which extra to install, in one error line (exit 2, no traceback).

The extras' modules are made unimportable in a real subprocess (``sys.modules[name] = None``),
which is what Python does when a package is not installed.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCK = "import sys\nfor m in ('plotly', 'matplotlib', 'openpyxl', 'pyarrow', 'statsmodels'):\n    sys.modules[m] = None\n"


def _run(*args, cwd=REPO):
    code = BLOCK + "sys.argv[0] = 'iqa-eval'\nfrom iqa_eval.cli.main import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_score_needs_no_extra():
    done = _run("score", "examples/simulated_study.csv", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"srocc"' in done.stdout


@pytest.mark.parametrize("args, extra", [
    (["report", "examples/simulated_study.csv", "--samples", "10", "--grid-res", "5", "--max-compare", "0"], "plot"),
    (["compare", "examples/simulated_study.csv", "-m", "precise,noisy", "--grid", "3x3"], None),
])
def test_a_missing_extra_is_one_error_naming_it(tmp_path, args, extra):
    done = _run(*args, "-o", tmp_path / ("out.html" if extra else "out.txt"))
    if extra is None:                    # text output needs no extra
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 2, done.stderr
    lines = [l for l in done.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and f"pip install 'iqa-eval[{extra}]'" in lines[0]
    assert "Traceback" not in done.stderr


def test_reading_xlsx_without_openpyxl_names_the_excel_extra(tmp_path):
    path = tmp_path / "study.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    done = _run("score", path)
    assert done.returncode == 2 and "pip install 'iqa-eval[excel]'" in done.stderr
