"""Helpers shared by the test modules (importable: pytest puts tests/ on sys.path)."""
from __future__ import annotations


def run_cli(*args):
    """Run ``iqa-eval ARGS...`` in-process -> (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from iqa_eval.cli.main import cli

    result = CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_simulated_study(directory, n_images: int, seed: int):
    """Write ``simulate_study(n_images, seed)`` to ``directory/study.csv`` and return the path."""
    from iqa_eval.data.simulation import simulate_study

    path = directory / "study.csv"
    simulate_study(n_images, seed=seed).to_csv(path, index=False)
    return path


def pdflatex(tmp_path, body: str, packages=()):
    """Compile ``body`` in a minimal article with pdflatex (skipped without it, failed in CI)."""
    import os
    import shutil
    import subprocess

    import pytest

    if shutil.which("pdflatex") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("pdflatex not found (CI=true: .ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed")
    doc = ("\\documentclass{article}\n" + "".join(f"\\usepackage{{{p}}}\n" for p in packages)
           + "\\begin{document}\n" + body + "\\end{document}\n")
    (tmp_path / "t.tex").write_text(doc, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc
