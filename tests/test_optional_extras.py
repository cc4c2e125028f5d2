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


@pytest.mark.slow
def test_score_needs_no_extra():
    done = _run("score", "examples/simulated_study.csv", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"srocc"' in done.stdout


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("args, output", [
    (["surface", "--samples", "10", "--grid-res", "5"], "out.html"),
    (["surface", "--samples", "10", "--grid-res", "5"], "out.png"),
    (["surface", "--samples", "10", "--grid-res", "5", "--contour"], "out.svg"),
    (["report", "--samples", "10", "--grid-res", "5"], "out.html"),
    (["compare", "-m", "a,b", "--grid", "3x3"], "out.pdf"),
])
def test_a_missing_plot_extra_is_found_before_computing(tmp_path, args, output):
    # The input's MOS column breaks in its last row: reading it fails. Reporting the missing
    # extra instead shows that the check came before the data were read, let alone computed.
    rows = [f"img{i},{i % 5 + 1},{0.2 + i % 3 * 0.1},{i % 7},{i % 4}" for i in range(40)]
    src = tmp_path / "study.csv"
    src.write_text("image,mos,std,a,b\n" + "\n".join(rows) + "\nimg40,oops,0.3,1,2\n")
    done = _run(args[0], src, *args[1:], "-o", tmp_path / output)
    assert done.returncode == 2, done.stderr
    lines = [l for l in done.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "pip install 'iqa-eval[plot]'" in lines[0], done.stderr
    assert "oops" not in done.stderr and "Traceback" not in done.stderr
    assert not any(tmp_path.glob("out*"))
    # with the extras importable the same input fails on its data (the check is not a blanket refusal)
    full = subprocess.run([sys.executable, "-m", "iqa_eval.cli", args[0], src, *args[1:], "-o", tmp_path / output],
                          capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert full.returncode == 2 and "'oops'" in full.stderr.splitlines()[-1], full.stderr


def test_reading_xlsx_without_openpyxl_names_the_excel_extra(tmp_path):
    path = tmp_path / "study.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    done = _run("score", path)
    assert done.returncode == 2 and "pip install 'iqa-eval[excel]'" in done.stderr


def _run_without(modules, *args, cwd=REPO):
    block = "import sys\nfor m in %r:\n    sys.modules[m] = None\n" % (tuple(modules),)
    code = block + "sys.argv[0] = 'iqa-eval'\nfrom iqa_eval.cli.main import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["score", "examples/simulated_study.csv", "--significance", "{tmp}/sig.txt"],
    ["bench", "{tmp}/A", "{tmp}/B", "--multiplicity", "holm", "--significance", "{tmp}/sig.md"],
    ["report", "examples/simulated_study.csv", "--samples", "10", "--grid-res", "5", "--max-compare", "0",
     "-o", "{tmp}/report.html"],
])
def test_holm_needs_no_statsmodels(tmp_path, args):
    """Holm's adjustment (the significance matrix, bench's --multiplicity holm, the report) is
    the library's own: without statsmodels (only the [aic] extra brings it) these still run."""
    pytest.importorskip("matplotlib")
    import pandas as pd

    df = pd.read_csv(REPO / "examples" / "simulated_study.csv")
    for name, part in (("A", df.iloc[:700]), ("B", df.iloc[700:])):
        (tmp_path / name).mkdir()
        part.to_csv(tmp_path / name / "study.csv", index=False)
    done = _run_without(["statsmodels"], *[a.format(tmp=tmp_path) for a in args])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "No module named" not in done.stderr
