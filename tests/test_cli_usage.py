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


def test_help_and_version_still_exit_0():
    for args in (("--help",), ("score", "--help"), ("--version",), ()):
        r = _run(*args)
        assert r.returncode == 0 and r.stdout.strip() and not r.stderr.strip(), (args, r.stderr)
