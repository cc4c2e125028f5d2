"""Bad options and arguments are one ``error:`` line and exit 2, like every other input error
(the real entry point, in a subprocess: click's own three-line usage message never shows)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "examples" / "simulated_study.csv"


def _run(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "iqa_eval.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("args, words", [
    (("score", STUDY, "--seed", "-3"), "Invalid value for '--seed'"),
    (("score", STUDY, "--format", "docx"), "Invalid value for '--format'"),
    (("surface", STUDY, "--bogus"), "No such option '--bogus'"),
    (("scroe", STUDY), "No such command 'scroe'"),
    (("compare",), "Missing argument"),
])
def test_usage_errors_are_one_error_line_exit_2(args, words):
    r = _run(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: iqa-eval") and words in lines[0], r.stderr
    assert "Usage:" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_help_and_version_still_exit_0():
    for args in (("--help",), ("score", "--help"), ("--version",), ()):
        r = _run(*args)
        assert r.returncode == 0 and r.stdout.strip() and not r.stderr.strip(), (args, r.stderr)


def _hostile_study(tmp_path):
    import pandas as pd

    df = pd.read_csv(STUDY)
    df = df.rename(columns={"precise": "esc\x1b[31mred", "noisy": "a_b&c%#$"})
    path = tmp_path / "hostile.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_output_format_follows_the_file_ending(tmp_path):
    study = _hostile_study(tmp_path)
    r = _run("score", study, "--no-pairwise", "-o", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    import json
    assert {row["model"] for row in json.loads((tmp_path / "s.json").read_text())["models"]} >= {"a_b&c%#$"}
    for target, words in (("s.png", "cannot write a .png file here"),
                          ("s.csv", "--format json but the file ends in .csv")):
        args = ("--format", "json") if target == "s.csv" else ()
        r = _run("score", study, *args, "-o", tmp_path / target)
        assert r.returncode == 2 and words in r.stderr and not (tmp_path / target).exists(), r.stderr
    r = _run("report", study, "-o", tmp_path / "r.pdf")
    assert r.returncode == 2 and "-o must end in .html" in r.stderr
    r = _run("compare", study, "-m", "a_b&c%#$,fine_grain", "-o", tmp_path / "c.csv")
    assert r.returncode == 2 and "c.csv" in r.stderr


@pytest.mark.slow
def test_latex_table_has_no_control_characters(tmp_path):
    study = _hostile_study(tmp_path)
    r = _run("score", study, "--no-pairwise", "--format", "latex")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and r"esc\textbackslash{}x1b[31mred" in r.stdout.replace(" ", "")
