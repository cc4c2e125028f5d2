"""The README's two commands are the ones CI runs and the example they use exists."""
from __future__ import annotations

import re

import pytest

from conftest import REPO


def _code_blocks(lang: str) -> list:
    """The README's fenced ``lang`` code blocks, in order."""
    return re.findall(rf"```{lang}\n(.+?)\n```", (REPO / "README.md").read_text(), re.S)


def test_readme_starts_with_the_two_commands():
    install_and_run, install_and_test = _code_blocks("bash")[:2]
    assert "iqa-eval score examples/" in install_and_run
    assert "pytest" in install_and_test
    example = install_and_run.split("iqa-eval score ")[1].split()[0]
    assert (REPO / example).is_file()


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert _code_blocks("bash")[1] in ci


def _example_lines():
    """The README's ``iqa-eval ...`` example lines that run on the shipped example."""
    return [line.strip() for block in _code_blocks("bash")[2:] for line in block.splitlines()
            if line.strip().startswith("iqa-eval ") and "examples/simulated_study.csv" in line]


@pytest.mark.slow
def test_readme_examples_run(tmp_path, monkeypatch):
    import shlex

    from helpers import run_cli

    lines = _example_lines()
    assert len(lines) >= 5
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "simulated_study.csv").symlink_to(REPO / "examples" / "simulated_study.csv")
    for line in lines:
        args = shlex.split(line)[1:]
        code, out, err = run_cli(*args)
        assert code == 0, (line, err)
        for i, arg in enumerate(args):      # every file it says it writes is there
            if arg in ("-o", "--output", "--scores-out", "--points-out"):
                assert (tmp_path / args[i + 1]).stat().st_size > 0, line


@pytest.mark.slow
def test_readme_python_example_runs(monkeypatch, capsys):
    code = _code_blocks("python")
    assert code
    monkeypatch.chdir(REPO)
    exec(compile(code[0], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "fine_grain is ahead" in out and "high_end is ahead" in out
